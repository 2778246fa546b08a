import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

import type { NumberPolicyExtras, PhonePolicySettings, PolicyNumberType } from './settings';

import { GUARD_REASONS, PhoneNumberInvalidError, PhonePolicyError } from './errors';

/** A number the policy accepts, in the one form the rest of the app uses. */
export interface AcceptedPhoneNumber {
  /** Normalised E.164, e.g. `+14255550100`. */
  readonly e164: string;
  /** ISO 3166-1 alpha-2; undefined for non-geographic numbers (`+800`, `+882`, …). */
  readonly country: CountryCode | undefined;
  readonly type: PolicyNumberType;
}

/** `+` then digits, with the spaces, dots, dashes and brackets people type; nothing else. */
const INPUT_PATTERN = /^\+[\d\s().-]{7,30}$/;

/**
 * The policy: the types and allowed countries of `src/config.ts`, and (issue 22) the refused
 * high-risk countries and non-geographic networks. Without the extras, those are not refused.
 */
export type NumberPolicy = PhonePolicySettings & Partial<NumberPolicyExtras>;

/**
 * Checks a caller's phone number in the order: valid for its region (else 400), type
 * allowed and, unless allowed, not a non-geographic network such as a satellite one (else 403
 * `phone_number_type_blocked`), country allowed and not refused as high-risk (else 403
 * `phone_country_not_allowed`). Returns the normalised number; throws the refusal otherwise.
 */
export function checkPhoneNumber(
  input: unknown,
  settings: NumberPolicy,
  field = 'phoneNumber',
): AcceptedPhoneNumber {
  if (typeof input !== 'string') throw new PhoneNumberInvalidError(field);
  const trimmed = input.trim();
  if (!INPUT_PATTERN.test(trimmed)) throw new PhoneNumberInvalidError(field);
  const parsed = parsePhoneNumberFromString(trimmed);
  if (parsed === undefined || !parsed.isValid()) throw new PhoneNumberInvalidError(field);
  // With the `/max` metadata a valid number always has a type (isValid() asks getType()), so
  // UNKNOWN is defence in depth against a metadata change, not a case that occurs today.
  const type: PolicyNumberType = parsed.getType() ?? 'UNKNOWN';
  const country = parsed.country;
  // `+870` (Inmarsat), `+881` (satellite), `+882`/`+883` (international networks) have no country.
  const nonGeographicRefused = country === undefined && settings.allowNonGeographic === false;
  if (settings.blockedNumberTypes.has(type) || nonGeographicRefused) {
    throw new PhonePolicyError(GUARD_REASONS.numberTypeBlocked);
  }
  if (country !== undefined && settings.blockedCountries?.has(country) === true) {
    throw new PhonePolicyError(GUARD_REASONS.countryNotAllowed);
  }
  if (
    settings.allowedCountries !== undefined &&
    (country === undefined || !settings.allowedCountries.has(country))
  ) {
    throw new PhonePolicyError(GUARD_REASONS.countryNotAllowed);
  }
  return { e164: parsed.number, country, type };
}
