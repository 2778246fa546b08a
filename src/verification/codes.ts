/** The shape of a submitted code. The secret math on codes (hash, derivation, sealing) is in `crypto/`. */
import { CODE_LENGTH_RANGE } from './rules';

const WELL_FORMED_CODE = new RegExp(`^\\d{${CODE_LENGTH_RANGE.min},${CODE_LENGTH_RANGE.max}}$`);
/** At most the longest code: anything longer cannot match and is not worth hashing. */
const DIGITS = new RegExp(`^\\d{1,${CODE_LENGTH_RANGE.max}}$`);

declare const wellFormed: unique symbol;
/** A submitted code that passed {@link isWellFormedCode}: normalising it cannot fail. */
export type WellFormedCode = (string | number) & { readonly [wellFormed]: true };

/**
 * Normalises a submitted code: a string of digits is taken as is, a non-negative integer is
 * left-padded with zeros to the code length (the official sample sends `2168` as a JSON number).
 * Anything else is not a code.
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
