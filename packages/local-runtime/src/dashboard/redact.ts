/**
 * What the dashboard never shows: verification codes, tokens, keys and full phone numbers. Everything it
 * sends to the browser goes through these functions on the server, so the page cannot render a secret
 * it never received.
 */

/** Runs of 4+ digits: the codes in SMS bodies and raw codes raised as events. */
const DIGIT_RUN = /\d{4,}/g;
const E164 = /^\+[1-9]\d{7,14}$/;
const JWT = /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/;
/** Property names whose values are secrets wherever they appear. */
const SECRET_NAME = /^(code|sealedcode|password|secret|.*token|.*key|authorization)$/i;

export const HIDDEN = '[hidden]';

export function maskDigits(text: string): string {
  return text.replace(DIGIT_RUN, (run) => '•'.repeat(run.length));
}

/** `+14255550100` → `+•••••••0100`: enough to tell numbers apart, not enough to call one. */
export function maskPhoneNumber(phone: string): string {
  return `+${'•'.repeat(Math.max(0, phone.length - 5))}${phone.slice(-4)}`;
}

function redactString(text: string, digits: boolean): string {
  if (E164.test(text)) return maskPhoneNumber(text);
  if (JWT.test(text)) return HIDDEN;
  return digits ? maskDigits(text) : text;
}

/**
 * Deep copy with secrets hidden: secret-named properties, phone numbers and JWTs always; with
 * `digits` (event payloads, which may be a raw code) every digit run and every number too.
 */
export function redactValue(value: unknown, digits = false): unknown {
  if (typeof value === 'string') return redactString(value, digits);
  if (typeof value === 'number') return digits && Number.isInteger(value) ? HIDDEN : value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, digits));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_NAME.test(k) && v !== null ? HIDDEN : redactValue(v, digits);
    }
    return out;
  }
  return value;
}

/** History events: event payloads may carry a raw code; everything else as `redactValue`. */
export function redactHistoryEvent(event: Record<string, unknown>): Record<string, unknown> {
  const isEvent = event.EventType === 'EventRaised' || event.EventType === 'EventSent';
  const out = redactValue(event) as Record<string, unknown>;
  if (isEvent && 'Input' in event) out.Input = redactValue(event.Input, true);
  return out;
}
