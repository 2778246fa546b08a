/**
 * What the dashboard never shows: by default verification codes, tokens, keys and full phone numbers; an app
 * states its own rules in `local.services.cjs` (`dashboard.redaction`). Everything the dashboard sends to the
 * browser goes through a `Redactor` on the server, so the page cannot render a secret it never received.
 */
import { DEFAULT_REDACTION, type RedactionRules } from '../host/local-services';

export const HIDDEN = '[hidden]';

export interface Redactor {
  /** Every digit run of the rules' length or longer, masked (the codes in SMS bodies, spoken in calls). */
  readonly maskDigits: (text: string) => string;
  /** `+14255550100` → `+•••••••0100`: enough to tell values apart, not enough to use one. */
  readonly mask: (text: string) => string;
  /**
   * Deep copy with secrets hidden: secret-named properties, masked and hidden values always; with `digits`
   * (event payloads, which may be a raw code) every digit run and every integer too.
   */
  readonly value: (value: unknown, digits?: boolean) => unknown;
  /** History events: event payloads may carry a raw code; everything else as `value`. */
  readonly historyEvent: (event: Record<string, unknown>) => Record<string, unknown>;
}

export function createRedactor(overrides: Partial<RedactionRules> = {}): Redactor {
  const rules: RedactionRules = { ...DEFAULT_REDACTION, ...overrides };
  const separator = rules.spokenDigits ? '(?:, ?| +)?' : '';
  const digitRun =
    rules.minDigitRun > 0
      ? new RegExp(`\\d(?:${separator}\\d){${rules.minDigitRun - 1},}`, 'g')
      : undefined;
  const maskDigits = (text: string): string =>
    digitRun ? text.replace(digitRun, (run) => run.replace(/\d/g, '•')) : text;
  const mask = (text: string): string =>
    `${text.slice(0, 1)}${'•'.repeat(Math.max(0, text.length - 5))}${text.slice(-4)}`;
  const redactString = (text: string, digits: boolean): string => {
    if (rules.maskedValues.some((pattern) => pattern.test(text))) return mask(text);
    if (rules.hiddenValues.some((pattern) => pattern.test(text))) return HIDDEN;
    return digits ? maskDigits(text) : text;
  };
  const value = (v: unknown, digits = false): unknown => {
    if (typeof v === 'string') return redactString(v, digits);
    if (typeof v === 'number') return digits && Number.isInteger(v) ? HIDDEN : v;
    if (Array.isArray(v)) return v.map((item) => value(item, digits));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        out[k] = rules.secretNames.test(k) && item !== null ? HIDDEN : value(item, digits);
      }
      return out;
    }
    return v;
  };
  return {
    maskDigits,
    mask,
    value,
    historyEvent: (event) => {
      const isEvent = event.EventType === 'EventRaised' || event.EventType === 'EventSent';
      const out = value(event) as Record<string, unknown>;
      if (isEvent && 'Input' in event) out.Input = value(event.Input, true);
      return out;
    },
  };
}

const defaults = createRedactor();
/** The default rules' functions (`DEFAULT_REDACTION`). */
export const maskDigits = defaults.maskDigits;
export const maskPhoneNumber = defaults.mask;
export const redactValue = defaults.value;
export const redactHistoryEvent = defaults.historyEvent;
