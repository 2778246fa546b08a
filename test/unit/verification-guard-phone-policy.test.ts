import { ForbiddenError, ValidationError } from '../../src/errors';
import { appErrorResponse } from '../../src/http/problem';
import { checkPhoneNumber } from '../../src/verification/guard/phone-policy';
import {
  DEFAULT_BLOCKED_COUNTRIES,
  GUARD_DEFAULTS,
  loadFraudGuardSettings,
  loadPhonePolicySettings,
  type PhonePolicySettings,
} from '../../src/verification/guard/settings';
import { configError } from './helpers/env';

const DEFAULT_BLOCKED_NUMBER_TYPES = GUARD_DEFAULTS.blockedNumberTypes;

const DEFAULTS = loadPhonePolicySettings({});

function reasonOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error: unknown) {
    return (error as { reason?: unknown }).reason;
  }
  return 'accepted';
}

describe('checkPhoneNumber under the default policy', () => {
  it.each([
    ['+14255550100', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['+14252000000', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['+14259999999', 'US', 'FIXED_LINE_OR_MOBILE'],
    ['+447400123456', 'GB', 'MOBILE'],
    ['+33612345678', 'FR', 'MOBILE'],
    ['+82101234567', 'KR', 'MOBILE'],
    ['+81312345678', 'JP', 'FIXED_LINE'],
  ])('accepts %s (%s, %s)', (input, country, type) => {
    expect(checkPhoneNumber(input, DEFAULTS)).toEqual({ e164: input, country, type });
  });

  it('accepts every +1425 number the load driver uses (NXX 200-999)', () => {
    for (let nxx = 200; nxx <= 999; nxx += 1) {
      for (const line of ['0000', '5555', '9999']) {
        const input = `+1425${nxx}${line}`;
        expect(checkPhoneNumber(input, DEFAULTS).e164).toBe(input);
      }
    }
  });

  it('normalises the punctuation people type to E.164', () => {
    expect(checkPhoneNumber(' +1 (425) 555-0100 ', DEFAULTS).e164).toBe('+14255550100');
    expect(checkPhoneNumber('+33 6 12 34 56 78', DEFAULTS).e164).toBe('+33612345678');
  });

  it.each([
    ['+19005551234', 'PREMIUM_RATE'],
    ['+448451234567', 'PREMIUM_RATE'],
    ['+611300123456', 'SHARED_COST'],
    ['+18005551234', 'TOLL_FREE'],
    ['+80012345678', 'TOLL_FREE'],
    ['+447640123456', 'PAGER'],
    ['+3546890365', 'VOICEMAIL'],
    ['+445512345678', 'UAN'],
    ['+445612345678', 'VOIP'],
    ['+447012345678', 'PERSONAL_NUMBER'],
  ])('refuses %s (%s) with 403 phone_number_type_blocked', (input) => {
    const error = catchError(() => checkPhoneNumber(input, DEFAULTS));
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error).toMatchObject({ status: 403, reason: 'phone_number_type_blocked' });
  });

  it.each([
    ['not a string', 14255550100],
    ['no plus', '14255550100'],
    ['letters', '+1425555O100'],
    ['an extension', '+14255550100 x12'],
    ['too short', '+1425'],
    ['too long', `+1${'2'.repeat(40)}`],
    ['an unassigned US area code', '+11235550100'],
    ['a tel: URI', 'tel:+14255550100'],
    ['text around a number', 'call +14255550100'],
  ])('refuses %s with 400 phone_number_invalid', (_, input) => {
    const error = catchError(() => checkPhoneNumber(input, DEFAULTS));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 400, reason: 'phone_number_invalid' });
  });

  it('answers a problem document with the stable reason and no number in it', () => {
    const response = appErrorResponse(
      catchError(() => checkPhoneNumber('+19005551234', DEFAULTS)) as ForbiddenError,
    );
    expect(response.status).toBe(403);
    expect(response.jsonBody).toMatchObject({
      code: 'forbidden',
      reason: 'phone_number_type_blocked',
    });
    expect(JSON.stringify(response.jsonBody)).not.toContain('9005551234');
    const invalid = appErrorResponse(
      catchError(() => checkPhoneNumber('+1', DEFAULTS)) as ValidationError,
    );
    expect(invalid.jsonBody).toMatchObject({
      code: 'validation_failed',
      reason: 'phone_number_invalid',
      errors: [{ field: 'phoneNumber' }],
    });
  });
});

