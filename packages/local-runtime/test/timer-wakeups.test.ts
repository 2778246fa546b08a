/**
 * The timer cache on its own: one wake-up for the earliest pending row, due rows handed over in due order,
 * rows deleted by a commit never fired, and a rebuild from the store that adds nothing twice.
 */
import { ManualClock } from '../src/clock';
import { TimerHeap } from '../src/engine/timer-heap';
import { TimerWakeups } from '../src/engine/timer-wakeups';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TimerHeap', () => {
  it('pops timers by due time, ties by row id', () => {
    const heap = new TimerHeap();
    for (const [rowId, fireAt] of [
      [5, 300],
      [2, 100],
      [9, 200],
      [1, 200],
      [7, 50],
    ] as const)
      heap.push({ rowId, fireAt });
    const order: number[] = [];
    for (let t = heap.pop(); t; t = heap.pop()) order.push(t.rowId);
    expect(order).toEqual([7, 2, 1, 9, 5]);
    expect(heap.peek()).toBeUndefined();
  });
});

describe('TimerWakeups', () => {
  let clock: ManualClock;
  let fired: { rowIds: number[]; at: number }[];
  let open: boolean;
  let timers: TimerWakeups;
  const t0 = new Date('2030-01-01T00:00:00.000Z').getTime();

  beforeEach(() => {
    clock = new ManualClock(t0);
    fired = [];
    open = true;
    timers = new TimerWakeups({
      clock,
      canFire: () => open,
      fire: (rowIds, now) => {
        if (rowIds.length > 0) fired.push({ rowIds: [...rowIds], at: now.getTime() });
      },
    });
  });

  it('keeps one wake-up, for the earliest timer, and fires the due ones together in order', () => {
    timers.add(1, t0 + 3000);
    timers.add(2, t0 + 1000);
    timers.add(3, t0 + 1000);
    timers.rearm();
    expect(clock.pendingWakeUps()).toBe(1);
    clock.advance(999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([{ rowIds: [2, 3], at: t0 + 1000 }]);
    expect(clock.pendingWakeUps()).toBe(1);
    clock.advance(5000);
    expect(fired.at(-1)).toEqual({ rowIds: [1], at: t0 + 3000 });
    expect(clock.pendingWakeUps()).toBe(0);
  });

  it('never fires a timer a commit deleted, and re-arms for the next one', () => {
    timers.add(1, t0 + 1000);
    timers.add(2, t0 + 2000);
    timers.rearm();
    timers.forget([1]);
    timers.rearm();
    clock.advance(1000);
    expect(fired).toEqual([]);
    clock.advance(1000);
    expect(fired).toEqual([{ rowIds: [2], at: t0 + 2000 }]);
  });

  it('hands a row over again after a rebuild, when the commit of its firing failed', async () => {
    timers.add(1, t0 + 1000);
    timers.rearm();
    clock.advance(1000);
    expect(fired).toEqual([{ rowIds: [1], at: t0 + 1000 }]);
    // The commit rolled back, so the row is still in the store: the rebuild adds it again.
    timers.add(1, t0 + 1000);
    timers.rearm();
    await nextTurn();
    expect(fired).toEqual([
      { rowIds: [1], at: t0 + 1000 },
      { rowIds: [1], at: t0 + 1000 },
    ]);
  });

  it('fires an overdue timer on the next turn, and reports due work until then', async () => {
    clock.advance(10_000);
    timers.add(1, t0 + 1000);
    expect(timers.hasDueWork()).toBe(true);
    timers.rearm();
    expect(fired).toEqual([]);
    await nextTurn();
    expect(fired).toEqual([{ rowIds: [1], at: t0 + 10_000 }]);
    expect(timers.hasDueWork()).toBe(false);
  });

  it('fires nothing once stopped or when firing is not possible, and keeps the row for later', () => {
    timers.add(1, t0 + 1000);
    timers.rearm();
    open = false;
    clock.advance(1000);
    expect(fired).toEqual([]);
    // Still pending: once firing is possible again, a re-arm hands it over.
    open = true;
    expect(timers.hasDueWork()).toBe(true);
    timers.stop();
    timers.rearm();
    clock.advance(1000);
    expect(fired).toEqual([]);
    expect(clock.pendingWakeUps()).toBe(0);
  });
});
