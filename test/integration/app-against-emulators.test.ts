import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { startEmulators, type Emulators } from '@local/emulators';
import { startTwilioEmulator } from '@local/emulators';
import { createSendSmsChallenge } from '../../src/verification/activity';
import {
  CommunicationIdentityService,
  createCommunicationIdentityClient,
} from '../../src/acs/identity-service';
import { TwilioSmsSender } from '../../src/verification/twilio-sms-sender';
import type { Config } from '../../src/config';
import { loadSettings } from '../../src/composition';
import { RateLimitedError, UpstreamError, UpstreamUnavailableError } from '../../src/errors';
import { createVerificationCrypto } from '../../src/verification/crypto';
import { hashCode } from '../../src/verification/crypto/code-hash';
import { createAcsIdentityHandler, type AcsDeps } from '../../src/acs/handlers';
import { deleteAcsIdentityHandler } from '../../src/acs/handlers';
import { issueAcsTokenHandler } from '../../src/acs/handlers';
import { revokeAcsTokensHandler } from '../../src/acs/handlers';
import { exchangeTeamsTokenHandler } from '../../src/acs/handlers';
import { withErrors, type Handler } from '../../src/http/respond';

/**
 * The app's real clients (twilio SDK, @azure/communication-identity) against the emulators over real HTTP:
 * the SendSmsChallenge activity with TwilioSmsSender, and the ACS token HTTP handlers.
 */

const SECRET = 'local-dev-verification-secret-change-me';
const PHONE = '+14255550100';

let emus: Emulators;
let config: Config;
const emulatorLog: string[] = [];

function configFor(overrides: Record<string, string> = {}): Config {
  return loadSettings({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    FUNCTIONS_WORKER_RUNTIME: 'node',
    VERIFICATION_CODE_SECRET: SECRET,
    ...emus.appSettings(),
    ...overrides,
  });
}

