import { createHmac } from 'node:crypto';
import { deriveKey } from '../crypto/key-derivation';

import { maskRecipient } from '../../redact';
import type { ClientIp } from './client-ip';
import { FRAUD_GUARD_DEFAULTS, type BudgetSettings, type VelocitySettings } from './settings';
import {
  GUARD_REASONS,
  GuardUnavailableError,
  VelocityLimitError,
  type VelocityReason,
} from './errors';

/**
 * The budgets (IP, prefix, country, global) use a fixed one-hour window, anchored at the first
 * send they count; the per-number rule its own window (`VERIFICATION_LIMIT_NUMBER_WINDOW_SECONDS`,
 * 10 minutes as Verify).
 */
export const VELOCITY_WINDOW_MS = 3_600_000;

/** Budgets of {@link FRAUD_GUARD_DEFAULTS}, for callers that pass none. */
const DEFAULT_BUDGETS: BudgetSettings = {
  numberWindowSeconds: FRAUD_GUARD_DEFAULTS.numberWindowSeconds,
  perCountryPerHour: FRAUD_GUARD_DEFAULTS.perCountryPerHour,
  unknownClientPerHour: FRAUD_GUARD_DEFAULTS.unknownClientPerHour,
  verifiedNumberDays: FRAUD_GUARD_DEFAULTS.verifiedNumberDays,
};

/** One counter: how many sends its window holds, and when the last one was. Times in epoch ms. */
export interface CounterState {
  readonly windowStart: number;
  readonly count: number;
  readonly lastAt: number;
}

/** A counter as stored, with the ETag that a conditional write must match. */
export interface StoredCounter {
  readonly state: CounterState;
  readonly etag: string;
}

/** A conditional write of one counter: `etag` undefined means "must not exist yet". */
export interface CounterWrite {
  readonly key: string;
  readonly state: CounterState;
  readonly etag: string | undefined;
}

/**
 * Shared durable storage for the counters (Table Storage in production). Each method is one
 * storage round trip. Any error other than a conflict means "unreachable" to the guard.
 */
export interface VelocityStore {
  /** The counters that exist among `keys`. */
  read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredCounter>>;
  /**
   * Writes every counter atomically, each only if its ETag still matches (or it is still absent).
   * Returns the new ETags by key, or `conflict` when any condition failed (nothing was written).
   */
  write(writes: readonly CounterWrite[]): Promise<ReadonlyMap<string, string> | 'conflict'>;
}

/** The logger the guard writes refusals to; an `InvocationContext` or the host logger fits. */
export interface GuardLogger {
  warn(message: string): void;
}

/** One send about to happen. */
export interface SendAttempt {
  /** Normalised E.164 (from `checkPhoneNumber`), or the lower-cased address of an email recipient. */
  readonly phoneNumber: string;
  /**
   * `email`: Verify's email channel. The per-number limit and cooldown apply to the address; the prefix
   * and country budgets, which are about rented phone ranges, do not.
   */
  readonly recipient?: 'phone' | 'email';
  /**
   * Undefined when the client IP is unknown: the send then counts in the one shared bucket of
   * unknown clients, unless `unknownClient` is false (the client-IP header is turned off).
   */
  readonly clientIp: ClientIp | undefined;
  /** False only when no client-IP source is configured (`VERIFICATION_CLIENT_IP_HEADER=none`). */
  readonly unknownClient?: boolean;
  /** ISO country of the number; undefined for non-geographic numbers (their own budget). */
  readonly country?: string | undefined;
  /**
   * The number was verified through this app recently: its per-number count is kept per client,
   * and the prefix and country budgets do not refuse it, so strangers cannot lock its owner out.
   */
  readonly verifiedOwner?: boolean;
}

export interface SendPermit {
  /** True when the store was unreachable and the fail mode is `open`: nothing was counted. */
  readonly degraded: boolean;
}

