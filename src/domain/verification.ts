import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** What the orchestration reports in `customStatus.state`, and its final outcome. */
export type VerificationState = 'awaiting_code' | 'verified' | 'expired' | 'too_many_attempts';

export interface VerificationStatus {
  readonly state: VerificationState;
  readonly attemptsRemaining: number;
  /** ISO-8601 deadline for submitting a code. */
  readonly expiresAt: string;
}

/** The orchestration input: the rules are fixed when the instance starts. */
export interface VerificationInput {
  readonly phoneNumber: string;
  readonly timeoutSeconds: number;
  readonly maxAttempts: number;
  readonly codeLength: number;
}

/** The activity input. The instance id binds the code hash to this one verification. */
export interface SmsChallengeInput {
  readonly phoneNumber: string;
  readonly instanceId: string;
  readonly codeLength: number;
}

/** Returns an integer in [min, max). `crypto.randomInt` in production, a fixed sequence in tests. */
export type RandomInt = (min: number, max: number) => number;

/** Uniformly random decimal code of `length` digits, leading zeros allowed. */
export function generateCode(length: number, random: RandomInt = randomInt): string {
  assertCodeLength(length);
  let code = '';
  // One draw per digit: randomInt's range is limited to 2^48, which 10^10 would approach.
  for (let i = 0; i < length; i++) code += String(random(0, 10));
  return code;
}

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

/**
 * Normalises a submitted code: a string of digits is taken as is, a non-negative integer is
 * left-padded with zeros to the code length (the seed sends `2168` as a JSON number). Anything
 * else is not a code.
 */
export function normalizeCode(submitted: unknown, codeLength: number): string | undefined {
  if (typeof submitted === 'string') {
    const trimmed = submitted.trim();
    return /^\d{1,10}$/.test(trimmed) ? trimmed : undefined;
  }
  if (typeof submitted === 'number' && Number.isSafeInteger(submitted) && submitted >= 0) {
    const digits = String(submitted);
    return digits.length > codeLength ? digits : digits.padStart(codeLength, '0');
  }
  return undefined;
}

/** Constant-time check of a submitted code against the stored hash. */
export function codeMatches(
  secret: string,
  instanceId: string,
  expectedHash: string,
  submitted: unknown,
  codeLength: number,
): boolean {
  const code = normalizeCode(submitted, codeLength);
  if (code === undefined || code.length !== codeLength) return false;
  const actual = Buffer.from(hashCode(secret, instanceId, code), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Syntactic check for the HTTP endpoint: 4–10 digit string, or a non-negative integer. */
export function isWellFormedCode(value: unknown): value is string | number {
  if (typeof value === 'string') return /^\d{4,10}$/.test(value);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < 1e10;
}

function assertCodeLength(length: number): void {
  if (!Number.isInteger(length) || length < 4 || length > 10) {
    throw new RangeError('code length must be an integer in 4..10');
  }
}
