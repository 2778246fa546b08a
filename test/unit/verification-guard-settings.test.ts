import { ConfigError } from '../../src/errors';
import { loadVerificationConfig } from '../../src/verification/settings';
import { TEST_SECRET } from './helpers/env';

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
    let error: unknown;
    try {
      loadGuardSettings({
        VERIFICATION_ALLOWED_COUNTRIES: 'Narnia',
        VERIFICATION_TRUSTED_PROXY_HOPS: 'many',
        VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR: '-7',
      });
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.field)).toEqual([
      'VERIFICATION_ALLOWED_COUNTRIES',
      'VERIFICATION_TRUSTED_PROXY_HOPS',
      'VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR',
    ]);
    expect((error as ConfigError).message).not.toMatch(/Narnia|many|-7/);
  });
});
