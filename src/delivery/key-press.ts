import twilio from 'twilio';
import { ForbiddenError, NotFoundError } from '../errors';
import { openAnswer, sealAnswer } from '../verification/crypto/sealed-answer';
import { callTwiml } from './texts';

/**
 * The call's optional key press (`DELIVERY_CALL_KEY_PRESS`): the call placed with inline TwiML only asks for
 * a key (`<Gather>`, see `keyPressTwiml`), and Twilio fetches the code's TwiML from the Gather's `action` once
 * the callee pressed one. Nothing is stored: the action URL carries the code sealed (AES-256-GCM under the
 * code secret, bound to the called number, dated), so only this app can read it, and the endpoint answers
 * only requests signed by Twilio (`X-Twilio-Signature` with the account's auth token). Whoever holds the URL
 * but not the auth token gets 403; a voicemail that answers and presses nothing never hears the code.
 */

/** Below the host's route prefix: `POST /api/delivery/calls/key-press?t=<sealed>&l=<locale>`. */
export const KEY_PRESS_ROUTE = 'delivery/calls/key-press';
/** A key-press URL is good this long after the call was placed (it rings, then prompts for 10 s). */
export const KEY_PRESS_TTL_MS = 10 * 60_000;
/** Domain separation from the sealed answers of the orchestrations (no instance id holds a newline). */
const SCOPE = 'delivery/call-key-press\n';
const LOCALE = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$/;
const DIGIT = /^[0-9*#]$/;
const HANG_UP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>';

export interface KeyPressKeys {
  /** Where Twilio reaches the app (`VERIFICATION_PUBLIC_ORIGIN`, else the App Service host name). */
  readonly origin: URL;
  /** `VERIFICATION_CODE_SECRET`. */
  readonly secret: string;
}

/** The Gather's action for one call: the code sealed to the called number, and the locale. */
export function keyPressActionUrl(
  keys: KeyPressKeys,
  call: { readonly to: string; readonly code: string; readonly locale: string | undefined },
  now: Date,
): string {
  const { sealedAnswer } = sealAnswer(keys.secret, SCOPE + call.to, {
    code: call.code,
    receivedAt: now,
  });
  const url = new URL(`/api/${KEY_PRESS_ROUTE}`, keys.origin);
  url.searchParams.set('t', sealedAnswer);
  if (call.locale !== undefined) url.searchParams.set('l', call.locale);
  return url.toString();
}

export interface KeyPressRequest {
  /** The URL as the function received it; its path and query are checked against the public origin. */
  readonly url: string;
  readonly signature: string | undefined;
  /** Twilio's form parameters (`CallSid`, `To`, `Digits`…). */
  readonly form: Readonly<Record<string, string>>;
}

/**
 * The TwiML that answers a key press: the code spoken (as the plain call speaks it), or a hang-up for a
 * link that is stale, sealed to another number or without a digit. Throws 403 for a request Twilio did not
 * sign for this public URL, 404 when the key press is off.
 */
export function answerKeyPress(
  request: KeyPressRequest,
  deps: KeyPressKeys & {
    readonly enabled: boolean;
    readonly authToken: string;
    readonly now: Date;
  },
): string {
  if (!deps.enabled) throw new NotFoundError('No key press on this deployment.');
  const received = new URL(request.url);
  // Twilio signs the URL it called: the public one, whatever host name reached the function.
  const publicUrl = new URL(`${received.pathname}${received.search}`, deps.origin).toString();
  const signed =
    request.signature !== undefined &&
    twilio.validateRequest(deps.authToken, request.signature, publicUrl, { ...request.form });
  if (!signed) throw new ForbiddenError('Only Twilio may call this endpoint.');
  const to = request.form.To ?? '';
  const opened = openAnswer(deps.secret, SCOPE + to, {
    sealedAnswer: received.searchParams.get('t') ?? '',
  });
  const fresh =
    opened !== undefined &&
    deps.now.getTime() - opened.receivedAt.getTime() <= KEY_PRESS_TTL_MS &&
    DIGIT.test(request.form.Digits ?? '');
  if (!fresh) return HANG_UP;
  const locale = received.searchParams.get('l') ?? undefined;
  return callTwiml(opened.code, locale !== undefined && LOCALE.test(locale) ? locale : undefined);
}
