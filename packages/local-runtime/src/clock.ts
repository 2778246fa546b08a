import type { Clock } from './contracts';

/** setTimeout's delay is a signed 32-bit number of milliseconds; longer waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The wall clock, for `npm start`. */
export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }

  wakeAt(at: Date, callback: () => void): () => void {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (): void => {
      const delay = at.getTime() - Date.now();
      if (delay <= 0) {
        // Still asynchronous so that callers never observe re-entrancy from wakeAt itself.
        handle = setTimeout(() => {
          if (!cancelled) callback();
        }, 0);
        return;
      }
      handle = setTimeout(
        () => {
          if (!cancelled) arm();
        },
        Math.min(delay, MAX_TIMEOUT_MS),
      );
    };
    arm();
    return () => {
      cancelled = true;
      if (handle !== undefined) clearTimeout(handle);
    };
  }
}

interface ManualWakeUp {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to, so that tests of long timeouts take milliseconds.
 * Wake-ups fire only from `advance()`/`set()`, in due order (ties in registration order), and while a
 * wake-up runs `now()` reads its due time, so work it triggers sees the moment it was due.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private wakeUps: ManualWakeUp[] = [];

  constructor(start: Date | string | number = '2030-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
    if (Number.isNaN(this.current)) throw new RangeError('ManualClock: invalid start time');
  }

  now(): Date {
    return new Date(this.current);
  }

  wakeAt(at: Date, callback: () => void): () => void {
    const wakeUp: ManualWakeUp = { at: at.getTime(), seq: this.seq++, callback, cancelled: false };
    this.wakeUps.push(wakeUp);
    return () => {
      wakeUp.cancelled = true;
    };
  }

  /** Moves the clock forward by `ms` and fires every wake-up that became due, in order. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError('ManualClock.advance: ms must be >= 0');
    this.moveTo(this.current + ms);
  }

  /** Moves the clock to `date` (never backwards) and fires what became due. */
  set(date: Date): void {
    const target = date.getTime();
    if (Number.isNaN(target)) throw new RangeError('ManualClock.set: invalid date');
    if (target < this.current)
      throw new RangeError('ManualClock.set: the clock cannot go backwards');
    this.moveTo(target);
  }

  /** Number of wake-ups still waiting (for tests). */
  pendingWakeUps(): number {
    return this.wakeUps.filter((w) => !w.cancelled).length;
  }

  private moveTo(target: number): void {
    for (;;) {
      this.wakeUps = this.wakeUps.filter((w) => !w.cancelled);
      let next: ManualWakeUp | undefined;
      for (const w of this.wakeUps) {
        if (
          w.at <= target &&
          (next === undefined || w.at < next.at || (w.at === next.at && w.seq < next.seq))
        ) {
          next = w;
        }
      }
      if (next === undefined) break;
      next.cancelled = true;
      if (next.at > this.current) this.current = next.at;
      next.callback();
    }
    this.current = target;
  }
}
