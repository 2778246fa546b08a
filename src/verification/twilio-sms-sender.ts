import { createHash } from 'node:crypto';
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient';
import type TwilioResponse from 'twilio/lib/http/response';
import type { TwilioConfig } from './settings';
import {
  RateLimitedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors';
import { withSpan } from '../telemetry';
import type { SmsMessage, SmsReceipt, SmsSender } from './sms-sender';

const SERVICE = 'twilio';
const DEFAULT_TIMEOUT_MS = 15_000;
/** How many of the newest messages to the number the re-run check reads (one page, one request). */
const RECENT_MESSAGES = 20;
/** Messages that never reached the phone: a re-run sends again. */
const NOT_SENT: ReadonlySet<string> = new Set(['failed', 'undelivered', 'canceled']);

/**
 * Sends every Twilio request to another origin (the local emulator). The SDK builds absolute
 * `https://api.twilio.com/...` URLs and may rewrite the host for edge/region first, so this rewrites
 * any `*.twilio.com` origin at the last moment.
 */
class RebasingRequestClient extends twilio.RequestClient {
  private readonly base: string;

  constructor(base: URL, timeoutMs: number) {
    super({ timeout: timeoutMs });
    this.base = base.href.replace(/\/+$/, '');
  }

  override request<TData>(
    opts: TwilioRequestClient.RequestOptions<TData>,
  ): Promise<TwilioResponse<TData>> {
    return super.request<TData>({
      ...opts,
      uri: opts.uri.replace(/^https:\/\/([a-z0-9-]+\.)*twilio\.com(?=\/|$)/i, this.base),
    });
  }
}

export interface TwilioSmsSenderOptions {
  readonly timeoutMs?: number;
}

/** {@link SmsSender} on the official `twilio` SDK (Messages API). */
export class TwilioSmsSender implements SmsSender {
  private readonly client: twilio.Twilio;
  private readonly from: string;

  constructor(config: TwilioConfig, options: TwilioSmsSenderOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.client = twilio(config.accountSid, config.authToken, {
      // Settings come from our Config only; an empty env stops the SDK reading TWILIO_* itself.
      env: {},
      timeout: timeoutMs,
      ...(config.apiBaseUrl === undefined
        ? {}
        : { httpClient: new RebasingRequestClient(config.apiBaseUrl, timeoutMs) }),
    });
    this.from = config.phoneNumber;
  }

  /**
   * Sends `message`, unless this very text already went to this number: at-least-once delivery runs the
   * activity again after a crash between Twilio's answer and the commit of its result, and the derived code
   * makes that re-run's text identical to the first one's. Twilio has no idempotency key, so the newest
   * messages from our number to this one are listed (To and From, newest first, including those still queued,
   * which a DateSent filter would miss: Twilio sets `date_sent` only once sent) and compared by a hash of the
   * body. One extra GET per send; if the lookup fails, the message is sent (at-least-once stays).
   */
  async send(message: SmsMessage): Promise<SmsReceipt> {
    const earlier = await this.findEarlierSend(message);
    if (earlier !== undefined) return { sid: earlier, alreadySent: true };
    try {
      const created = await withSpan('twilio.messages.create', { 'peer.service': SERVICE }, () =>
        this.client.messages.create({ to: message.to, from: this.from, body: message.body }),
      );
      return { sid: created.sid };
    } catch (error: unknown) {
      // The SDK's errors can carry the request (and with it the body holding the code), so the
      // cause is deliberately not attached.
      throw mapTwilioError(error);
    }
  }

  private async findEarlierSend(message: SmsMessage): Promise<string | undefined> {
    try {
      const recent = await withSpan('twilio.messages.list', { 'peer.service': SERVICE }, () =>
        this.client.messages.list({
          to: message.to,
          from: this.from,
          pageSize: RECENT_MESSAGES,
          limit: RECENT_MESSAGES,
        }),
      );
      const digest = bodyDigest(message.body);
      return recent.find(
        (m) => !NOT_SENT.has(String(m.status)) && bodyDigest(m.body ?? '') === digest,
      )?.sid;
    } catch {
      return undefined;
    }
  }
}

/** The body is compared by digest: the texts (codes) are never held side by side or logged. */
function bodyDigest(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

export function mapTwilioError(error: unknown): Error {
  if (error instanceof twilio.RestException || hasNumericStatus(error)) {
    const { status } = error;
    const code = typeof error.code === 'number' ? error.code : undefined;
    const suffix = code === undefined ? '' : ` (Twilio error ${code})`;
    if (status === 429) return new RateLimitedError(`Twilio throttled the request${suffix}.`);
    if (status === 401 || status === 403) {
      return new UpstreamError(
        SERVICE,
        `Twilio rejected the account credentials${suffix}.`,
        status,
      );
    }
    if (status >= 400 && status < 500) {
      return new UpstreamError(SERVICE, `Twilio rejected the message${suffix}.`, status);
    }
    return new UpstreamError(SERVICE, `Twilio failed with HTTP ${status}${suffix}.`, status);
  }
  const code = networkCode(error);
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new UpstreamTimeoutError(SERVICE, 'Twilio did not answer in time.');
  }
  if (code !== undefined) {
    return new UpstreamUnavailableError(SERVICE, `Twilio could not be reached (${code}).`);
  }
  return new UpstreamError(SERVICE, 'Sending the SMS failed.');
}

function hasNumericStatus(error: unknown): error is { status: number; code?: unknown } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}

function networkCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code) ? code : undefined;
}