export interface VelocityGuardDeps {
  readonly store: VelocityStore;
  readonly settings: VelocitySettings;
  /** The budgets of issue 22 (number window, country, unknown clients); defaults when absent. */
  readonly budgets?: BudgetSettings;
  /** The app secret (`VERIFICATION_CODE_SECRET`); counters are keyed by an HMAC of the subject. */
  readonly secret: string;
  readonly now: () => Date;
  readonly logger: GuardLogger;
  /** Conflicts retried before the send is treated as "store unavailable". Default 8. */
  readonly maxAttempts?: number;
  /** Counters remembered with their ETag so a send usually costs one round trip. Default 10,000. */
  readonly cacheSize?: number;
  /**
   * Sends waiting for the store beyond this are answered by the fail mode at once, so a slow store
   * cannot make the host hold an unbounded queue. Default 1,000.
   */
  readonly maxQueued?: number;
}

interface Pending {
  readonly attempt: SendAttempt;
  readonly rows: readonly RuleRow[];
  resolve(permit: SendPermit): void;
  reject(error: unknown): void;
}

interface RuleRow {
  readonly key: string;
  readonly reason: VelocityReason;
  readonly limit: number;
  /** Only the per-number row carries the cooldown. */
  readonly cooldownMs: number;
  readonly windowMs: number;
}

/** A Table Storage transaction holds at most 100 operations; each send touches at most 5 rows. */
const MAX_ROWS_PER_BATCH = 100;
const ROW_KEY_LABEL = 'sms-verification/velocity-subject/hmac-sha256/v1';
const GLOBAL_ROW_KEY = 'global';
const UNKNOWN_CLIENT = 'unknown';
const UNKNOWN_CLIENT_ROW_KEY = 'i-unknown';

/**
 * The velocity limits: per number (count and cooldown), per client IP, per number
 * prefix (the number without its last 4 digits) and a global ceiling, checked and recorded in one
 * call before any SMS is sent.
 *
 * Cost: concurrent calls are grouped and applied in one conditional transaction (one round trip
 * for the whole group); the counters' last-known ETags are kept, so a call normally needs no read.
 * A stale guess fails the transaction's conditions (409/412), and only then are the counters read
 * and the group decided again. Refusals never write. Counts only grow within a window, so a
 * refusal decided on remembered counters is always right.
 */
export class VelocityGuard {
  private readonly queue: Pending[] = [];
  private draining = false;
  private readonly cache: BoundedCache<StoredCounter>;
  private readonly rowKeyKey: Buffer;
  private readonly maxAttempts: number;
  private readonly maxQueued: number;

  constructor(private readonly deps: VelocityGuardDeps) {
    this.cache = new BoundedCache(deps.cacheSize ?? 10_000);
    this.rowKeyKey = deriveKey(deps.secret, ROW_KEY_LABEL);
    this.maxAttempts = deps.maxAttempts ?? 8;
    this.maxQueued = deps.maxQueued ?? 1000;
  }

  /**
   * Counts the send if every rule allows it. Throws {@link VelocityLimitError} (429 with
   * `Retry-After`) when a rule fires, or {@link GuardUnavailableError} (503) when the store is
   * unreachable in fail mode `closed`; in both cases nothing is counted.
   */
  checkAndRecord(attempt: SendAttempt): Promise<SendPermit> {
    return new Promise<SendPermit>((resolve, reject) => {
      const pending: Pending = { attempt, rows: this.rowsFor(attempt), resolve, reject };
      if (this.queue.length >= this.maxQueued) {
        this.failAll([pending], new Error('too many sends waiting for the velocity store'));
        return;
      }
      this.queue.push(pending);
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.settle(this.takeBatch());
    } finally {
      this.draining = false;
    }
  }

  private takeBatch(): Pending[] {
    const keys = new Set<string>();
    const batch: Pending[] = [];
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const added = next.rows.filter((row) => !keys.has(row.key)).length;
      if (batch.length > 0 && keys.size + added > MAX_ROWS_PER_BATCH) break;
      this.queue.shift();
      batch.push(next);
      for (const row of next.rows) keys.add(row.key);
    }
    return batch;
  }

