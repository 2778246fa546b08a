/**
 * The OpenAPI document against the code: it is a valid OpenAPI 3.1 document, it lists every HTTP function
 * the app registers, and the real answers of every route (over HTTP, on the local runtime with the embedded
 * emulators: Twilio, ACS, the AgentID sidecar, Azurite) match the documented status, content type and
 * schema (ajv). Needs the built app (`npm run build`, run by `pretest`).
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { AgentIdEmulator, TwilioEmulator } from '../../emulators/src/index';
import type { LocalHost } from '../../local-runtime/src/index';
import { buildOpenApiDocument } from '../../src/openapi/document';
import { startAppWithEmulators, type AppStack } from '../helpers/app-on-local-runtime';

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
  stack = await startAppWithEmulators('openapi-contract');
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
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  let url = template;
  for (const [k, v] of Object.entries(options.params ?? {}))
    url = url.replace(`{${k}}`, encodeURIComponent(v));
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
    ]);
  });

  it('documents every HTTP function the app registers, with its methods, and nothing else', () => {
    const registered = host.httpFunctions
      .flatMap((f) => f.methods.map((m) => `${m.toLowerCase()} ${new URL(f.url).pathname}`))
      .map((s) => decodeURI(s))
      .sort();
    const documented = Object.entries(doc.paths as Record<string, Json>)
      .flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`))
      .sort();
    expect(documented).toEqual(registered);
  });

  it('documents a problem+json answer for every error status of every operation', () => {
    for (const item of Object.values(doc.paths as Record<string, Json>)) {
      for (const op of Object.values(item) as Json[]) {
        for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
          if (Number(status) < 400) continue;
          expect(Object.keys(response.content as Json)).toEqual(['application/problem+json']);
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
  it('verification: start, read, submit and the error answers', async () => {
    const phone = '+14255550142';
    const started = await call('POST', START, {
      params: { orchestratorName: 'SmsPhoneVerification' },
      body: JSON.stringify(phone),
    });
    expect(started.status).toBe(202);
    const id = (started.body as Json).id as string;
    expect(
      (
        await call('POST', START, {
          params: { orchestratorName: 'Nope' },
          body: JSON.stringify(phone),
        })
      ).status,
    ).toBe(404);
    const invalid = await call('POST', START, {
      params: { orchestratorName: 'SmsPhoneVerification' },
      body: { phoneNumber: '12' },
    });
    expect(invalid.status).toBe(400);
    const tooLarge = await call('POST', START, {
      params: { orchestratorName: 'SmsPhoneVerification' },
      body: JSON.stringify({ phoneNumber: phone, pad: 'x'.repeat(20_000) }),
    });
    expect(tooLarge.status).toBe(413);

    await host.whenIdle();
    const view = await call('GET', VERIFICATION, { params: { id } });
    expect(view.status).toBe(200);
    expect((view.body as Json).state).toBe('awaiting_code');
    expect((await call('GET', VERIFICATION, { params: { id: 'bad!id' } })).status).toBe(400);
    expect((await call('GET', VERIFICATION, { params: { id: 'unknown0' } })).status).toBe(404);

    expect((await call('POST', CODE, { params: { id }, body: { code: 'x' } })).status).toBe(400);
    expect(
      (await call('POST', CODE, { params: { id: 'unknown0' }, body: { code: '123456' } })).status,
    ).toBe(404);
    const code = /(\d{6})/.exec(twilio.lastMessage(phone)!.body)![1]!;
    const submitted = await call('POST', CODE, { params: { id }, body: { code } });
    expect(submitted.status).toBe(202);
    await host.whenIdle();
    expect(((await call('GET', VERIFICATION, { params: { id } })).body as Json).state).toBe(
      'verified',
    );
    expect((await call('POST', CODE, { params: { id }, body: { code } })).status).toBe(410);
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

  it('exercised every documented operation with at least one real answer', () => {
    const operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const exercised = new Set([...checked].map((c) => c.replace(/ \d{3}$/, '')));
    expect(operations.filter((o) => !exercised.has(o))).toEqual([]);
  });
});
