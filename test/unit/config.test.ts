import { DELIVERY_KEYS } from '../../src/delivery/settings';
import { loadAcsConfig, ACS_KEYS } from '../../src/acs/settings';
import { SECTION_LOADERS, SETTING_KEYS, loadSettings } from '../../src/composition';
import { loadHostConfig, type Env } from '../../src/config';
import { ME_DEFAULTS, loadIdentityMapConfig, loadSidecarConfig } from '../../src/me/settings';
import { STORAGE_KEYS } from '../../src/storage/settings';
import {
  TWILIO_KEYS,
  VERIFICATION_KEYS,
  WEBSITE_HOSTNAME_KEY,
  loadTwilioConfig,
  loadVerificationConfig,
} from '../../src/verification/settings';
import { ConfigError, isAppError } from '../../src/errors';
import { isLoopbackHost } from '../../src/loopback';
import { DOCUMENTED_VELOCITY_DEFAULTS, validEnv } from './helpers/env';

function configError(
  env: Record<string, string | undefined>,
  load: (env: Env) => unknown = loadSettings,
): ConfigError {
  try {
    load(env);
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const fields = (error: ConfigError): string[] => error.problems.map((p) => p.field);

describe('loadSettings', () => {
  it('applies the documented defaults to a minimal valid environment', () => {
    const config = loadSettings(validEnv());
    expect(config.verification).toMatchObject({
      timeoutSeconds: 90,
      maxAttempts: 4,
      codeLength: 6,
      messageTemplate: 'Your verification code is {code}',
      codeSecret: 'unit-test-verification-secret-0123456789',
      retentionHours: 24,
      velocity: DOCUMENTED_VELOCITY_DEFAULTS,
      clientIp: { header: 'x-forwarded-for', trustedProxyHops: 1 },
    });
    expect(config.verification.links.publicOrigin.origin).toBe('http://localhost:7071');
    expect(config.sidecar.url.href).toBe('http://localhost:5000/');
    expect(config.sidecar).toMatchObject({
      allowNonLoopback: false,
      timeoutMs: 10_000,
      graphApiName: 'graph',
    });
    expect(config.identityMap.tableName).toBe(ME_DEFAULTS.identityTableName);
    expect(config.acs.teamsClientId).toBeUndefined();
    expect(config.twilio.apiBaseUrl).toBeUndefined();
    expect(config.acs.access).toMatchObject({ kind: 'connectionString' });
    expect(config.acs.access.endpoint.href).toBe('http://127.0.0.1:7001/');
  });

  it('lets environment variables override every tunable', () => {
    const config = loadSettings(
      validEnv({
        VERIFICATION_TIMEOUT_SECONDS: '30',
        VERIFICATION_MAX_ATTEMPTS: '2',
        VERIFICATION_CODE_LENGTH: '8',
        VERIFICATION_MESSAGE_TEMPLATE: 'Code: {code}',
        TwilioApiBaseUrl: 'http://127.0.0.1:4010',
        SIDECAR_URL: 'http://127.0.0.1:5178',
        SIDECAR_TIMEOUT_MS: '2500',
        SIDECAR_GRAPH_API_NAME: 'msgraph',
        ACS_TEAMS_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
        ACS_IDENTITY_TABLE_NAME: 'Identities2',
      }),
    );
    expect(config.verification).toMatchObject({
      timeoutSeconds: 30,
      maxAttempts: 2,
      codeLength: 8,
      messageTemplate: 'Code: {code}',
    });
    expect(config.twilio.apiBaseUrl?.origin).toBe('http://127.0.0.1:4010');
    expect(config.sidecar).toMatchObject({ timeoutMs: 2500, graphApiName: 'msgraph' });
    expect(config.acs.teamsClientId).toBe('00000000-0000-0000-0000-000000000001');
    expect(config.identityMap.tableName).toBe('Identities2');
  });

  it('reports every missing required setting in one error, treating blank as missing', () => {
    const error = configError({ TwilioAuthToken: '   ' });
    expect(fields(error).sort()).toEqual(
      [
        STORAGE_KEYS.connectionString,
        TWILIO_KEYS.accountSid,
        TWILIO_KEYS.authToken,
        TWILIO_KEYS.phoneNumber,
        ACS_KEYS.connectionString,
        VERIFICATION_KEYS.codeSecret,
      ].sort(),
    );
    // Never rendered as problem+json: it can only become a generic 500.
    expect(isAppError(error)).toBe(false);
  });

  it('reports invalid values by key and never includes a value in the message', () => {
    const secret = 'short-secret';
    const error = configError(
      validEnv({
        TwilioAccountSid: 'XY123',
        TwilioPhoneNumber: '5550100',
        VERIFICATION_CODE_LENGTH: '3',
        VERIFICATION_MAX_ATTEMPTS: 'four',
        VERIFICATION_TIMEOUT_SECONDS: '1.5',
        VERIFICATION_MESSAGE_TEMPLATE: 'no placeholder',
        VERIFICATION_CODE_SECRET: secret,
        SIDECAR_ALLOW_NON_LOOPBACK: 'maybe',
        ACS_TEAMS_CLIENT_ID: 'not-a-guid',
        ACS_IDENTITY_TABLE_NAME: '1bad',
        FUNCTIONS_WORKER_RUNTIME: 'dotnet',
      }),
    );
    expect(fields(error).sort()).toEqual(
      [
        'TwilioAccountSid',
        'TwilioPhoneNumber',
        'VERIFICATION_CODE_LENGTH',
        'VERIFICATION_MAX_ATTEMPTS',
        'VERIFICATION_TIMEOUT_SECONDS',
        'VERIFICATION_MESSAGE_TEMPLATE',
        'VERIFICATION_CODE_SECRET',
        'SIDECAR_ALLOW_NON_LOOPBACK',
        'ACS_TEAMS_CLIENT_ID',
        'ACS_IDENTITY_TABLE_NAME',
        'FUNCTIONS_WORKER_RUNTIME',
      ].sort(),
    );
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('XY123');
  });

  it('allows code lengths 4..10 only', () => {
    expect(loadSettings(validEnv({ VERIFICATION_CODE_LENGTH: '4' })).verification.codeLength).toBe(
      4,
    );
    expect(loadSettings(validEnv({ VERIFICATION_CODE_LENGTH: '10' })).verification.codeLength).toBe(
      10,
    );
    expect(fields(configError(validEnv({ VERIFICATION_CODE_LENGTH: '11' })))).toEqual([
      'VERIFICATION_CODE_LENGTH',
    ]);
  });

  it('uses managed identity when only the ACS endpoint is set, and requires https for it', () => {
    const env = validEnv({
      COMMUNICATION_SERVICES_CONNECTION_STRING: undefined,
      COMMUNICATION_SERVICES_ENDPOINT: 'https://contoso.communication.azure.com/',
    });
    expect(loadSettings(env).acs.access).toMatchObject({ kind: 'managedIdentity' });
    expect(
      fields(configError({ ...env, COMMUNICATION_SERVICES_ENDPOINT: 'http://contoso.example/' })),
    ).toEqual(['COMMUNICATION_SERVICES_ENDPOINT']);
  });

  it('rejects malformed connection strings and plain http to non-loopback ACS hosts', () => {
    for (const cs of [
      'accesskey=abc;endpoint=https://x/',
      'endpoint=https://x.example/acs;accesskey=abc',
      'endpoint=http://acs.example.com/;accesskey=abc',
    ]) {
      expect(
        fields(configError(validEnv({ COMMUNICATION_SERVICES_CONNECTION_STRING: cs }))),
      ).toEqual(['COMMUNICATION_SERVICES_CONNECTION_STRING']);
    }
    const error = configError(
      validEnv({
        COMMUNICATION_SERVICES_CONNECTION_STRING:
          'endpoint=http://acs.example.com/;accesskey=c2VjcmV0LWtleQ==',
      }),
    );
    expect(error.message).not.toContain('c2VjcmV0LWtleQ==');
  });

  it('keeps the sidecar on loopback unless explicitly allowed', () => {
    expect(fields(configError(validEnv({ SIDECAR_URL: 'http://sidecar:5000' })))).toEqual([
      'SIDECAR_URL',
    ]);
    const allowed = loadSettings(
      validEnv({ SIDECAR_URL: 'http://sidecar:5000', SIDECAR_ALLOW_NON_LOOPBACK: 'true' }),
    );
    expect(allowed.sidecar).toMatchObject({ allowNonLoopback: true });
    expect(fields(configError(validEnv({ SIDECAR_URL: 'ftp://localhost/' })))).toEqual([
      'SIDECAR_URL',
    ]);
  });

  it('returns a frozen object', () => {
    const config = loadSettings(validEnv());
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.verification)).toBe(true);
    expect(() => {
      (config.verification as { maxAttempts: number }).maxAttempts = 100;
    }).toThrow(TypeError);
  });

  it('recognises loopback hosts', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', 'example.com', 'localhost.example.com', '0.0.0.0'])
      expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('one validation per setting (review section 5)', () => {
  it('rejects a sidecar URL with a query or fragment at start-up, not on every request', () => {
    for (const url of ['http://localhost:5000/?x=1', 'http://localhost:5000/#top']) {
      expect(fields(configError({ SIDECAR_URL: url }, loadSidecarConfig))).toEqual(['SIDECAR_URL']);
    }
  });

  it.each([
    'http://localhost:5000',
    'http://127.0.0.1:5178',
    'http://[::1]:8080',
    'http://127.9.9.9',
  ])('accepts the loopback sidecar URL %s', (url) => {
    expect(() => loadSidecarConfig({ SIDECAR_URL: url })).not.toThrow();
  });

  it.each([
    'http://sidecar:5000',
    'http://10.0.0.4:5000',
    'http://localhost.evil.example:5000',
    'http://[::2]:5000',
  ])('refuses the non-loopback sidecar URL %s unless allowed', (url) => {
    expect(fields(configError({ SIDECAR_URL: url }, loadSidecarConfig))).toEqual(['SIDECAR_URL']);
    expect(() =>
      loadSidecarConfig({ SIDECAR_URL: url, SIDECAR_ALLOW_NON_LOOPBACK: 'true' }),
    ).not.toThrow();
  });

  it.each([
    'ftp://localhost',
    'http://user:pw@localhost:5000',
    'not a url',
    'http://localhost/?a=1',
  ])('refuses the malformed sidecar URL %s even when non-loopback is allowed', (url) => {
    const env = { SIDECAR_URL: url, SIDECAR_ALLOW_NON_LOOPBACK: 'true' };
    expect(fields(configError(env, loadSidecarConfig))).toEqual(['SIDECAR_URL']);
  });

  it('gives the sidecar URL the trailing slash its routes resolve below', () => {
    expect(loadSidecarConfig({ SIDECAR_URL: 'http://localhost:5000/sidecar' }).url.href).toBe(
      'http://localhost:5000/sidecar/',
    );
  });

  it('accepts every loopback form the one loopback rule knows', () => {
    for (const url of ['http://sidecar.localhost:5000', 'http://[::ffff:127.0.0.1]:5000']) {
      expect(loadSidecarConfig({ SIDECAR_URL: url }).url.port).toBe('5000');
    }
  });

  it('validates SIDECAR_GRAPH_API_NAME instead of blaming the caller later', () => {
    for (const name of ['graph/me', 'a b', 'x'.repeat(65)]) {
      expect(fields(configError({ SIDECAR_GRAPH_API_NAME: name }, loadSidecarConfig))).toEqual([
        'SIDECAR_GRAPH_API_NAME',
      ]);
    }
    expect(loadSidecarConfig({ SIDECAR_GRAPH_API_NAME: 'ms-graph.v1' }).graphApiName).toBe(
      'ms-graph.v1',
    );
  });
});

describe('isLoopbackHost', () => {
  it.each(['localhost', 'sidecar.localhost', '127.9.9.9', '[::1]', '[::ffff:127.0.0.1]'])(
    'counts %s as loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
      expect(isLoopbackHost(new URL(`http://${host}:1/`).hostname)).toBe(true);
    },
  );

  it.each(['127.0.0.1.nip.io', '127.attacker.example', '[::ffff:10.0.0.1]', '128.0.0.1', '[::2]'])(
    'does not count %s as loopback',
    (host) => {
      expect(isLoopbackHost(new URL(`http://${host}:1/`).hostname)).toBe(false);
    },
  );
});

describe('section loaders', () => {
  const SECTIONS = SECTION_LOADERS;

  it('each names only its own missing settings', () => {
    expect(fields(configError({}, loadTwilioConfig)).sort()).toEqual(
      [TWILIO_KEYS.accountSid, TWILIO_KEYS.authToken, TWILIO_KEYS.phoneNumber].sort(),
    );
    expect(fields(configError({}, loadVerificationConfig))).toEqual([VERIFICATION_KEYS.codeSecret]);
    expect(fields(configError({}, loadAcsConfig))).toEqual([ACS_KEYS.connectionString]);
    expect(fields(configError({}, loadIdentityMapConfig))).toEqual([STORAGE_KEYS.connectionString]);
    // Everything in these two has a default.
    expect(loadSidecarConfig({}).url.href).toBe('http://localhost:5000/');
    expect(loadHostConfig({})).toEqual({ workerRuntime: undefined });
  });

  it('each reads only its own settings', () => {
    const acs = loadAcsConfig({
      COMMUNICATION_SERVICES_CONNECTION_STRING: validEnv().COMMUNICATION_SERVICES_CONNECTION_STRING,
      ACS_TEAMS_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
    });
    expect(acs.access).toMatchObject({ kind: 'connectionString' });
    expect(acs.teamsClientId).toBe('00000000-0000-0000-0000-000000000001');
    expect(Object.isFrozen(acs)).toBe(true);
    expect(Object.isFrozen(acs.access)).toBe(true);

    const twilio = loadTwilioConfig({
      TwilioAccountSid: `AC${'b'.repeat(32)}`,
      TwilioAuthToken: 'token',
      TwilioPhoneNumber: '+15005550006',
    });
    expect(twilio).toMatchObject({ accountSid: `AC${'b'.repeat(32)}`, apiBaseUrl: undefined });
    expect(loadVerificationConfig({ VERIFICATION_CODE_SECRET: 'x'.repeat(16) }).codeLength).toBe(6);
    expect(loadIdentityMapConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' })).toEqual({
      storage: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
      tableName: ME_DEFAULTS.identityTableName,
    });
  });

  it('each reports its own invalid values, ignoring the rest of a broken environment', () => {
    const env = validEnv({
      TwilioAccountSid: 'XY123',
      VERIFICATION_CODE_LENGTH: '3',
      ACS_TEAMS_CLIENT_ID: 'not-a-guid',
      SIDECAR_URL: 'http://sidecar:5000',
      ACS_IDENTITY_TABLE_NAME: '1bad',
      FUNCTIONS_WORKER_RUNTIME: 'dotnet',
      DELIVERY_PROVIDER_TIMEOUT_MS: '1',
    });
    const perSection = Object.fromEntries(
      Object.entries(SECTIONS).map(([name, load]) => [name, fields(configError(env, load))]),
    );
    expect(perSection).toEqual({
      twilio: ['TwilioAccountSid'],
      delivery: ['DELIVERY_PROVIDER_TIMEOUT_MS'],
      verification: ['VERIFICATION_CODE_LENGTH'],
      acs: ['ACS_TEAMS_CLIENT_ID'],
      sidecar: ['SIDECAR_URL'],
      identityMap: ['ACS_IDENTITY_TABLE_NAME'],
      host: ['FUNCTIONS_WORKER_RUNTIME'],
    });
    // loadSettings is built from the sections: exactly their problems, all in one error.
    expect(fields(configError(env)).sort()).toEqual(Object.values(perSection).flat().sort());
  });

  it('report an unusable ACS access and a bad Teams client id together', () => {
    expect(
      fields(
        configError(
          { COMMUNICATION_SERVICES_ENDPOINT: 'http://x.example/', ACS_TEAMS_CLIENT_ID: 'nope' },
          loadAcsConfig,
        ),
      ).sort(),
    ).toEqual([ACS_KEYS.endpoint, ACS_KEYS.teamsClientId].sort());
  });
});

describe('local.settings.sample.json', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sample = require('../../local.settings.sample.json') as { Values: Record<string, string> };

  it('lists every setting the app reads, except those the platform sets', () => {
    const platformSet: string[] = [WEBSITE_HOSTNAME_KEY, DELIVERY_KEYS.azureInstance];
    expect(Object.keys(sample.Values).sort()).toEqual(
      SETTING_KEYS.filter((key) => !platformSet.includes(key)).sort(),
    );
  });

  it('is a valid configuration as it stands', () => {
    expect(() => loadSettings(sample.Values)).not.toThrow();
  });
});
