import {
  describeStartup,
  getAcsConfig,
  getAcsIdentityService,
  getIdentityMapConfig,
  getSidecarClient,
  getSidecarConfig,
  getSmsSender,
  getTwilioConfig,
  getVerificationConfig,
  resetComposition,
  getMeServices,
} from '../../src/composition';
import { ConfigError } from '../../src/errors';
import { sharedSidecarDispatcher } from '../../src/me/sidecar/transport';
import type { VerificationCrypto } from '../../src/verification/crypto';
import { hashCode } from '../../src/verification/crypto/code-hash';
import { verificationCrypto } from '../../src/verification/register';
import { TEST_SECRET, useEnv, validEnv } from './helpers/env';

/** What the registered verification functions get, built from the settings on first use. */
const sealVerificationAnswer = (instanceId: string, code: string, receivedAt: Date) =>
  verificationCrypto().sealAnswer(instanceId, code, receivedAt);
const judgeVerificationAnswer: VerificationCrypto['judgeAnswer'] = (...args) =>
  verificationCrypto().judgeAnswer(...args);
const verificationLinks = (instanceId: string) =>
  verificationCrypto().links(instanceId, getVerificationConfig().links);
const verifyVerificationLink = (instanceId: string, purpose: 'status' | 'cancel', token: unknown) =>
  verificationCrypto().verifyLinkToken(instanceId, purpose, token);

/** The start-up report's misconfigured features in one line, or undefined when there are none. */
function describeStartupConfigProblem(): string | undefined {
  const { invalid } = describeStartup();
  return invalid.length === 0 ? undefined : invalid.join('; ');
}

const ACS_CONNECTION_STRING =
  'endpoint=http://127.0.0.1:7001/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0';

