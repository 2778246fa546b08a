import crypto from 'node:crypto';
import type http from 'node:http';
import { sendJson } from '../common/http';
import { twilioSignature } from './lifecycle';

/** What the emulated Twilio APIs (Messages, Calls) share: dates, errors, credential checks. */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Twilio's date format: RFC 2822 with a numeric `+0000` zone, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function formatTwilioDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** One page of a Twilio list resource (2010-04-01): the items under `key`, then the paging fields. */
export function sendTwilioPage(
  res: http.ServerResponse,
  key: string,
  items: readonly unknown[],
  paging: {
    readonly page: number;
    readonly size: number;
    readonly uri: (page: number) => string;
    readonly nextPageUri: string | null;
  },
): void {
  const { page, size, uri } = paging;
  const body = {
    [key]: items,
    uri: uri(page),
    first_page_uri: uri(0),
    next_page_uri: paging.nextPageUri,
    previous_page_uri: page > 0 ? uri(page - 1) : null,
    page,
    page_size: size,
    start: page * size,
    end: page * size + Math.max(items.length - 1, 0),
  };
  sendJson(res, 200, body, {}, 'application/json');
}

export function timingSafeEqualStr(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export function twilioError(
  res: http.ServerResponse,
  status: number,
  code: number,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status, ...extra },
    headers,
    'application/json',
  );
}

const CALLBACK_TIMEOUT_MS = 5_000;

/**
 * POSTs a status callback as Twilio does (form-encoded, signed with `X-Twilio-Signature`); the outcome is
 * only logged, never retried, and never rejects.
 */
/** A form POST to an app's URL signed as Twilio signs its webhooks (`X-Twilio-Signature`). */
export function postSigned(
  url: string,
  params: Readonly<Record<string, string>>,
  authToken: string,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(authToken, url, params),
      'user-agent': 'TwilioProxy/1.1',
    },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
  });
}

export async function postSignedCallback(
  url: string,
  params: Readonly<Record<string, string>>,
  authToken: string,
  log: (line: string) => void,
  label: string,
): Promise<void> {
  try {
    const res = await postSigned(url, params, authToken);
    await res.arrayBuffer().catch(() => undefined);
    log(`[twilio] status callback ${label} answered ${res.status}`);
  } catch (e) {
    log(`[twilio] status callback ${label} failed: ${e instanceof Error ? e.name : 'error'}`);
  }
}
