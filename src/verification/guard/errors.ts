import {
  ForbiddenError,
  RateLimitedError,
  UpstreamUnavailableError,
  ValidationError,
} from '../../errors';

/**
 * The stable reason of every guard refusal, one per rule. It travels in the problem document as the
 * `reason` extension member next to the generic `code` (`validation_failed`, `forbidden`,
 * `rate_limited`, `upstream_unavailable`), so clients can tell the rules apart.
 */
export const GUARD_REASONS = {
  phoneNumberInvalid: 'phone_number_invalid',
  numberTypeBlocked: 'phone_number_type_blocked',
  countryNotAllowed: 'phone_country_not_allowed',
  numberCooldown: 'number_cooldown',
  numberLimit: 'number_rate_limited',
  ipLimit: 'ip_rate_limited',
  unknownClientLimit: 'unknown_client_rate_limited',
  countryLimit: 'country_rate_limited',
  conversionBlocked: 'conversion_blocked',
  proofOfWorkRequired: 'proof_of_work_required',
  prefixLimit: 'prefix_rate_limited',
  globalLimit: 'global_rate_limited',
  guardUnavailable: 'guard_unavailable',
} as const;

export type GuardReason = (typeof GUARD_REASONS)[keyof typeof GUARD_REASONS];
export type PhonePolicyReason =
  | typeof GUARD_REASONS.phoneNumberInvalid
  | typeof GUARD_REASONS.numberTypeBlocked
  | typeof GUARD_REASONS.countryNotAllowed;
export type VelocityReason =
  | typeof GUARD_REASONS.numberCooldown
  | typeof GUARD_REASONS.numberLimit
  | typeof GUARD_REASONS.ipLimit
  | typeof GUARD_REASONS.unknownClientLimit
  | typeof GUARD_REASONS.prefixLimit
  | typeof GUARD_REASONS.countryLimit
  | typeof GUARD_REASONS.globalLimit;

/** 400: the number cannot be parsed or is not valid for its region. */
export class PhoneNumberInvalidError extends ValidationError {
  readonly reason = GUARD_REASONS.phoneNumberInvalid;

  constructor(field = 'phoneNumber') {
    super({ field, message: 'must be a valid phone number in E.164 form (+ and country code)' });
  }

  override extensions(): Record<string, unknown> {
    return { ...super.extensions(), reason: this.reason };
  }
}

/** 403: a valid number that policy refuses (its type or its country). */
export class PhonePolicyError extends ForbiddenError {
  constructor(
    readonly reason:
      typeof GUARD_REASONS.numberTypeBlocked | typeof GUARD_REASONS.countryNotAllowed,
  ) {
    super(
      reason === GUARD_REASONS.numberTypeBlocked
        ? 'Verification codes are not sent to this type of phone number.'
        : 'Verification codes are not sent to phone numbers of this country.',
    );
  }

  override extensions(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

/** 429 with `Retry-After`: a velocity limit fired; nothing was sent or counted. */
export class VelocityLimitError extends RateLimitedError {
  constructor(
    readonly reason: VelocityReason,
    readonly retryAfterSeconds: number,
  ) {
    super('Too many verification codes were requested; try again later.', retryAfterSeconds);
  }

  override extensions(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

/** 503: the limit store cannot be reached and the fail mode is `closed`; nothing was sent. */
export class GuardUnavailableError extends UpstreamUnavailableError {
  readonly reason = GUARD_REASONS.guardUnavailable;

  constructor(options: { readonly cause?: unknown } = {}) {
    super('velocity-store', 'Verification is temporarily unavailable; try again later.', options);
  }

  override extensions(): Record<string, unknown> {
    return { ...super.extensions(), reason: this.reason };
  }
}
