/**
 * The OpenAPI document against the code: it is a valid OpenAPI 3.1 document, it lists every HTTP function
 * the app registers, and the real answers of every route (over HTTP, on the local runtime with the embedded
 * emulators: Twilio, ACS, the AgentID sidecar, Azurite) match the documented status, content type and
 * schema (ajv). Needs the built app (`npm run build`, run by `pretest`).
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import twilioSdk from 'twilio';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { AgentIdEmulator, TwilioEmulator } from '@local/emulators';
import type { LocalHost } from '@local/durable-runtime';
import { buildOpenApiDocument } from '../../src/openapi/document';
import { GUARD_REASONS } from '../../src/verification/guard/errors';
import { MAX_ANSWER_BYTES } from '../../src/verification/link-handlers';
import { LINK_TOKEN_PARAM } from '../../src/verification/links';
import { EVENT } from '../../src/verification/names';
import {
  startAppWithEmulators,
  TEST_VERIFY_ACCOUNT_SID,
  TEST_VERIFY_AUTH_TOKEN,
  type AppStack,
} from '../helpers/app-on-local-runtime';
import { maskPhoneNumber } from '../../src/redact';

type Json = Record<string, unknown>;

let stack: AppStack;
let host: LocalHost;
let twilio: TwilioEmulator;
let agentId: AgentIdEmulator;
const doc = buildOpenApiDocument();
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
/** `METHOD /template status` of every answer checked, to prove the coverage below. */
const checked = new Set<string>();