  /** Decides a batch, retrying on conflicts; resolves or rejects every request in it. */
  private async settle(batch: readonly Pending[]): Promise<void> {
    const keys = [...new Set(batch.flatMap((pending) => pending.rows.map((row) => row.key)))];
    let known: ReadonlyMap<string, StoredCounter> = this.fromCache(keys);
    try {
      for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
        const now = this.deps.now().getTime();
        const outcome = decideBatch(batch, known, now);
        if (outcome.writes.length === 0) return this.finish(batch, outcome.refusals, now);
        const etags = await this.deps.store.write(outcome.writes);
        if (etags !== 'conflict') {
          for (const write of outcome.writes) {
            const etag = etags.get(write.key);
            if (etag === undefined) this.cache.delete(write.key);
            else this.cache.set(write.key, { state: write.state, etag });
          }
          return this.finish(batch, outcome.refusals, now);
        }
        for (const key of keys) this.cache.delete(key);
        known = await this.deps.store.read(keys);
        for (const [key, counter] of known) this.cache.set(key, counter);
      }
      throw new Error('velocity counters stayed contended');
    } catch (error: unknown) {
      for (const key of keys) this.cache.delete(key);
      this.failAll(batch, error);
    }
  }

  private finish(
    batch: readonly Pending[],
    refusals: ReadonlyMap<Pending, Refusal>,
    now: number,
  ): void {
    for (const pending of batch) {
      const refusal = refusals.get(pending);
      if (refusal === undefined) {
        pending.resolve({ degraded: false });
        continue;
      }
      const retryAfterSeconds = Math.max(1, Math.ceil((refusal.until - now) / 1000));
      this.deps.logger.warn(
        `Verification send refused by ${refusal.reason} for ${maskRecipient(pending.attempt.phoneNumber)}; retry after ${retryAfterSeconds}s`,
      );
      pending.reject(new VelocityLimitError(refusal.reason, retryAfterSeconds));
    }
  }

  private failAll(batch: readonly Pending[], error: unknown): void {
    const open = this.deps.settings.failMode === 'open';
    for (const pending of batch) {
      const masked = maskRecipient(pending.attempt.phoneNumber);
      if (open) {
        this.deps.logger.warn(
          `Velocity limit store unreachable; fail mode open lets the send to ${masked} through uncounted`,
        );
        pending.resolve({ degraded: true });
      } else {
        this.deps.logger.warn(
          `Verification send refused by ${GUARD_REASONS.guardUnavailable} for ${masked}: the velocity limit store is unreachable`,
        );
        pending.reject(new GuardUnavailableError({ cause: error }));
      }
    }
  }

  private fromCache(keys: readonly string[]): Map<string, StoredCounter> {
    const known = new Map<string, StoredCounter>();
    for (const key of keys) {
      const counter = this.cache.get(key);
      if (counter !== undefined) known.set(key, counter);
    }
    return known;
  }

  private rowsFor(attempt: SendAttempt): RuleRow[] {
    const { settings } = this.deps;
    const budgets = this.deps.budgets ?? DEFAULT_BUDGETS;
    const hour = VELOCITY_WINDOW_MS;
    const owner = attempt.verifiedOwner === true;
    const clientKey =
      attempt.clientIp?.limitKey ?? (attempt.unknownClient === false ? undefined : UNKNOWN_CLIENT);
    const rows: RuleRow[] = [
      {
        // An owner's count is per client: strangers elsewhere spend their own, not the owner's.
        key: this.rowKey(
          'n',
          owner ? `${attempt.phoneNumber}\n${clientKey ?? ''}` : attempt.phoneNumber,
        ),
        reason: GUARD_REASONS.numberLimit,
        limit: settings.perNumberPerHour,
        cooldownMs: settings.numberCooldownSeconds * 1000,
        windowMs: budgets.numberWindowSeconds * 1000,
      },
    ];
    if (clientKey !== undefined) {
      const unknown = clientKey === UNKNOWN_CLIENT;
      rows.push({
        key: unknown ? UNKNOWN_CLIENT_ROW_KEY : this.rowKey('i', clientKey),
        reason: unknown ? GUARD_REASONS.unknownClientLimit : GUARD_REASONS.ipLimit,
        limit: unknown ? budgets.unknownClientPerHour : settings.perIpPerHour,
        cooldownMs: 0,
        windowMs: hour,
      });
    }
    if (!owner && attempt.recipient !== 'email') {
      rows.push(
        {
          key: this.rowKey('p', numberPrefix(attempt.phoneNumber)),
          reason: GUARD_REASONS.prefixLimit,
          limit: settings.perPrefixPerHour,
          cooldownMs: 0,
          windowMs: hour,
        },
        {
          // Countries are not personal data; non-geographic numbers share one budget.
          key: `c-${attempt.country ?? 'none'}`,
          reason: GUARD_REASONS.countryLimit,
          limit: budgets.perCountryPerHour,
          cooldownMs: 0,
          windowMs: hour,
        },
      );
    }
    rows.push({
      key: GLOBAL_ROW_KEY,
      reason: GUARD_REASONS.globalLimit,
      limit: settings.globalPerHour,
      cooldownMs: 0,
      windowMs: hour,
    });
    return rows;
  }

  /** Numbers and IPs are personal data: the table holds only keyed hashes of them. */
  private rowKey(kind: 'n' | 'i' | 'p', subject: string): string {
    const mac = createHmac('sha256', this.rowKeyKey).update(`${kind}\n${subject}`, 'utf8');
    return `${kind}-${mac.digest('base64url').slice(0, 32)}`;
  }
}

