import { createHmac } from 'node:crypto';
import { deriveKey } from '../verification/crypto/key-derivation';
import type { RowStore, RowWrite } from '../verification/guard/row-store';
import { VerifyApiError, invalidParameter } from './errors';
import type { RateLimitRecord } from './store';

/**
 * Verify's programmable rate limits, applied: a verification names values in `RateLimits`
 * (`{"end_user_ip_address": "203.0.113.7"}`), and each bucket of each named rate limit counts the
 * sends of that value over its `Interval`. One send beyond a bucket's `Max` answers 20429; it is
 * then counted nowhere. A rate limit the request does not name is not applied (Twilio meters only
 * what a request is associated with); a name that is not one of the service's rate limits is a
 * bad parameter (60200), so a typo never turns a limit off silently.
 *
 * Counters live in the fraud guard's row store (one partition of the Verify table, shared by every
 * instance), written ETag-conditionally in one transaction for all the buckets of a send. Values
 * are often personal data (IP addresses, user ids): rows are keyed by an HMAC of the bucket and
 * the value, and values are never logged.
 */

/**
 * Twilio documents both caps (60207, 60210) without their figures; ours keep all the buckets one
 * send counts in one Table transaction (at most 100 rows).
 */
export const MAX_RATE_LIMITS_PER_SERVICE = 10;
export const MAX_BUCKETS_PER_RATE_LIMIT = 10;

/** Twilio's rule for `UniqueName` (60209): letters, digits, `-`, `_`, `.`; the length cap is ours. */
export const UNIQUE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Conflicting writes from other instances retried before answering 503. */
const MAX_TRIES = 8;
const ROW_KEY_LABEL = 'verify/rate-limit-counter/hmac-sha256/v1';

/** One bucket's count of one value: the sends since its window started (epoch ms). */
interface WindowCount {
  readonly windowStart: number;
  readonly count: number;
}

/** What one send is counted against: a bucket and the value the request gave its rate limit. */
interface Meter {
  readonly key: string;
  readonly max: number;
  readonly windowMs: number;
}

export interface RateLimitMeterDeps {
  readonly store: () => RowStore;
  /** `VERIFICATION_CODE_SECRET`: row keys are HMACs of bucket and value. */
  readonly secret: () => string;
  readonly now: () => Date;
}

export class RateLimitMeter {
  constructor(private readonly deps: RateLimitMeterDeps) {}

  /**
   * Counts one send against every bucket of the rate limits `values` names, or against none when
   * one of them is full (20429 with `Retry-After`, until that bucket's window ends).
   */
  async admit(
    rateLimits: readonly RateLimitRecord[],
    values: Readonly<Record<string, string>>,
  ): Promise<void> {
    const meters = this.metersFor(rateLimits, values);
    if (meters.length === 0) return;
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const rows = await this.storage(() => this.deps.store().read(meters.map((m) => m.key)));
      const now = this.deps.now().getTime();
      const writes: RowWrite[] = [];
      let fullUntil = 0;
      for (const meter of meters) {
        const row = rows.get(meter.key);
        const current = liveWindow(row?.state, now, meter.windowMs);
        if (current !== undefined && current.count >= meter.max) {
          fullUntil = Math.max(fullUntil, current.windowStart + meter.windowMs);
        }
        const next: WindowCount = current
          ? { windowStart: current.windowStart, count: current.count + 1 }
          : { windowStart: now, count: 1 };
        const expiresAt = new Date(next.windowStart + meter.windowMs);
        writes.push({ key: meter.key, state: next, etag: row?.etag, expiresAt });
      }
      if (fullUntil > 0) {
        const retryAfter = String(Math.max(1, Math.ceil((fullUntil - now) / 1000)));
        throw new VerifyApiError('tooManyRequests', undefined, { 'Retry-After': retryAfter });
      }
      if ((await this.storage(() => this.deps.store().write(writes))) === 'ok') return;
    }
    throw new VerifyApiError('unavailable');
  }

  /** Storage down: 20503, the send not made (rate limits fail closed). */
  private async storage<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch {
      throw new VerifyApiError('unavailable');
    }
  }

  private metersFor(
    rateLimits: readonly RateLimitRecord[],
    values: Readonly<Record<string, string>>,
  ): Meter[] {
    const byName = new Map(rateLimits.map((r) => [r.uniqueName, r]));
    const key = deriveKey(this.deps.secret(), ROW_KEY_LABEL);
    return Object.entries(values).flatMap(([name, value]) => {
      const rateLimit = byName.get(name);
      if (rateLimit === undefined)
        throw invalidParameter('RateLimits', 'names no rate limit of this service');
      return rateLimit.buckets.map((bucket) => ({
        key: `b-${createHmac('sha256', key).update(`${bucket.sid}\n${value}`, 'utf8').digest('base64url').slice(0, 32)}`,
        max: bucket.max,
        windowMs: bucket.interval * 1000,
      }));
    });
  }
}

/** The count of a window still open at `now`; undefined when absent, unreadable or over. */
function liveWindow(state: unknown, now: number, windowMs: number): WindowCount | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const { windowStart, count } = state as Partial<WindowCount>;
  if (typeof windowStart !== 'number' || typeof count !== 'number') return undefined;
  return now < windowStart + windowMs ? { windowStart, count } : undefined;
}
