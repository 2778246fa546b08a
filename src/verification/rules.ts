/**
 * The rules of a verification, each stated once: phone-number shape, code lengths, the states an
 * instance reports and the shapes that travel between starter, orchestrator and activity. Pure
 * values and types, so the orchestrator may import them.
 */

/** E.164: `+` and 8-15 digits, no leading zero. */
export const E164_PATTERN = /^\+[1-9]\d{7,14}$/;

/** NIST SP 800-63B asks for at least 20 bits of entropy: 6 decimal digits; 4 is allowed for parity with the seed. */
export const CODE_LENGTH_RANGE = { min: 4, max: 10 } as const;

export function isCodeLength(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= CODE_LENGTH_RANGE.min &&
    value <= CODE_LENGTH_RANGE.max
  );
}

/** What the orchestration reports in `customStatus.state`, and its final outcome. */
export const VERIFICATION_STATES = [
  'awaiting_code',
  'verified',
  'expired',
  'too_many_attempts',
] as const;
export type VerificationState = (typeof VERIFICATION_STATES)[number];

/** The orchestration's `customStatus`. */
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