beforeAll(async () => {
  // The key press on, so its callback answers beyond 404 (no test here places a call).
  stack = await startAppWithEmulators('openapi-contract', { DELIVERY_CALL_KEY_PRESS: 'true' });
  ({ host, twilio, agentId } = stack);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

function operation(method: string, template: string): Json {
  const item = (doc.paths as Record<string, Json>)[template];
  const op = item?.[method.toLowerCase()] as Json | undefined;
  if (!op) throw new Error(`${method} ${template} is not in the OpenAPI document`);
  return op;
}

interface Answer {
  status: number;
  headers: Headers;
  contentType: string;
  body: unknown;
  text: string;
}

/** Sends one request and checks the answer against the document; returns it for further assertions. */
async function call(
  method: string,
  template: string,
  options: {
    params?: Record<string, string>;
    query?: Record<string, string>;
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  let url = template;
  for (const [k, v] of Object.entries(options.params ?? {}))
    url = url.replace(`{${k}}`, encodeURIComponent(v));
  const query = new URLSearchParams(options.query ?? {}).toString();
  if (query !== '') url = `${url}?${query}`;
  const response = await fetch(`${host.url}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const answer: Answer = {
    status: response.status,
    headers: response.headers,
    contentType,
    text,
    body: contentType.endsWith('json') && text !== '' ? (JSON.parse(text) as unknown) : text,
  };
  const documented = (operation(method, template).responses as Record<string, Json>)[
    String(response.status)
  ];
  if (!documented) {
    throw new Error(`${method} ${template} answered ${response.status}, not documented: ${text}`);
  }
  const content = documented.content as Record<string, Json> | undefined;
  if (content === undefined) {
    expect(text).toBe('');
  } else {
    const media = content[contentType];
    if (!media) {
      throw new Error(
        `${method} ${template} ${response.status} answered ${contentType}; documented: ${Object.keys(content).join(', ')}`,
      );
    }
    const validate = ajv.compile({ ...(media.schema as Json), components: doc.components });
    if (!validate(answer.body)) {
      throw new Error(
        `${method} ${template} ${response.status} does not match its schema: ${ajv.errorsText(validate.errors)}\n${text}`,
      );
    }
  }
  checked.add(`${method} ${template} ${response.status}`);
  return answer;
}

const START = '/api/orchestrators/{orchestratorName}';
const VERIFICATION = '/api/verifications/{id}';
const CODE = '/api/verifications/{id}/code';
const TRUSTED_START = '/api/trusted/orchestrators/{orchestratorName}';
const STATUS = '/api/verifications/{id}/status';
const EVENT_ROUTE = '/api/verifications/{id}/events/{eventName}';
const CANCEL = '/api/verifications/{id}/cancel';
const RESEND = '/api/verifications/{id}/resend';
const SMS = { orchestratorName: 'SmsPhoneVerification' };
const hostKeys = (): string[] => [host.keys.masterKey, host.keys.functionKey, host.keys.systemKey];

/** The start answer's links, each turned into the route it names and the token it carries. */
type Links = Record<
  | 'statusQueryGetUri'
  | 'sendEventPostUri'
  | 'terminatePostUri'
  | 'purgeHistoryDeleteUri'
  | 'resendPostUri',
  string
>;
function linkToken(
  links: Links,
  name: keyof Links,
  template: string,
  id: string,
): Record<string, string> {
  const url = new URL(links[name]);
  // The link names the documented route of this verification (`{eventName}` stays literal).
  expect(decodeURI(url.pathname)).toBe(template.replace('{id}', id));
  expect([...url.searchParams.keys()]).toEqual([LINK_TOKEN_PARAM]);
  return { [LINK_TOKEN_PARAM]: url.searchParams.get(LINK_TOKEN_PARAM)! };
}
const functionKey = (): Record<string, string> => ({ 'x-functions-key': host.keys.functionKey });

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    const copy = JSON.parse(JSON.stringify(doc)) as Json;
    const api = (await SwaggerParser.validate(copy as never)) as unknown as Json;
    expect(api.openapi).toBe('3.1.0');
    const schemes = (doc.components as Json).securitySchemes as Json;
    expect(Object.keys(schemes).sort()).toEqual([
      'bearer',
      'functionKeyHeader',
      'functionKeyQuery',
      'linkToken',
      'verifyBasic',
    ]);
    expect(schemes.linkToken).toMatchObject({
      type: 'apiKey',
      in: 'query',
      name: LINK_TOKEN_PARAM,
    });
  });

  it('lists every guard reason and keeps host keys out of the anonymous examples', () => {
    const problem = ((doc.components as Json).schemas as Record<string, Json>).Problem!;
    const reason = (problem.properties as Record<string, Json>).reason!;
    expect(reason.enum).toEqual(Object.values(GUARD_REASONS));
    const operations = Object.values(doc.paths as Record<string, Record<string, Json>>).flatMap(
      (item) => Object.values(item),
    );
    const anonymous = operations.filter(
      (op) => !JSON.stringify(op.security).includes('functionKey'),
    );
    expect(anonymous.map((op) => op.operationId)).toContain('httpStart');
    for (const op of anonymous) {
      expect(JSON.stringify(op.responses)).not.toMatch(/[?&]code=|SYSTEM_KEY|runtime\/webhooks/);
    }
  });

  it('documents every HTTP function the app registers, with its methods, and nothing else', () => {
    // `httpFunctions` lists HTTP triggers only: the retention timer is not an HTTP route.
    expect(host.httpFunctions.map((f) => f.name)).not.toContain('purgeExpiredVerifications');
    const registered = host.httpFunctions
      .flatMap((f) => f.methods.map((m) => `${m.toLowerCase()} ${new URL(f.url).pathname}`))
      .map((s) => decodeURI(s))
      .sort();
    const documented = Object.entries(doc.paths as Record<string, Json>)
      .flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`))
      .sort();
    expect(documented).toEqual(registered);
  });

  it("documents a problem+json answer (Twilio's JSON error on the Verify API) for every error status of every operation", () => {
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      // The Verify API answers errors as Twilio does: application/json {code, message, more_info, status}.
      const errorType = path.startsWith('/api/verify/')
        ? 'application/json'
        : 'application/problem+json';
      for (const op of Object.values(item) as Json[]) {
        for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
          if (Number(status) < 400) continue;
          expect(Object.keys(response.content as Json)).toEqual([errorType]);
        }
      }
    }
  });

  it('is what GET /api/openapi.json serves, and /api/docs renders it', async () => {
    const served = await call('GET', '/api/openapi.json');
    expect(served.body).toEqual(JSON.parse(JSON.stringify(doc)));
    const page = await call('GET', '/api/docs');
    expect(page.text).toContain('<h1>SMS verification and ACS token API');
    for (const p of Object.keys(doc.paths as Json)) expect(page.text).toContain(p);
    expect(page.text).not.toMatch(/<script/i);
  });
});

