import type http from 'node:http';
import { queryOf, sendJson, sendProblem } from './http';

/**
 * What an emulator "sent" (messages, calls, SMS, emails), oldest first and bounded, readable at
 * `GET /_emulator/<name>[?to=][&waitMs=&count=]`. With `waitMs` a read waits until the outbox holds `count`
 * (default 1) items to `to` (to anyone without `to`) or `waitMs` has passed, then answers 200 with what there
 * is: a test or a load driver reads a code with one request instead of a polling loop.
 */

/** Oldest items are dropped beyond this, so a long `npm start` session cannot grow without bound. */
export const MAX_OUTBOX = 10_000;
/** The longest a read of an outbox may wait for its items. */
export const MAX_OUTBOX_WAIT_MS = 30_000;
/** Waiting reads beyond this are answered at once, so waiting clients cannot grow without bound. */
const MAX_OUTBOX_WAITERS = 10_000;

interface OutboxWaiter {
  readonly to: string | undefined;
  readonly count: number;
  answer(): void;
}

export interface OutboxOptions<T> {
  /** The recipient an item is filed under (`to=`). */
  readonly recipientOf: (item: T) => string;
  /** Called for items dropped because the outbox is full (to cancel their pending lifecycle). */
  readonly onDrop?: (item: T) => void;
  readonly max?: number;
}

export class Outbox<T> {
  private items: T[] = [];
  private readonly waiters = new Set<OutboxWaiter>();
  private readonly max: number;

  constructor(private readonly options: OutboxOptions<T>) {
    this.max = options.max ?? MAX_OUTBOX;
  }

  /** Items to `to` (everyone when undefined), oldest first. */
  list(to?: string): T[] {
    return to === undefined
      ? [...this.items]
      : this.items.filter((item) => this.options.recipientOf(item) === to);
  }

  find(predicate: (item: T) => boolean): T | undefined {
    return this.items.find(predicate);
  }

  add(item: T): void {
    this.items.push(item);
    if (this.items.length > this.max) {
      for (const dropped of this.items.splice(0, this.items.length - this.max)) {
        this.options.onDrop?.(dropped);
      }
    }
    if (this.waiters.size === 0) return;
    // The recipient's count once, not once per waiter: O(outbox + waiters) per add (both up to 10,000
    // in a bench fill with long polls).
    const to = this.options.recipientOf(item);
    const forRecipient = this.countFor(to);
    for (const w of [...this.waiters]) {
      if (
        w.to === undefined ? this.items.length >= w.count : w.to === to && forRecipient >= w.count
      )
        w.answer();
    }
  }

  remove(item: T): void {
    this.items = this.items.filter((x) => x !== item);
  }

  /** Empties the outbox (each item through `onDrop`) and answers every waiting read at once. */
  clear(): void {
    for (const item of this.items) this.options.onDrop?.(item);
    this.items = [];
    for (const w of [...this.waiters]) w.answer();
  }

  waitingReads(): number {
    return this.waiters.size;
  }

  /** `GET /_emulator/<name>[?to=][&waitMs=&count=]`, answered as `{ [key]: view(items) }`. */
  read(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    key: string,
    view: (item: T) => unknown,
  ): void {
    const q = queryOf(req);
    const to = q.get('to') ?? undefined;
    const waitMs = boundedInteger(q.get('waitMs'), 0, MAX_OUTBOX_WAIT_MS);
    const count = boundedInteger(q.get('count'), 1, this.max);
    if (waitMs === 'invalid' || count === 'invalid') {
      return sendProblem(
        res,
        400,
        'Bad Request',
        `\`waitMs\` must be an integer 0..${MAX_OUTBOX_WAIT_MS} and \`count\` 1..${this.max}.`,
      );
    }
    const respond = (): void => sendJson(res, 200, { [key]: this.list(to).map(view) });
    const wanted = count ?? 1;
    if (waitMs === undefined || waitMs === 0 || this.waiters.size >= MAX_OUTBOX_WAITERS) {
      return respond();
    }
    if (this.countFor(to) >= wanted) return respond();
    // The emulator's clock is test time elsewhere; this wait is the client's, so it is real time.
    const timer = setTimeout(() => waiter.answer(), waitMs);
    const waiter: OutboxWaiter = {
      to,
      count: wanted,
      answer: () => {
        if (!this.waiters.delete(waiter)) return;
        clearTimeout(timer);
        respond();
      },
    };
    this.waiters.add(waiter);
    res.on('close', () => {
      this.waiters.delete(waiter);
      clearTimeout(timer);
    });
  }

  private countFor(to: string | undefined): number {
    if (to === undefined) return this.items.length;
    let n = 0;
    for (const item of this.items) if (this.options.recipientOf(item) === to) n += 1;
    return n;
  }
}

/** An optional integer query parameter within bounds: undefined when absent. */
export function boundedInteger(
  raw: string | null,
  min: number,
  max: number,
): number | undefined | 'invalid' {
  if (raw === null) return undefined;
  if (!/^\d{1,6}$/.test(raw)) return 'invalid';
  const n = Number(raw);
  return n >= min && n <= max ? n : 'invalid';
}
