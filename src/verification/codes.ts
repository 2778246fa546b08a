import { createHmac, timingSafeEqual } from 'node:crypto';
import { CODE_LENGTH_RANGE, type JudgedAnswer } from './rules';
import { openAnswer } from './sealed-answer';

const WELL_FORMED_CODE = new RegExp(`^\\d{${CODE_LENGTH_RANGE.min},${CODE_LENGTH_RANGE.max}}$`);
/** At most the longest code: anything longer cannot match and is not worth hashing. */
const DIGITS = new RegExp(`^\\d{1,${CODE_LENGTH_RANGE.max}}$`);

export function renderMessage(template: string, code: string): string {
  return template.split('{code}').join(code);
}

/**
 * Keyed hash of a code, bound to the instance: a hash from one verification is useless for
 * another, and without the secret it cannot be brute-forced from history.
 */
export function hashCode(secret: string, instanceId: string, code: string): string {
  return createHmac('sha256', secret).update(`${instanceId}\n${code}`, 'utf8').digest('hex');
}

declare const wellFormed: unique symbol;
/** A submitted code that passed {@link isWellFormedCode}: normalising it cannot fail. */
export type WellFormedCode = (string | number) & { readonly [wellFormed]: true };

/**
 * Normalises a submitted code: a string of digits is taken as is, a non-negative integer is
 * left-padded with zeros to the code length (the seed sends `2168` as a JSON number). Anything
 * else is not a code.
 */
export function normalizeCode(submitted: WellFormedCode, codeLength: number): string;
export function normalizeCode(submitted: unknown, codeLength: number): string | undefined;
export function normalizeCode(submitted: unknown, codeLength: number): string | undefined {
  if (typeof submitted === 'string') {
    const trimmed = submitted.trim();
    return DIGITS.test(trimmed) ? trimmed : undefined;
  }
  if (typeof submitted === 'number' && Number.isSafeInteger(submitted) && submitted >= 0) {
    const digits = String(submitted);
    return digits.length > codeLength ? digits : digits.padStart(codeLength, '0');
  }
  return undefined;
}

/**
 * Opens a sealed answer raised at `instanceId` (see sealed-answer.ts) and compares its code with
 * the challenge hash in constant time. Undefined for anything that is not an answer the app's
 * links sealed for this instance (a raw code raised with a host key included): it carries no
 * trustworthy receipt time. Deterministic for a given secret, so safe inside the orchestrator.
 */
export function judgeAnswer(
  secret: string,
  instanceId: string,
  expectedHash: string,
  payload: unknown,
  codeLength: number,
): JudgedAnswer | undefined {
  const opened = openAnswer(secret, instanceId, payload);
  if (opened === undefined) return undefined;
  const { code, receivedAt } = opened;
  if (code.length !== codeLength) return { correct: false, receivedAt };
  const actual = Buffer.from(hashCode(secret, instanceId, code), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return {
    correct: actual.length === expected.length && timingSafeEqual(actual, expected),
    receivedAt,
  };
}

/**
 * Syntactic check for the HTTP endpoint: a string of code-length digits, or a non-negative integer
 * of at most as many digits (leading zeros are restored by {@link normalizeCode}).
 */
export function isWellFormedCode(value: unknown): value is WellFormedCode {
  if (typeof value === 'string') return WELL_FORMED_CODE.test(value);
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 0 &&
    value < 10 ** CODE_LENGTH_RANGE.max
  );
}