describe('checkPhoneNumber with configured countries and types', () => {
  const onlyUsAndFrance = loadPhonePolicySettings({ VERIFICATION_ALLOWED_COUNTRIES: 'us, FR' });

  it('lets allowed countries through and refuses others with 403 phone_country_not_allowed', () => {
    expect(checkPhoneNumber('+14255550100', onlyUsAndFrance).country).toBe('US');
    expect(checkPhoneNumber('+33612345678', onlyUsAndFrance).country).toBe('FR');
    expect(reasonOf(() => checkPhoneNumber('+447400123456', onlyUsAndFrance))).toBe(
      'phone_country_not_allowed',
    );
  });

  it('checks validity, then type, then country, in that order', () => {
    // A blocked type in a refused country reports the type; an invalid number reports validity.
    expect(reasonOf(() => checkPhoneNumber('+448451234567', onlyUsAndFrance))).toBe(
      'phone_number_type_blocked',
    );
    expect(reasonOf(() => checkPhoneNumber('+4400', onlyUsAndFrance))).toBe('phone_number_invalid');
  });

  it('refuses non-geographic numbers when a country list is set', () => {
    const anyType: PhonePolicySettings = { ...onlyUsAndFrance, blockedNumberTypes: new Set() };
    expect(reasonOf(() => checkPhoneNumber('+80012345678', anyType))).toBe(
      'phone_country_not_allowed',
    );
  });

  it('blocks exactly the configured types, and "none" blocks nothing', () => {
    const mobileOnly = loadPhonePolicySettings({
      VERIFICATION_BLOCKED_NUMBER_TYPES: 'fixed_line,fixed_line_or_mobile,voip',
    });
    expect(reasonOf(() => checkPhoneNumber('+14255550100', mobileOnly))).toBe(
      'phone_number_type_blocked',
    );
    expect(checkPhoneNumber('+18005551234', mobileOnly).type).toBe('TOLL_FREE');
    const none = loadPhonePolicySettings({ VERIFICATION_BLOCKED_NUMBER_TYPES: 'none' });
    expect(checkPhoneNumber('+19005551234', none).type).toBe('PREMIUM_RATE');
  });
});

describe('checkPhoneNumber with the issue-22 defaults (loadFraudGuardSettings)', () => {
  const policy = { ...DEFAULTS, ...loadFraudGuardSettings({}).numberPolicy };

  it.each([
    ['+881612345678', 'satellite (Iridium +8816)'],
    ['+870772345678', 'Inmarsat'],
    ['+88213700000', 'international network (+882)'],
  ])('refuses %s (%s) with 403 phone_number_type_blocked', (input) => {
    expect(reasonOf(() => checkPhoneNumber(input, policy))).toBe('phone_number_type_blocked');
    // Only because of the extras: the older policy alone lets them through.
    expect(
      reasonOf(() => checkPhoneNumber(input, { ...DEFAULTS, blockedNumberTypes: new Set() })),
    ).toBe('accepted');
  });

  it('refuses the default high-risk countries with 403 phone_country_not_allowed', () => {
    expect(DEFAULT_BLOCKED_COUNTRIES).toContain('UZ');
    expect(reasonOf(() => checkPhoneNumber('+998901234567', policy))).toBe(
      'phone_country_not_allowed',
    );
    expect(reasonOf(() => checkPhoneNumber('+994501234567', policy))).toBe(
      'phone_country_not_allowed',
    );
    expect(checkPhoneNumber('+447400123456', policy).country).toBe('GB');
  });

  it('lets an operator allow them again: VERIFICATION_BLOCKED_COUNTRIES=none, VERIFICATION_ALLOW_NON_GEOGRAPHIC=true', () => {
    const open = {
      ...loadPhonePolicySettings({ VERIFICATION_BLOCKED_NUMBER_TYPES: 'none' }),
      ...loadFraudGuardSettings({
        VERIFICATION_BLOCKED_COUNTRIES: 'none',
        VERIFICATION_ALLOW_NON_GEOGRAPHIC: 'true',
      }).numberPolicy,
    };
    expect(checkPhoneNumber('+998901234567', open).country).toBe('UZ');
    expect(checkPhoneNumber('+881612345678', open).country).toBeUndefined();
  });
});

describe('loadPhonePolicySettings', () => {
  it('defaults to the nine blocked types (VoIP and personal numbers included) and every country', () => {
    expect(DEFAULTS.blockedNumberTypes.has('VOIP')).toBe(true);
    expect(DEFAULTS.blockedNumberTypes.has('PERSONAL_NUMBER')).toBe(true);
    expect([...DEFAULTS.blockedNumberTypes].sort()).toEqual(
      [...DEFAULT_BLOCKED_NUMBER_TYPES].sort(),
    );
    expect(DEFAULTS.blockedNumberTypes.has('UNKNOWN')).toBe(true);
    expect(DEFAULTS.allowedCountries).toBeUndefined();
    expect(
      loadPhonePolicySettings({ VERIFICATION_ALLOWED_COUNTRIES: ' , ' }).allowedCountries,
    ).toBeUndefined();
  });

  it('reports every bad setting at once, naming keys and never values', () => {
    const { problems } = configError(() =>
      loadPhonePolicySettings({
        VERIFICATION_BLOCKED_NUMBER_TYPES: 'PREMIUM_RATE,SATELLITE',
        VERIFICATION_ALLOWED_COUNTRIES: 'US,XX',
      }),
    );
    expect(problems.map((p) => p.field)).toEqual([
      'VERIFICATION_BLOCKED_NUMBER_TYPES',
      'VERIFICATION_ALLOWED_COUNTRIES',
    ]);
    expect(JSON.stringify(problems)).not.toContain('SATELLITE');
    expect(JSON.stringify(problems)).not.toContain('XX');
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected a throw');
}