function context(logs: string[]): InvocationContext {
  return new InvocationContext({
    functionName: 'test',
    invocationId: 'test-invocation',
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map((a) => String(a)).join(' ')}`),
  });
}

beforeAll(async () => {
  emus = await startEmulators({
    log: (l) => emulatorLog.push(l),
    twilio: { port: 0 },
    acs: { port: 0 },
    agentId: { port: 0 },
  });
  config = configFor();
});
afterAll(async () => {
  await emus.close();
});
beforeEach(() => {
  emus.reset();
});

describe('SendSmsChallenge activity with TwilioSmsSender against the Twilio emulator', () => {
  const activity = (cfg: Config = config): ReturnType<typeof createSendSmsChallenge> =>
    createSendSmsChallenge({
      rules: () => cfg.verification,
      sms: new TwilioSmsSender(cfg.twilio, { timeoutMs: 5000 }),
      crypto: createVerificationCrypto(SECRET),
      messageTemplate: cfg.verification.messageTemplate,
      templates: cfg.verification.smsTemplates,
    });

  it('texts a 6-digit code and returns only its HMAC; nothing logs the code', async () => {
    const logs: string[] = [];
    const hash = await activity()(
      { phoneNumber: PHONE, instanceId: 'inst-1', codeLength: 6, sendNumber: 1 },
      context(logs),
    );
    const sms = emus.twilio.messages(PHONE);
    expect(sms).toHaveLength(1);
    expect(sms[0]?.from).toBe('+15005550006');
    const match = /^Your verification code is (\d{6})$/.exec(sms[0]?.body ?? '');
    expect(match).not.toBeNull();
    const code = match![1]!;
    expect(hash).toBe(hashCode(SECRET, 'inst-1', code));
    expect(hash).not.toContain(code);
    expect(logs.join('\n')).toContain(sms[0]!.sid);
    expect(logs.join('\n')).not.toContain(code);
    expect(logs.join('\n')).not.toContain(PHONE);
    expect(emulatorLog.join('\n')).not.toContain(code);
  });

  it('finds the first send when the activity runs again (a crash before its result was committed)', async () => {
    const input = { phoneNumber: PHONE, instanceId: 'inst-rerun', codeLength: 6, sendNumber: 1 };
    const logs: string[] = [];
    const first = await activity()(input, context(logs));
    // At-least-once: the same activity with the same input, as after a kill -9 between send and commit.
    const again = await activity()(input, context(logs));
    expect(again).toBe(first);
    const sms = emus.twilio.messages(PHONE);
    expect(sms).toHaveLength(1);
    expect(logs.join('\n')).toContain(
      `SMS challenge ${sms[0]!.sid} (send 1) was already sent (re-run)`,
    );
    // The next send number derives another code: a new message.
    await activity()({ ...input, sendNumber: 2 }, context([]));
    expect(emus.twilio.messages(PHONE)).toHaveLength(2);
  });

  it('maps an unroutable destination (Twilio 21612) to UpstreamError without sending', async () => {
    const err: unknown = await activity()(
      { phoneNumber: '+15005550002', instanceId: 'inst-2', codeLength: 6, sendNumber: 1 },
      context([]),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).upstreamStatus).toBe(400);
    expect((err as Error).message).toContain('21612');
    expect(emus.twilio.messages()).toHaveLength(0);
  });

  it('maps wrong credentials (401/20003) to UpstreamError', async () => {
    const err: unknown = await activity(configFor({ TwilioAuthToken: 'wrong-token' }))(
      { phoneNumber: PHONE, instanceId: 'i', codeLength: 6, sendNumber: 1 },
      context([]),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).upstreamStatus).toBe(401);
    expect((err as Error).message).toContain('20003');
  });

  it('maps Twilio throttling (429) to RateLimitedError and recovers', async () => {
    emus.twilio.failNext({ status: 429, code: 20429, message: 'Too Many Requests' });
    const err: unknown = await activity()(
      { phoneNumber: PHONE, instanceId: 'i', codeLength: 6, sendNumber: 1 },
      context([]),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    await expect(
      activity()(
        { phoneNumber: PHONE, instanceId: 'i', codeLength: 6, sendNumber: 1 },
        context([]),
      ),
    ).resolves.toMatch(/\S/);
    expect(emus.twilio.messages(PHONE)).toHaveLength(1);
  });

  it('maps an unreachable Twilio to UpstreamUnavailableError', async () => {
    const gone = await startTwilioEmulator({ port: 0, log: () => undefined });
    const deadUrl = gone.url;
    await gone.close();
    const err: unknown = await activity(configFor({ TwilioApiBaseUrl: deadUrl }))(
      { phoneNumber: PHONE, instanceId: 'i', codeLength: 6, sendNumber: 1 },
      context([]),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('ACS token HTTP handlers with @azure/communication-identity against the ACS emulator', () => {
  let deps: AcsDeps;
  let handlers: {
    create: Handler;
    issue: Handler;
    revoke: Handler;
    remove: Handler;
    teams: Handler;
  };

  const call = async (
    handler: Handler,
    body: unknown,
    params: Record<string, string> = {},
  ): Promise<HttpResponseInit> =>
    handler(
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/acs',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: { string: JSON.stringify(body) } }),
        params,
      }),
      context([]),
    );
  const bodyOf = (res: HttpResponseInit): Record<string, unknown> =>
    res.jsonBody as Record<string, unknown>;

  beforeAll(() => {
    const service = new CommunicationIdentityService(
      createCommunicationIdentityClient(config.acs, { retryOptions: { maxRetries: 0 } }),
    );
    deps = { acs: () => service };
    handlers = {
      create: withErrors(createAcsIdentityHandler(deps)),
      issue: withErrors(issueAcsTokenHandler(deps)),
      revoke: withErrors(revokeAcsTokensHandler(deps)),
      remove: withErrors(deleteAcsIdentityHandler(deps)),
      teams: withErrors(
        exchangeTeamsTokenHandler({ ...deps, defaultClientId: () => config.acs.teamsClientId }),
      ),
    };
  });

  it('creates identities with and without a token', async () => {
    const plain = await call(handlers.create, undefined);
    expect(plain.status).toBe(201);
    expect(bodyOf(plain)['communicationUserId']).toMatch(
      new RegExp(`^8:acs:${emus.acs.resourceId}_`),
    );
    expect(bodyOf(plain)['token']).toBeUndefined();
    const withToken = await call(handlers.create, {
      scopes: ['chat', 'voip'],
      expiresInMinutes: 60,
    });
    expect(withToken.status).toBe(201);
    const token = bodyOf(withToken)['token'] as string;
    expect(emus.acs.validateToken(token)).toMatchObject({ valid: true, scopes: ['chat', 'voip'] });
    expect(Date.parse(bodyOf(withToken)['expiresOn'] as string) - Date.now()).toBeGreaterThan(
      59 * 60_000,
    );
  });

  it('issues, revokes and deletes: tokens stop being valid for real', async () => {
    const id = bodyOf(await call(handlers.create, undefined))['communicationUserId'] as string;
    const issued = await call(handlers.issue, { scopes: ['chat'] }, { communicationUserId: id });
    expect(issued.status).toBe(200);
    const first = bodyOf(issued)['token'] as string;
    expect(emus.acs.validateToken(first).valid).toBe(true);

    expect((await call(handlers.revoke, undefined, { communicationUserId: id })).status).toBe(204);
    expect(emus.acs.validateToken(first)).toMatchObject({ valid: false, reason: 'revoked' });
    const second = bodyOf(
      await call(handlers.issue, { scopes: ['voip'] }, { communicationUserId: id }),
    )['token'] as string;
    expect(emus.acs.validateToken(second).valid).toBe(true);

    expect((await call(handlers.remove, undefined, { communicationUserId: id })).status).toBe(204);
    expect(emus.acs.validateToken(second)).toMatchObject({
      valid: false,
      reason: 'identity_deleted',
    });
    const afterDelete = await call(
      handlers.issue,
      { scopes: ['chat'] },
      { communicationUserId: id },
    );
    expect(afterDelete.status).toBe(404);
  });

  it('answers 404 for an identity of another resource (ACS 401 IdentityNotOwned)', async () => {
    const foreign =
      '8:acs:00000000-0000-0000-0000-000000000000_00000000-0000-0000-0000-000000000000';
    expect(
      (await call(handlers.issue, { scopes: ['chat'] }, { communicationUserId: foreign })).status,
    ).toBe(404);
    expect((await call(handlers.revoke, undefined, { communicationUserId: foreign })).status).toBe(
      404,
    );
  });

  it('answers 5xx problem+json when the ACS access key is wrong, without leaking it', async () => {
    const wrong = configFor({
      COMMUNICATION_SERVICES_CONNECTION_STRING: `endpoint=${emus.acs.url}/;accesskey=${Buffer.from('nope').toString('base64')}`,
    });
    const service = new CommunicationIdentityService(
      createCommunicationIdentityClient(wrong.acs, { retryOptions: { maxRetries: 0 } }),
    );
    const res = (await withErrors(createAcsIdentityHandler({ acs: () => service }))(
      new HttpRequest({ method: 'POST', url: 'http://localhost:7071/api/acs/identities' }),
      context([]),
    )) as HttpResponseInit;
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(JSON.stringify(res.jsonBody ?? res.body ?? '')).not.toContain(emus.acs.accessKey);
  });

  it('exchanges a Teams token obtained from the sidecar emulator (OBO acs-teams)', async () => {
    const oid = '5b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
    const user = emus.agentId.issueToken({ oid, tid: '5b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2e' });
    const header = (
      (await (
        await fetch(`${config.sidecar.url.href.replace(/\/$/, '')}/AuthorizationHeader/acs-teams`, {
          headers: { authorization: `Bearer ${user}` },
        })
      ).json()) as { authorizationHeader: string }
    ).authorizationHeader;
    const teamsUserAadToken = header.slice('Bearer '.length);
    const ok = await call(handlers.teams, { teamsUserAadToken, userObjectId: oid });
    expect(ok.status).toBe(200);
    expect(emus.acs.validateToken(bodyOf(ok)['token'] as string)).toMatchObject({
      valid: true,
      identity: `8:orgid:${oid}`,
    });

    const mismatch = await call(handlers.teams, {
      teamsUserAadToken,
      userObjectId: '00000000-0000-0000-0000-0000000000ff',
    });
    expect(mismatch.status).toBe(400);
    // The caller's own sidecar token is not an ACS Teams token: ACS refuses it (401), the app reports a 400.
    const wrongToken = await call(handlers.teams, { teamsUserAadToken: user, userObjectId: oid });
    expect(wrongToken.status).toBe(400);
  });
});