/** The number without its last 4 digits: neighbouring numbers of one rented range share it. */
export function numberPrefix(e164: string): string {
  return e164.slice(0, Math.max(2, e164.length - 4));
}

interface Refusal {
  readonly reason: VelocityReason;
  /** Epoch ms from which the rule would allow the send. */
  readonly until: number;
}

interface BatchOutcome {
  readonly writes: readonly CounterWrite[];
  readonly refusals: ReadonlyMap<Pending, Refusal>;
}

/**
 * Decides the requests in order against the known counters, counting each allowed send before the
 * next is judged. Pure: the same inputs give the same writes and refusals.
 */
function decideBatch(
  batch: readonly Pending[],
  known: ReadonlyMap<string, StoredCounter>,
  now: number,
): BatchOutcome {
  const working = new Map<string, CounterState>();
  const stateOf = (key: string): CounterState | undefined =>
    working.get(key) ?? known.get(key)?.state;
  const refusals = new Map<Pending, Refusal>();
  for (const pending of batch) {
    const refusal = firstRefusal(pending.rows, stateOf, now);
    if (refusal !== undefined) {
      refusals.set(pending, refusal);
      continue;
    }
    for (const row of pending.rows) {
      working.set(row.key, counted(stateOf(row.key), now, row.windowMs));
    }
  }
  const writes = [...working].map(([key, state]) => ({ key, state, etag: known.get(key)?.etag }));
  return { writes, refusals };
}

/** Of the rules that fire, the one that holds the send back longest (the first of equals). */
function firstRefusal(
  rows: readonly RuleRow[],
  stateOf: (key: string) => CounterState | undefined,
  now: number,
): Refusal | undefined {
  let worst: Refusal | undefined;
  const consider = (candidate: Refusal) => {
    if (worst === undefined || candidate.until > worst.until) worst = candidate;
  };
  for (const row of rows) {
    const state = stateOf(row.key);
    if (state === undefined) continue;
    if (row.cooldownMs > 0 && now < state.lastAt + row.cooldownMs) {
      consider({ reason: GUARD_REASONS.numberCooldown, until: state.lastAt + row.cooldownMs });
    }
    const windowEnd = state.windowStart + row.windowMs;
    if (now < windowEnd && state.count >= row.limit) {
      consider({ reason: row.reason, until: windowEnd });
    }
  }
  return worst;
}

/** The counter after one more send at `now`: a new window once the old one has ended. */
function counted(state: CounterState | undefined, now: number, windowMs: number): CounterState {
  if (state === undefined || now >= state.windowStart + windowMs) {
    return { windowStart: now, count: 1, lastAt: now };
  }
  return {
    windowStart: state.windowStart,
    count: state.count + 1,
    lastAt: Math.max(now, state.lastAt),
  };
}

/** A Map that forgets its least recently used entries beyond `capacity`, so memory stays bounded. */
class BoundedCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
