import {
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
  type PhoneNumberType,
} from 'libphonenumber-js/max';

import { GUARD_REASONS, PhoneNumberInvalidError, PhonePolicyError } from './errors';
import { GUARD_ENV_KEYS, loadGuardSection, type Env } from './env';

/** libphonenumber-js's number types, plus `UNKNOWN` for a valid number whose type it cannot tell. */
export type PolicyNumberType = PhoneNumberType | 'UNKNOWN';

export const POLICY_NUMBER_TYPES: readonly PolicyNumberType[] = [
  'FIXED_LINE',
  'MOBILE',
  'FIXED_LINE_OR_MOBILE',
  'VOIP',
  'PERSONAL_NUMBER',
  'PREMIUM_RATE',
  'SHARED_COST',
  'TOLL_FREE',
  'PAGER',
  'VOICEMAIL',
  'UAN',
  'UNKNOWN',
];

/**
 * Refused by default: numbers that bill the sender (premium-rate, shared-cost, UAN), that no person
 * reads a code on (pager, voicemail, toll-free lines of businesses), and those nobody can classify.
 * These are the ranges SMS-pumping schemes rent.
 */
export const DEFAULT_BLOCKED_NUMBER_TYPES: readonly PolicyNumberType[] = [
  'PREMIUM_RATE',
  'SHARED_COST',
  'TOLL_FREE',
  'PAGER',
  'VOICEMAIL',
  'UAN',
  'UNKNOWN',
];

/** `VERIFICATION_BLOCKED_NUMBER_TYPES=none` blocks no type (an unset value keeps the default). */
const BLOCK_NOTHING = 'NONE';

export interface PhonePolicySettings {
  readonly blockedNumberTypes: ReadonlySet<PolicyNumberType>;
  /** Undefined allows every country. */
  readonly allowedCountries: ReadonlySet<CountryCode> | undefined;
}

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
 * Checks a caller's phone number in the order: valid for its region (else 400), type
 * allowed (else 403 `phone_number_type_blocked`), country allowed (else 403
 * `phone_country_not_allowed`). Returns the normalised number; throws the refusal otherwise.
 */
export function checkPhoneNumber(
  input: unknown,
  settings: PhonePolicySettings,
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
  if (settings.blockedNumberTypes.has(type)) {
    throw new PhonePolicyError(GUARD_REASONS.numberTypeBlocked);
  }
  const country = parsed.country;
  if (
    settings.allowedCountries !== undefined &&
    (country === undefined || !settings.allowedCountries.has(country))
  ) {
    throw new PhonePolicyError(GUARD_REASONS.countryNotAllowed);
  }
  return { e164: parsed.number, country, type };
}

/** `VERIFICATION_BLOCKED_NUMBER_TYPES` and `VERIFICATION_ALLOWED_COUNTRIES`. */
export function loadPhonePolicySettings(env: Env): PhonePolicySettings {
  return loadGuardSection(env, (reader) => {
    const typesKey = GUARD_ENV_KEYS.blockedNumberTypes;
    const rawTypes = reader.list(typesKey)?.map((item) => item.toUpperCase());
    let blocked: readonly PolicyNumberType[] = DEFAULT_BLOCKED_NUMBER_TYPES;
    if (rawTypes !== undefined && !(rawTypes.length === 1 && rawTypes[0] === BLOCK_NOTHING)) {
      const unknown = rawTypes.filter((item) => !isPolicyNumberType(item));
      if (unknown.length > 0) {
        reader.report(
          typesKey,
          `must be "none" or a comma-separated list of ${POLICY_NUMBER_TYPES.join(', ')}`,
        );
      }
      blocked = rawTypes.filter(isPolicyNumberType);
    } else if (rawTypes !== undefined) {
      blocked = [];
    }

    const countriesKey = GUARD_ENV_KEYS.allowedCountries;
    const rawCountries = reader.list(countriesKey)?.map((item) => item.toUpperCase());
    if (rawCountries?.some((item) => !isSupportedCountry(item))) {
      reader.report(countriesKey, 'must be a comma-separated list of ISO 3166-1 alpha-2 codes');
    }
    const countries = rawCountries?.filter((item): item is CountryCode => isSupportedCountry(item));
    return {
      blockedNumberTypes: new Set(blocked),
      allowedCountries:
        countries === undefined || countries.length === 0 ? undefined : new Set(countries),
    };
  });
}

function isPolicyNumberType(value: string): value is PolicyNumberType {
  return (POLICY_NUMBER_TYPES as readonly string[]).includes(value);
}
