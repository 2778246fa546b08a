/**
 * One `clock.wakeAt` for the earliest pending timer row (a binary heap, no polling). The heap is a cache of the
 * store's timer rows: entries are added after the commit that created the row, forgotten after the commit that
 * deleted it, and rebuilt from the store after a failed write.
 */
import type { Clock } from '../contracts';
import { TimerHeap } from './timer-heap';

export interface TimerWakeupSettings {
  clock: Clock;
  /** False once the engine stops or its store is closed: nothing fires any more. */
  canFire(): boolean;
  /** Commits the firing of these due timer rows (maybe none: a wake-up for a timer deleted meanwhile). */
  fire(rowIds: readonly number[], now: Date): void;
}

export class TimerWakeups {
  private readonly heap = new TimerHeap();
  /** Row ids of timers still pending; heap entries not in here are stale and skipped. */
  private readonly live = new Set<number>();
  private armed: { at: number; cancel: () => void } | undefined;
  private dueScheduled = false;
  private stopped = false;

  constructor(private readonly s: TimerWakeupSettings) {}

  /** A pending timer row (again after a rebuild: one already known is kept as it is). */
  add(rowId: number, fireAt: number): void {
    if (this.live.has(rowId)) return;
    this.live.add(rowId);
    this.heap.push({ rowId, fireAt });
  }

  /** Timer rows a committed transaction deleted (canceled, finished, purged). */
  forget(rowIds: readonly number[]): void {
    for (const id of rowIds) this.live.delete(id);
  }

  /** A timer is due now or its firing is already scheduled: the engine is not idle. */
  hasDueWork(): boolean {
    if (this.dueScheduled) return true;
    const next = this.next();
    return next !== undefined && next.fireAt <= this.s.clock.now().getTime();
  }

  /** Arms a wake-up if a timer is pending and none is armed or scheduled. */
  ensureArmed(): void {
    if (this.next() && !this.armed && !this.dueScheduled) this.rearm();
  }

  stop(): void {
    this.stopped = true;
    this.armed?.cancel();
    this.armed = undefined;
  }

  /** The earliest pending timer, dropping stale heap entries on the way. */
  private next(): { rowId: number; fireAt: number } | undefined {
    for (let t = this.heap.peek(); t; t = this.heap.peek()) {
      if (this.live.has(t.rowId)) return t;
      this.heap.pop();
    }
    return undefined;
  }

  rearm(): void {
    if (this.stopped) return;
    const next = this.next();
    if (!next) {
      this.armed?.cancel();
      this.armed = undefined;
      return;
    }
    if (next.fireAt <= this.s.clock.now().getTime()) {
      this.armed?.cancel();
      this.armed = undefined;
      if (!this.dueScheduled) {
        this.dueScheduled = true;
        setImmediate(() => {
          this.dueScheduled = false;
          this.fireDue();
        });
      }
      return;
    }
    if (this.armed && this.armed.at === next.fireAt) return;
    this.armed?.cancel();
    const at = next.fireAt;
    const cancel = this.s.clock.wakeAt(new Date(at), () => {
      if (this.armed?.at === at) this.armed = undefined;
      this.fireDue();
    });
    this.armed = { at, cancel };
  }

  /** Hands the due rows to `fire`; if that fails, they come back with the next rebuild from the store. */
  private fireDue(): void {
    if (this.stopped || !this.s.canFire()) return;
    const now = this.s.clock.now();
    const due: number[] = [];
    for (let t = this.next(); t && t.fireAt <= now.getTime(); t = this.next()) {
      this.heap.pop();
      this.live.delete(t.rowId);
      due.push(t.rowId);
    }
    this.s.fire(due, now);
    this.rearm();
  }
}