function configErrorOf(resolve: () => unknown): ConfigError {
  try {
    resolve();
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const fields = (error: ConfigError): string[] => error.problems.map((p) => p.field).sort();

describe('composition root', () => {
  let restore: () => void;
  afterEach(() => {
    restore();
    resetComposition();
  });

  it('builds dependencies lazily from the settings and memoises them', () => {
    restore = useEnv(validEnv());
    resetComposition();
    expect(describeStartupConfigProblem()).toBeUndefined();
    expect(getSmsSender()).toBe(getSmsSender());
    expect(getAcsIdentityService()).toBe(getAcsIdentityService());
    expect(getIdentityMapConfig()).toBe(getIdentityMapConfig());
    expect(getTwilioConfig()).toBe(getTwilioConfig());
    expect(getVerificationConfig()).toBe(getVerificationConfig());
    expect(getAcsConfig()).toBe(getAcsConfig());
    expect(getSidecarConfig()).toBe(getSidecarConfig());
    expect(getMeServices()).toBe(getMeServices());
  });

  it('reports bad settings by key only, and throws ConfigError on use instead of at import', () => {
    restore = useEnv(validEnv({ TwilioAuthToken: undefined, VERIFICATION_CODE_SECRET: 'tiny' }));
    resetComposition();
    const problem = describeStartupConfigProblem();
    expect(problem).toContain('TwilioAuthToken (required)');
    expect(problem).toContain('VERIFICATION_CODE_SECRET');
    expect(problem).not.toContain('tiny');
    expect(() => getSmsSender()).toThrow(ConfigError);
    expect(() => sealVerificationAnswer('instance', '123456', new Date())).toThrow(ConfigError);
    // Neither bad setting belongs to ACS, so its endpoints keep working.
    expect(getAcsIdentityService()).toBeDefined();
  });

  it('serves ACS with only the ACS setting, and names only Twilio keys for the SMS sender', () => {
    restore = useEnv({ COMMUNICATION_SERVICES_CONNECTION_STRING: ACS_CONNECTION_STRING });
    resetComposition();
    expect(getAcsIdentityService()).toBe(getAcsIdentityService());
    expect(getAcsConfig().teamsClientId).toBeUndefined();

    expect(fields(configErrorOf(getSmsSender))).toEqual(
      ['TwilioAccountSid', 'TwilioAuthToken', 'TwilioPhoneNumber'].sort(),
    );
    expect(
      fields(configErrorOf(() => sealVerificationAnswer('instance', '123456', new Date()))),
    ).toEqual(['VERIFICATION_CODE_SECRET']);
    expect(fields(configErrorOf(getVerificationConfig))).toEqual(['VERIFICATION_CODE_SECRET']);
    // The start-up report judges each feature on its own: the ones without settings are not deployed.
    expect(describeStartupConfigProblem()).toBeUndefined();
    expect(describeStartup().notDeployed).toEqual(['verification', 'me']);
  });

  it('keeps ACS, verification and /api/me working when a Twilio setting is invalid', () => {
    restore = useEnv(validEnv({ TwilioAccountSid: 'XY123', TwilioPhoneNumber: '5550100' }));
    resetComposition();
    const error = configErrorOf(getSmsSender);
    expect(fields(error)).toEqual(['TwilioAccountSid', 'TwilioPhoneNumber']);
    expect(error.message).not.toContain('XY123');

    expect(getAcsIdentityService()).toBeDefined();
    expect(getMeServices().graphApiName).toBe('graph');
    const expected = hashCode(TEST_SECRET, 'instance', '123456');
    const receivedAt = new Date('2026-11-22T10:00:00.000Z');
    const sealed = sealVerificationAnswer('instance', '123456', receivedAt);
    expect(judgeVerificationAnswer('instance', expected, sealed, 6)).toEqual({
      correct: true,
      receivedAt,
    });
    // A raw code (raised with a host key, not through a link) is no answer at all.
    expect(judgeVerificationAnswer('instance', expected, '123456', 6)).toBeUndefined();
    const status = verificationLinks('instance').statusQueryGetUri;
    const token = new URL(status).searchParams.get('token');
    expect(verifyVerificationLink('instance', 'status', token)).toBe(true);
    expect(verifyVerificationLink('instance', 'cancel', token)).toBe(false);
    expect(verifyVerificationLink('other', 'status', token)).toBe(false);
  });

  it('builds the /api/me services from the sidecar, identity-map and ACS settings only', () => {
    restore = useEnv({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      COMMUNICATION_SERVICES_CONNECTION_STRING: ACS_CONNECTION_STRING,
      ACS_TEAMS_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
    });
    resetComposition();
    const services = getMeServices();
    expect(services.teamsClientId).toBe('00000000-0000-0000-0000-000000000001');
    expect(services.acs).toBe(getAcsIdentityService());
    expect(() => getSmsSender()).toThrow(ConfigError);
  });

  it('names the bad keys of every section /api/me needs, and none of the others', () => {
    restore = useEnv({ SIDECAR_URL: 'http://sidecar.example:5000', TwilioAuthToken: undefined });
    resetComposition();
    expect(fields(configErrorOf(getMeServices))).toEqual(
      ['AzureWebJobsStorage', 'COMMUNICATION_SERVICES_CONNECTION_STRING', 'SIDECAR_URL'].sort(),
    );
  });

  it('builds one sidecar client from the validated settings, on the process-wide pool', () => {
    restore = useEnv(
      validEnv({ SIDECAR_URL: 'http://127.0.0.1:5178', SIDECAR_TIMEOUT_MS: '1234' }),
    );
    resetComposition();
    const client = getSidecarClient();
    expect(getSidecarClient()).toBe(client);
    expect(client.baseUrl.href).toBe('http://127.0.0.1:5178/');
    expect(client.timeoutMs).toBe(1234);
    expect(sharedSidecarDispatcher()).toBe(sharedSidecarDispatcher());
    expect(getMeServices().sidecar).toBe(client);
  });

  it('does not report a verification-only deployment as misconfigured', () => {
    const env = validEnv({ COMMUNICATION_SERVICES_CONNECTION_STRING: undefined });
    restore = useEnv(env);
    resetComposition();
    expect(describeStartupConfigProblem()).toBeUndefined();
    expect(describeStartup()).toEqual({ invalid: [], notDeployed: ['acs', 'me'] });
  });

  it('reports a verification deployment without storage, which the send guard needs on every start', () => {
    restore = useEnv(validEnv({ AzureWebJobsStorage: undefined }));
    resetComposition();
    expect(describeStartupConfigProblem()).toContain(
      'AzureWebJobsStorage (required by the send guard',
    );
    expect(describeStartup().invalid).toHaveLength(1);
  });

  it('reports a feature whose own settings are set but incomplete, naming only that feature', () => {
    restore = useEnv(
      validEnv({
        COMMUNICATION_SERVICES_CONNECTION_STRING: undefined,
        SIDECAR_URL: 'http://localhost:5000/?x=1',
      }),
    );
    resetComposition();
    expect(describeStartup()).toEqual({
      invalid: [
        'me: SIDECAR_URL (must not contain a query or fragment), COMMUNICATION_SERVICES_CONNECTION_STRING (required (or set COMMUNICATION_SERVICES_ENDPOINT to use managed identity))',
      ],
      notDeployed: ['acs'],
    });
  });

  it('forgets every section and dependency on reset', () => {
    restore = useEnv(validEnv());
    resetComposition();
    const before = {
      sms: getSmsSender(),
      acs: getAcsIdentityService(),
      me: getMeServices(),
      verification: getVerificationConfig(),
      sidecar: getSidecarConfig(),
    };
    restore();
    restore = useEnv(
      validEnv({
        VERIFICATION_CODE_LENGTH: '8',
        SIDECAR_GRAPH_API_NAME: 'msgraph',
        ACS_TEAMS_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
      }),
    );
    // Memoised until reset, even though the environment changed.
    expect(getVerificationConfig()).toBe(before.verification);
    expect(getMeServices()).toBe(before.me);
    resetComposition();
    expect(getSmsSender()).not.toBe(before.sms);
    expect(getAcsIdentityService()).not.toBe(before.acs);
    expect(getVerificationConfig().codeLength).toBe(8);
    expect(getSidecarConfig()).not.toBe(before.sidecar);
    expect(getAcsConfig().teamsClientId).toBe('00000000-0000-0000-0000-000000000002');
    const me = getMeServices();
    expect(me).not.toBe(before.me);
    expect(me.graphApiName).toBe('msgraph');
    expect(getVerificationConfig().codeLength).toBe(8);
  });
});
