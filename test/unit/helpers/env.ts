import { SETTING_KEYS } from '../../../src/composition';
import type { Env } from '../../../src/config';
import { ConfigError } from '../../../src/errors';

export const TEST_SECRET = 'unit-test-verification-secret-0123456789';

/** The velocity limits as the docs state them, written out so that a changed default fails the tests. */
export const DOCUMENTED_VELOCITY_DEFAULTS = {
  perNumberPerHour: 5,
  numberCooldownSeconds: 30,
  perIpPerHour: 20,
  perPrefixPerHour: 10,
  globalPerHour: 1000,
  failMode: 'closed',
  tableName: 'VerificationLimits',
} as const;

/** A complete, valid set of settings (the dev values of local.settings.sample.json). */
export function validEnv(overrides: Record<string, string | undefined> = {}): Env {
  return {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    FUNCTIONS_WORKER_RUNTIME: 'node',
    TwilioAccountSid: `AC${'a'.repeat(32)}`,
    TwilioAuthToken: 'local-emulator-auth-token',
    TwilioPhoneNumber: '+15005550006',
    COMMUNICATION_SERVICES_CONNECTION_STRING:
      'endpoint=http://127.0.0.1:7001/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0',
    VERIFICATION_CODE_SECRET: TEST_SECRET,
    ...overrides,
  };
}

/** Sets exactly the app's settings in process.env to `env`; returns the restore function. */
export function useEnv(env: Env): () => void {
  const keys = SETTING_KEYS;
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  const apply = (values: Env): void => {
    for (const key of keys) {
      const value = values[key];
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(env);
  return () => apply(saved);
}

/** The ConfigError `load` throws; the test fails when it throws nothing or something else. */
export function configError(load: () => unknown): ConfigError {
  let error: unknown;
  try {
    load();
  } catch (e: unknown) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}
