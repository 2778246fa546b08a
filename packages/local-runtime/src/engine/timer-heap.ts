/** A binary min-heap of pending timers keyed by due time (ties by row id, i.e. creation order). */
export interface HeapTimer {
  readonly rowId: number;
  readonly fireAt: number;
}

export class TimerHeap {
  private readonly items: HeapTimer[] = [];

  peek(): HeapTimer | undefined {
    return this.items[0];
  }

  push(t: HeapTimer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): HeapTimer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(x: HeapTimer, y: HeapTimer): boolean {
  return x.fireAt < y.fireAt || (x.fireAt === y.fireAt && x.rowId < y.rowId);
}