describe('real answers match the document', () => {
  it('verification: start anonymously, follow every link, and the guard answers', async () => {
    const phone = '+14255550142';
    const started = await call('POST', START, { params: SMS, body: JSON.stringify(phone) });
    expect(started.status).toBe(202);
    for (const key of hostKeys()) expect(started.text).not.toContain(key);
    const links = started.body as Links & { id: string };
    const id = links.id;
    expect(started.headers.get('location')).toBe(links.statusQueryGetUri);
    const statusToken = linkToken(links, 'statusQueryGetUri', STATUS, id);
    const codeToken = linkToken(links, 'sendEventPostUri', EVENT_ROUTE, id);
    const cancelToken = linkToken(links, 'terminatePostUri', CANCEL, id);
    const purgeToken = linkToken(links, 'purgeHistoryDeleteUri', VERIFICATION, id);
    const resendToken = linkToken(links, 'resendPostUri', RESEND, id);

    expect(
      (
        await call('POST', START, {
          params: { orchestratorName: 'Nope' },
          body: JSON.stringify(phone),
        })
      ).status,
    ).toBe(404);
    const invalid = await call('POST', START, { params: SMS, body: { phoneNumber: '12' } });
    expect(invalid.status).toBe(400);
    const tooLarge = await call('POST', START, {
      params: SMS,
      body: JSON.stringify({ phoneNumber: phone, pad: 'x'.repeat(20_000) }),
    });
    expect(tooLarge.status).toBe(413);
    const premium = await call('POST', START, {
      params: SMS,
      body: JSON.stringify('+19005551234'),
    });
    expect(premium.status).toBe(403);
    expect((premium.body as Json).reason).toBe(GUARD_REASONS.numberTypeBlocked);
    const again = await call('POST', START, { params: SMS, body: JSON.stringify(phone) });
    expect(again.status).toBe(429);
    expect((again.body as Json).reason).toBe(GUARD_REASONS.numberCooldown);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);

    await host.whenIdle();
    const running = await call('GET', STATUS, { params: { id }, query: statusToken });
    expect(running.status).toBe(202);
    expect(running.body).toMatchObject({
      instanceId: id,
      runtimeStatus: 'Running',
      input: maskPhoneNumber(phone),
    });
    const view = await call('GET', VERIFICATION, { params: { id }, query: statusToken });
    expect(view.status).toBe(200);
    expect((view.body as Json).state).toBe('awaiting_code');
    // No token, another purpose's token, a bad id: the same 404.
    expect((await call('GET', VERIFICATION, { params: { id } })).status).toBe(404);
    expect((await call('GET', STATUS, { params: { id }, query: codeToken })).status).toBe(404);
    expect(
      (await call('GET', VERIFICATION, { params: { id: 'bad!id' }, query: statusToken })).status,
    ).toBe(404);

    // Resending right away hits the number's cooldown.
    const resend = await call('POST', RESEND, { params: { id }, query: resendToken });
    expect(resend.status).toBe(429);
    expect(Number(resend.headers.get('retry-after'))).toBeGreaterThan(0);
    const event = { id, eventName: EVENT.SmsChallengeResponse };
    expect(
      (await call('POST', CODE, { params: { id }, query: codeToken, body: { code: 'x' } })).status,
    ).toBe(400);
    expect(
      (
        await call('POST', EVENT_ROUTE, {
          params: { ...event, eventName: 'Other' },
          query: codeToken,
          body: '"123456"',
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call('POST', EVENT_ROUTE, {
          params: event,
          query: codeToken,
          body: JSON.stringify('1'.repeat(MAX_ANSWER_BYTES + 1)),
        })
      ).status,
    ).toBe(413);
    expect((await call('DELETE', VERIFICATION, { params: { id }, query: purgeToken })).status).toBe(
      409,
    );

    const code = /(\d{6})/.exec(twilio.lastMessage(phone)!.body)![1]!;
    const raised = await call('POST', EVENT_ROUTE, {
      params: event,
      query: codeToken,
      body: JSON.stringify(code),
    });
    expect(raised.status).toBe(202);
    await host.whenIdle();
    const finished = await call('GET', STATUS, { params: { id }, query: statusToken });
    expect(finished.status).toBe(200);
    expect(finished.body).toMatchObject({ runtimeStatus: 'Completed', output: true });
    expect(
      ((await call('GET', VERIFICATION, { params: { id }, query: statusToken })).body as Json)
        .state,
    ).toBe('verified');
    expect(
      (await call('POST', CODE, { params: { id }, query: codeToken, body: { code } })).status,
    ).toBe(410);
    expect(
      (
        await call('POST', EVENT_ROUTE, {
          params: event,
          query: codeToken,
          body: JSON.stringify(code),
        })
      ).status,
    ).toBe(410);
    expect((await call('POST', CANCEL, { params: { id }, query: cancelToken })).status).toBe(410);
    expect((await call('POST', RESEND, { params: { id }, query: resendToken })).status).toBe(410);
    expect((await call('DELETE', VERIFICATION, { params: { id }, query: purgeToken })).status).toBe(
      204,
    );
    expect((await call('GET', STATUS, { params: { id }, query: statusToken })).status).toBe(404);
  });

  it('verification: a localized start, canceled through its link', async () => {
    const phone = '+14255550143';
    const started = await call('POST', START, {
      params: SMS,
      body: { phoneNumber: phone, locale: 'ko' },
    });
    expect(started.status).toBe(202);
    const links = started.body as Links & { id: string };
    const { id } = links;
    await host.whenIdle();
    expect(twilio.lastMessage(phone)!.body).not.toBe('');
    const canceled = await call('POST', CANCEL, {
      params: { id },
      query: linkToken(links, 'terminatePostUri', CANCEL, id),
    });
    expect(canceled.status).toBe(202);
    expect(canceled.body).toEqual({ id, status: 'canceling' });
    await host.whenIdle();
    const view = await call('GET', VERIFICATION, {
      params: { id },
      query: linkToken(links, 'statusQueryGetUri', STATUS, id),
    });
    expect((view.body as Json).state).toBe('canceled');
  });

  it('verification: the trusted start answers the management payload and the links', async () => {
    const phone = '+14255550144';
    expect(
      (await call('POST', TRUSTED_START, { params: SMS, body: JSON.stringify(phone) })).status,
    ).toBe(401);
    const started = await call('POST', TRUSTED_START, {
      params: SMS,
      headers: functionKey(),
      body: JSON.stringify(phone),
    });
    expect(started.status).toBe(202);
    const body = started.body as Json & { links: Links & { id: string } };
    expect(body.id).toBe(body.links.id);
    expect(body.statusQueryGetUri).toContain('/runtime/webhooks/durabletask/instances/');
    for (const key of hostKeys()) expect(JSON.stringify(body.links)).not.toContain(key);
    const { id } = body.links;
    await host.whenIdle();
    const code = /(\d{6})/.exec(twilio.lastMessage(phone)!.body)![1]!;
    const submitted = await call('POST', CODE, {
      params: { id },
      query: linkToken(body.links, 'sendEventPostUri', EVENT_ROUTE, id),
      body: { code },
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toEqual({ id, status: 'submitted' });
    await host.whenIdle();
    const view = await call('GET', VERIFICATION, {
      params: { id },
      query: linkToken(body.links, 'statusQueryGetUri', STATUS, id),
    });
    expect((view.body as Json).state).toBe('verified');
  });

  it('ACS token service: identities and tokens with the function key', async () => {
    const IDENTITIES = '/api/acs/identities';
    expect((await call('POST', IDENTITIES, { body: {} })).status).toBe(401);
    const plain = await call('POST', IDENTITIES, { headers: functionKey() });
    expect(plain.status).toBe(201);
    const withToken = await call('POST', IDENTITIES, {
      headers: functionKey(),
      body: { scopes: ['chat'], expiresInMinutes: 60 },
    });
    expect((withToken.body as Json).token).toEqual(expect.any(String));
    expect(
      (await call('POST', IDENTITIES, { headers: functionKey(), body: { scopes: ['nope'] } }))
        .status,
    ).toBe(400);

    const communicationUserId = (plain.body as Json).communicationUserId as string;
    const params = { communicationUserId };
    const TOKEN = '/api/acs/identities/{communicationUserId}/token';
    const token = await call('POST', TOKEN, {
      params,
      headers: functionKey(),
      body: { scopes: ['voip'] },
    });
    expect(token.status).toBe(200);
    expect(
      (await call('POST', TOKEN, { params: { communicationUserId: 'x' }, headers: functionKey() }))
        .status,
    ).toBe(400);
    const REVOKE = '/api/acs/identities/{communicationUserId}/revoke';
    expect((await call('POST', REVOKE, { params, headers: functionKey() })).status).toBe(204);
    const IDENTITY = '/api/acs/identities/{communicationUserId}';
    expect((await call('DELETE', IDENTITY, { params, headers: functionKey() })).status).toBe(204);
    const afterDelete = await call('POST', TOKEN, {
      params,
      headers: functionKey(),
      body: { scopes: ['voip'] },
    });
    expect(afterDelete.status).toBe(404);

    const TEAMS = '/api/acs/teams-token';
    expect(
      (await call('POST', TEAMS, { headers: functionKey(), body: { teamsUserAadToken: 'x' } }))
        .status,
    ).toBe(400);
  });

  it('/api/me routes: bearer token, Graph on behalf of the user, self-service ACS', async () => {
    const user = {
      oid: '00000000-0000-4000-8000-0000000000c1',
      tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    };
    const token = agentId.issueToken({ ...user, name: 'Contract User', scp: 'access_as_user' });
    const auth = { authorization: `Bearer ${token}` };
    expect((await call('GET', '/api/me')).status).toBe(401);
    expect((await call('GET', '/api/me', { headers: auth })).status).toBe(200);
    expect((await call('GET', '/api/me/messages', { headers: auth })).status).toBe(200);
    const SEND = '/api/me/messages/send';
    expect(
      (
        await call('POST', SEND, {
          headers: auth,
          body: { to: 'someone@example.com', subject: 'Hi', body: 'Hello' },
        })
      ).status,
    ).toBe(202);
    expect((await call('POST', SEND, { headers: auth, body: { to: [] } })).status).toBe(400);
    const mine = await call('POST', '/api/me/acs/token', {
      headers: auth,
      body: { scopes: ['chat'] },
    });
    expect(mine.status).toBe(200);
    expect((await call('POST', '/api/me/acs/revoke', { headers: auth })).status).toBe(200);
    expect((await call('POST', '/api/me/acs/teams-token', { headers: auth })).status).toBe(200);
    expect((await call('DELETE', '/api/me/acs/identity', { headers: auth })).status).toBe(204);
    expect((await call('POST', '/api/me/acs/revoke', { headers: auth })).status).toBe(404);
  });

  it('fraud guard (issue 22): the proof-of-work challenge is off by default, the report needs a key', async () => {
    expect((await call('GET', '/api/verifications/challenge')).status).toBe(404);
    expect((await call('GET', '/api/verifications/guard/report')).status).toBe(401);
    const report = await call('GET', '/api/verifications/guard/report', { headers: functionKey() });
    expect(report.status).toBe(200);
    expect((report.body as Json).mode).toBe('on');
  });

  it("Verify v2: every operation, form bodies and HTTP Basic, errors in Twilio's shape", async () => {
    const basic = (user: string, password: string): Record<string, string> => ({
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    });
    const account = basic(TEST_VERIFY_ACCOUNT_SID, TEST_VERIFY_AUTH_TOKEN);
    const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
    const SERVICES = '/api/verify/v2/Services';
    const SERVICE = '/api/verify/v2/Services/{Sid}';
    expect((await call('GET', SERVICES)).status).toBe(401);
    const created = await call('POST', SERVICES, {
      headers: account,
      body: form({ FriendlyName: 'Contract' }),
    });
    expect(created.status).toBe(201);
    expect((await call('POST', SERVICES, { headers: account, body: form({}) })).status).toBe(400);
    const sid = (created.body as Json).sid as string;
    expect((await call('GET', SERVICES, { headers: account })).status).toBe(200);
    expect((await call('GET', SERVICE, { headers: account, params: { Sid: sid } })).status).toBe(
      200,
    );
    const update = { headers: account, params: { Sid: sid }, body: form({ CodeLength: '5' }) };
    expect((await call('POST', SERVICE, update)).status).toBe(200);

    const VERIFICATIONS = '/api/verify/v2/Services/{ServiceSid}/Verifications';
    const VERIFICATION_BY_SID = '/api/verify/v2/Services/{ServiceSid}/Verifications/{Sid}';
    const CHECK = '/api/verify/v2/Services/{ServiceSid}/VerificationCheck';
    const to = '+14255557001';
    const started = await call('POST', VERIFICATIONS, {
      headers: account,
      params: { ServiceSid: sid },
      body: form({ To: to, Channel: 'sms' }),
    });
    expect(started.status).toBe(201);
    const ve = (started.body as Json).sid as string;
    const byPair = { ServiceSid: sid, Sid: ve };
    expect(
      (await call('GET', VERIFICATION_BY_SID, { headers: account, params: byPair })).status,
    ).toBe(200);
    expect(
      (
        await call('POST', CHECK, {
          headers: account,
          params: { ServiceSid: sid },
          body: form({ To: to, Code: '00000' }),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('POST', CHECK, {
          headers: account,
          params: { ServiceSid: sid },
          body: form({ Code: '1' }),
        })
      ).status,
    ).toBe(400);
    const cancel = { headers: account, params: byPair, body: form({ Status: 'canceled' }) };
    expect((await call('POST', VERIFICATION_BY_SID, cancel)).status).toBe(200);
    expect((await call('POST', VERIFICATION_BY_SID, cancel)).status).toBe(404);
    expect(
      (
        await call('POST', VERIFICATIONS, {
          headers: account,
          params: { ServiceSid: sid },
          // 60200: the email channel (on with the emulators) wants an address in To, not a number.
          body: form({ To: to, Channel: 'email' }),
        })
      ).status,
    ).toBe(400);
    expect((await call('DELETE', SERVICE, { headers: account, params: { Sid: sid } })).status).toBe(
      204,
    );

    const KEYS = '/api/verify/2010-04-01/Accounts/{AccountSid}/Keys.json';
    const KEY = '/api/verify/2010-04-01/Accounts/{AccountSid}/Keys/{Sid}.json';
    const inAccount = { AccountSid: TEST_VERIFY_ACCOUNT_SID };
    const key = await call('POST', KEYS, {
      headers: account,
      params: inAccount,
      body: form({ FriendlyName: 'k' }),
    });
    expect(key.status).toBe(201);
    const keyParams = { ...inAccount, Sid: (key.body as Json).sid as string };
    expect((await call('GET', KEY, { headers: account, params: keyParams })).status).toBe(200);
    expect((await call('DELETE', KEY, { headers: account, params: keyParams })).status).toBe(204);
    expect((await call('GET', KEY, { headers: account, params: keyParams })).status).toBe(404);

    const ATTEMPTS = '/api/verify/v2/Attempts';
    const attempts = await call('GET', ATTEMPTS, { headers: account });
    expect(attempts.status).toBe(200);
    const attemptList = (attempts.body as { attempts: Json[] }).attempts;
    expect(attemptList.length).toBeGreaterThan(0);
    const attemptSid = attemptList[0]!.sid as string;
    expect(
      (
        await call('GET', '/api/verify/v2/Attempts/{Sid}', {
          headers: account,
          params: { Sid: attemptSid },
        })
      ).status,
    ).toBe(200);
    expect((await call('GET', `${ATTEMPTS}/Summary`, { headers: account })).status).toBe(200);

    const RATE_LIMITS = '/api/verify/v2/Services/{ServiceSid}/RateLimits';
    const RATE_LIMIT = `${RATE_LIMITS}/{Sid}`;
    const BUCKETS = `${RATE_LIMITS}/{RateLimitSid}/Buckets`;
    const BUCKET = `${BUCKETS}/{Sid}`;
    /** Creates one (201) and answers the path parameters that address it. */
    const create = async <P extends Record<string, string>>(
      path: string,
      params: P,
      fields: Record<string, string>,
    ): Promise<P & { Sid: string }> => {
      const made = await call('POST', path, { headers: account, params, body: form(fields) });
      expect(made.status).toBe(201);
      return { ...params, Sid: (made.body as Json).sid as string };
    };
    const limited = await create(SERVICES, {}, { FriendlyName: 'Limited' });
    const inService = { ServiceSid: limited.Sid };
    const rk = await create(RATE_LIMITS, inService, { UniqueName: 'ip', Description: 'IP' });
    const bad = { headers: account, params: inService, body: form({ UniqueName: 'a b' }) };
    expect((await call('POST', RATE_LIMITS, bad)).status).toBe(400);
    expect((await call('GET', RATE_LIMITS, { headers: account, params: inService })).status).toBe(
      200,
    );
    expect((await call('GET', RATE_LIMIT, { headers: account, params: rk })).status).toBe(200);
    const described = { headers: account, params: rk, body: form({ Description: 'End user IP' }) };
    expect((await call('POST', RATE_LIMIT, described)).status).toBe(200);
    const inRateLimit = { ...inService, RateLimitSid: rk.Sid };
    const bl = await create(BUCKETS, inRateLimit, { Max: '2', Interval: '60' });
    const zero = { headers: account, params: bl, body: form({ Max: '0' }) };
    expect((await call('POST', BUCKET, zero)).status).toBe(400);
    expect((await call('POST', BUCKET, { ...zero, body: form({ Max: '3' }) })).status).toBe(200);
    expect((await call('GET', BUCKETS, { headers: account, params: inRateLimit })).status).toBe(
      200,
    );
    expect((await call('GET', BUCKET, { headers: account, params: bl })).status).toBe(200);
    expect((await call('DELETE', BUCKET, { headers: account, params: bl })).status).toBe(204);
    expect((await call('DELETE', RATE_LIMIT, { headers: account, params: rk })).status).toBe(204);
    expect((await call('GET', RATE_LIMIT, { headers: account, params: rk })).status).toBe(404);

    const SAFE_LIST = '/api/verify/v2/SafeList/Numbers';
    const SAFE_NUMBER = '/api/verify/v2/SafeList/Numbers/{PhoneNumber}';
    const safe = { PhoneNumber: '+14255550177' };
    expect((await call('POST', SAFE_LIST, { headers: account, body: form(safe) })).status).toBe(
      201,
    );
    expect((await call('GET', SAFE_NUMBER, { headers: account, params: safe })).status).toBe(200);
    expect((await call('DELETE', SAFE_NUMBER, { headers: account, params: safe })).status).toBe(
      204,
    );
    expect((await call('GET', SAFE_NUMBER, { headers: account, params: safe })).status).toBe(404);
  });

  it('delivery: the key-press callback refuses what Twilio did not sign, and hangs up on a stale link', async () => {
    const KEY_PRESS = '/api/delivery/calls/key-press';
    const form = { CallSid: `CA${'0'.repeat(32)}`, To: '+14255550100', Digits: '1' };
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
    const body = new URLSearchParams(form).toString();
    const unsigned = await call('POST', KEY_PRESS, {
      query: { t: 'x'.repeat(40) },
      headers: formHeaders,
      body,
    });
    expect(unsigned.status).toBe(403);
    const query = { t: 'x'.repeat(40) };
    const url = `${host.url}${KEY_PRESS}?${new URLSearchParams(query).toString()}`;
    const signature = twilioSdk.getExpectedTwilioSignature(twilio.authToken, url, form);
    const stale = await call('POST', KEY_PRESS, {
      query,
      headers: { ...formHeaders, 'x-twilio-signature': signature },
      body,
    });
    expect([stale.status, stale.text]).toEqual([
      200,
      '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>',
    ]);
  });

  it('exercised every documented operation with at least one real answer', () => {
    const operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const exercised = new Set([...checked].map((c) => c.replace(/ \d{3}$/, '')));
    expect(operations.filter((o) => !exercised.has(o))).toEqual([]);
  });
});
