import crypto from 'node:crypto';

/**
 * How an emulated message moves after it is accepted, on an injectable clock: `queued → sending → sent →
 * delivered` (or `undelivered` / `failed` for the emulator's failing destinations), each change POSTed to the
 * message's `StatusCallback` signed with `X-Twilio-Signature` as Twilio signs webhooks.
 */

/** The clock the lifecycle runs on; the local runtime's `ManualClock` / `SystemClock` have this shape. */
export interface EmulatorClock {
  now(): Date;
  /** Calls `callback` once at `at` (or soon after); returns a function that cancels the wake-up. */
  wakeAt(at: Date, callback: () => void): () => void;
}

/** The wall clock with Node timers. */
export const systemEmulatorClock: EmulatorClock = {
  now: () => new Date(),
  wakeAt: (at, callback) => {
    // setTimeout's limit is ~24.8 days; longer waits (a far-future SendAt) are chained.
    let handle: NodeJS.Timeout;
    const arm = (): void => {
      const delay = at.getTime() - Date.now();
      handle = setTimeout(
        () => (delay > 2 ** 31 - 1 ? arm() : callback()),
        Math.max(0, Math.min(delay, 2 ** 31 - 1)),
      );
      handle.unref();
    };
    arm();
    return () => clearTimeout(handle);
  },
};

export type MessageStatus =
  | 'accepted'
  | 'scheduled'
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'canceled';

/** Delays (ms after the previous step) of the lifecycle steps. */
export interface LifecycleTiming {
  /** accepted (messaging service) → queued. Default 50. */
  readonly queuedAfterMs?: number;
  /** queued → sending. Default 100. */
  readonly sendingAfterMs?: number;
  /** sending → sent. Default 400. */
  readonly sentAfterMs?: number;
  /** sent → delivered / undelivered (failed comes straight after sending). Default 1500. */
  readonly deliveredAfterMs?: number;
}

export const DEFAULT_LIFECYCLE_TIMING: Required<LifecycleTiming> = {
  queuedAfterMs: 50,
  sendingAfterMs: 100,
  sentAfterMs: 400,
  deliveredAfterMs: 1500,
};

/**
 * Destinations the carrier never delivers to, with Twilio's delivery error codes (which only ever arrive
 * through the callback and GET, never from create). Twilio's own test credentials have no such numbers;
 * these are the emulator's, next to Twilio's create-time magic numbers `+1500555000x`.
 */
export const FAILING_DESTINATIONS: Readonly<
  Record<string, { status: 'undelivered' | 'failed'; code: number; message: string }>
> = {
  '+15005550010': {
    status: 'undelivered',
    code: 30003,
    message: 'Unreachable destination handset',
  },
  '+15005550011': { status: 'undelivered', code: 30005, message: 'Unknown destination handset' },
  '+15005550012': { status: 'failed', code: 30008, message: 'Unknown error' },
};

/** What the next step after `status` is, for a message to `to`; undefined when the message is final. */
export function nextStep(
  status: MessageStatus,
  to: string,
  timing: Required<LifecycleTiming>,
): { status: MessageStatus; afterMs: number } | undefined {
  const failing = FAILING_DESTINATIONS[to];
  switch (status) {
    case 'accepted':
      return { status: 'queued', afterMs: timing.queuedAfterMs };
    case 'queued':
      return { status: 'sending', afterMs: timing.sendingAfterMs };
    case 'sending':
      return failing?.status === 'failed'
        ? { status: 'failed', afterMs: timing.sentAfterMs }
        : { status: 'sent', afterMs: timing.sentAfterMs };
    case 'sent':
      return {
        status: failing?.status === 'undelivered' ? 'undelivered' : 'delivered',
        afterMs: timing.deliveredAfterMs,
      };
    default:
      return undefined;
  }
}

/** Twilio's outbound US SMS price per segment, as the API reports it (a negative decimal string). */
export function priceOf(segments: number): string {
  return (-0.0079 * segments).toFixed(5);
}

/**
 * `X-Twilio-Signature`: base64(HMAC-SHA1(authToken, url + every POST parameter name and value, sorted by
 * name)), which `twilio.validateRequest(authToken, signature, url, params)` checks.
 */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Readonly<Record<string, string>>,
): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return crypto.createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}
