import { loadFraudGuardSettings } from '../../src/verification/guard/settings';
import { loadVerificationConfig } from '../../src/verification/settings';
import { configError, TEST_SECRET } from './helpers/env';

/** The guard's settings are part of the verification section, loaded with it. */
const loadGuardSettings = (env: Record<string, string>) =>
  loadVerificationConfig({ VERIFICATION_CODE_SECRET: TEST_SECRET, ...env });

describe('the fraud guard settings', () => {
  it('composes the phone policy, client IP and velocity sections with their defaults', () => {
    const settings = loadGuardSettings({});
    expect(settings.phonePolicy.allowedCountries).toBeUndefined();
    expect(settings.clientIp).toEqual({ header: 'x-forwarded-for', trustedProxyHops: 1 });
    expect(settings.velocity.perNumberPerHour).toBe(5);
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('reports the problems of every section in one ConfigError, keys only', () => {
    const error = configError(() =>
      loadGuardSettings({
        VERIFICATION_ALLOWED_COUNTRIES: 'Narnia',
        VERIFICATION_TRUSTED_PROXY_HOPS: 'many',
        VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR: '-7',
      }),
    );
    expect(error.problems.map((p) => p.field)).toEqual([
      'VERIFICATION_ALLOWED_COUNTRIES',
      'VERIFICATION_TRUSTED_PROXY_HOPS',
      'VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR',
    ]);
    expect(error.message).not.toMatch(/Narnia|many|-7/);
  });
});

describe('loadFraudGuardSettings', () => {
  it('has an embedded default for every setting', () => {
    const settings = loadFraudGuardSettings({});
    expect(settings.budgets).toEqual({
      numberWindowSeconds: 600,
      perCountryPerHour: 250,
      unknownClientPerHour: 20,
      verifiedNumberDays: 30,
    });
    expect(settings.conversion).toMatchObject({
      mode: 'on',
      windowHours: 24,
      prefixDigits: 6,
      prefixMinSends: 20,
      countryMinSends: 100,
      minConversionPercent: 20,
      blockHours: 12,
      safeList: [],
    });
    expect(settings.proofOfWork).toEqual({ enabled: false, cost: 50_000, expirySeconds: 300 });
    expect(settings.numberPolicy.allowNonGeographic).toBe(false);
    expect(Object.isFrozen(settings.conversion)).toBe(true);
  });

  it('reads every key and names each bad one, never its value', () => {
    const settings = loadFraudGuardSettings({
      VERIFICATION_FRAUD_GUARD_MODE: 'DRY-RUN',
      VERIFICATION_FRAUD_GUARD_SAFE_LIST: '+14255550100, +4477',
      VERIFICATION_BLOCKED_COUNTRIES: 'ru,by',
    });
    expect(settings.conversion.mode).toBe('dry-run');
    expect(settings.conversion.safeList).toEqual(['+14255550100', '+4477']);
    expect([...settings.numberPolicy.blockedCountries]).toEqual(['RU', 'BY']);
    const error = configError(() =>
      loadFraudGuardSettings({
        VERIFICATION_FRAUD_GUARD_MODE: 'maybe',
        VERIFICATION_FRAUD_GUARD_SAFE_LIST: '14255550100',
        VERIFICATION_PROOF_OF_WORK: 'yes',
        VERIFICATION_LIMIT_NUMBER_WINDOW_SECONDS: '5',
      }),
    );
    expect(error.problems.map((p) => p.field).sort()).toEqual([
      'VERIFICATION_FRAUD_GUARD_MODE',
      'VERIFICATION_FRAUD_GUARD_SAFE_LIST',
      'VERIFICATION_LIMIT_NUMBER_WINDOW_SECONDS',
      'VERIFICATION_PROOF_OF_WORK',
    ]);
    expect(error.message).not.toMatch(/maybe|14255550100|yes/);
  });
});
