import crypto from 'node:crypto';
import { CommunicationIdentityClient } from '@azure/communication-identity';
import { isRestError, type RestError } from '@azure/core-rest-pipeline';
import {
  formatAcsExpiresOn,
  startAcsIdentityEmulator,
  type AcsIdentityEmulator,
} from '../src/acs-identity/server';
import { decodeJwt, generateSigningKey, signJwt, verifySignature } from '../src/common/jwt';

async function restError(p: Promise<unknown>): Promise<RestError> {
  try {
    await p;
  } catch (err) {
    if (isRestError(err)) return err;
    throw err;
  }
  throw new Error('expected the SDK call to fail');
}

function payloadOf(token: string): Record<string, unknown> {
  const d = decodeJwt(token);
  if (d === undefined) throw new Error('not a JWT');
  return d.payload;
}

function unsignedJwt(payload: Record<string, unknown>): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(payload)}.c2ln`;
}

/** Signs a request exactly like communication-common's access-key policy, to test what the SDK cannot send. */
async function signedFetch(
  emu: AcsIdentityEmulator,
  method: string,
  pathAndQuery: string,
  body: string,
  tweak: { date?: string; key?: string; hash?: string; auth?: string | null } = {},
): Promise<Response> {
  const url = new URL(emu.url + pathAndQuery);
  const date = tweak.date ?? new Date().toUTCString();
  const hash = tweak.hash ?? crypto.createHash('sha256').update(body).digest('base64');
  const pq = url.pathname + (url.searchParams.toString() ? `?${url.searchParams.toString()}` : '');
  const toSign = `${method}\n${pq}\n${date};${url.host};${hash}`;
  const sig = crypto
    .createHmac('sha256', Buffer.from(tweak.key ?? emu.accessKey, 'base64'))
    .update(toSign)
    .digest('base64');
  const headers: Record<string, string> = {
    'x-ms-date': date,
    'x-ms-content-sha256': hash,
    'content-type': 'application/json',
  };
  const auth =
    tweak.auth === undefined
      ? `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${sig}`
      : tweak.auth;
  if (auth !== null) headers['authorization'] = auth;
  return fetch(url, {
    method,
    headers,
    ...(method === 'GET' || method === 'DELETE' ? {} : { body }),
  });
}

/** The `error.code` of an ACS error body. */
async function acsErrorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/**
 * Runs `test` against a fresh emulator (and an SDK client of it) whose clock `moveClock(ms)` sets that far
 * ahead of the wall clock; closes the emulator afterwards.
 */
async function withMovableClock(
  test: (context: {
    emulator: AcsIdentityEmulator;
    client: CommunicationIdentityClient;
    moveClock: (aheadMs: number) => void;
  }) => Promise<void>,
): Promise<void> {
  let ahead = 0;
  const emulator = await startAcsIdentityEmulator({
    port: 0,
    log: () => undefined,
    now: () => Date.now() + ahead,
  });
  try {
    const client = new CommunicationIdentityClient(emulator.connectionString, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    await test({ emulator, client, moveClock: (aheadMs) => (ahead = aheadMs) });
  } finally {
    await emulator.close();
  }
}

const TEAMS_APP = '00000000-0000-0000-0000-000000000001';
const USER_OID = '11111111-2222-3333-4444-555555555555';
const TENANT = '99999999-8888-7777-6666-555555555555';

function entraClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: 'https://auth.msft.communication.azure.com',
    iss: `https://sts.windows.net/${TENANT}/`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    appid: TEAMS_APP,
    oid: USER_OID,
    tid: TENANT,
    scp: 'Teams.ManageCalls Teams.ManageChats',
    ver: '1.0',
    ...overrides,
  };
}

describe('ACS Identity emulator, driven by @azure/communication-identity', () => {
  let emu: AcsIdentityEmulator;
  let client: CommunicationIdentityClient;
  const lines: string[] = [];

  beforeAll(async () => {
    emu = await startAcsIdentityEmulator({ port: 0, log: (l) => lines.push(l) });
    client = new CommunicationIdentityClient(emu.connectionString, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
  });
  afterAll(async () => {
    await emu.close();
  });
  beforeEach(() => {
    emu.reset();
    lines.length = 0;
  });

  it('exposes a connection string the SDK accepts', () => {
    expect(emu.connectionString).toBe(
      `endpoint=http://127.0.0.1:${emu.port}/;accesskey=${emu.accessKey}`,
    );
  });

  it('createUser: 201 with an 8:acs:{resource}_{suffix} id and no token', async () => {
    const user = await client.createUser();
    expect(user.communicationUserId).toMatch(
      new RegExp(
        `^8:acs:${emu.resourceId}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`,
      ),
    );
    expect(emu.identities()).toEqual([
      expect.objectContaining({ id: user.communicationUserId, deleted: false, tokensIssued: 0 }),
    ]);
  });

  it('createUserAndToken: token with ACS claims, expiresOn as a Date', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await client.createUserAndToken(['chat', 'voip'], { tokenExpiresInMinutes: 120 });
    expect(res.user.communicationUserId).toMatch(/^8:acs:/);
    expect(res.expiresOn).toBeInstanceOf(Date);
    const claims = payloadOf(res.token);
    expect(claims).toMatchObject({
      skypeid: res.user.communicationUserId.slice(2),
      scp: 1792,
      acsScope: 'chat,voip',
      resourceId: emu.resourceId,
      resourceLocation: 'unitedstates',
      rgn: 'amer',
    });
    expect(claims['exp']).toBe((claims['iat'] as number) + 120 * 60);
    expect(claims['csi']).toBe(String(claims['iat']));
    expect(claims['iat']).toBeGreaterThanOrEqual(before);
    expect(Math.floor(res.expiresOn.getTime() / 1000)).toBe(claims['exp']);
    const decoded = decodeJwt(res.token)!;
    expect(decoded.header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(verifySignature(decoded, [emu.publicKey])).toBe(true);
    expect(emu.validateToken(res.token)).toMatchObject({
      valid: true,
      identity: res.user.communicationUserId,
      scopes: ['chat', 'voip'],
    });
  });

  it('getToken for every scope set the SDK live tests use, default 24h lifetime', async () => {
    const user = await client.createUser();
    const sets = [
      ['chat'],
      ['voip'],
      ['chat.join'],
      ['chat.join.limited'],
      ['voip.join'],
      ['chat', 'voip'],
      ['chat', 'chat.join', 'chat.join.limited'],
      ['voip', 'voip.join'],
      ['chat.join', 'voip.join'],
    ];
    for (const scopes of sets) {
      const t = await client.getToken(user, scopes as ('chat' | 'voip')[]);
      const claims = payloadOf(t.token);
      expect(claims['acsScope']).toBe(scopes.join(','));
      expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(1440 * 60);
      expect(t.expiresOn).toBeInstanceOf(Date);
    }
    expect(emu.identities()[0]?.tokensIssued).toBe(sets.length);
  });

  it('accepts expiresInMinutes 60 and 1440, rejects 59 and 1441 with 400 (both operations)', async () => {
    const user = await client.createUser();
    for (const ok of [60, 1440]) {
      const t = await client.getToken(user, ['chat'], { tokenExpiresInMinutes: ok });
      expect(Math.abs(t.expiresOn.getTime() - Date.now() - ok * 60_000)).toBeLessThan(5000);
      await expect(
        client.createUserAndToken(['chat'], { tokenExpiresInMinutes: ok }),
      ).resolves.toBeDefined();
    }
    for (const bad of [59, 1441]) {
      const e1 = await restError(client.getToken(user, ['chat'], { tokenExpiresInMinutes: bad }));
      expect([e1.statusCode, e1.code]).toEqual([400, 'ValidationError']);
      const e2 = await restError(
        client.createUserAndToken(['chat'], { tokenExpiresInMinutes: bad }),
      );
      expect([e2.statusCode, e2.code]).toEqual([400, 'ValidationError']);
    }
    // A failed createUserAndToken must not leave an identity behind.
    expect(emu.identities()).toHaveLength(3);
  });

  it('rejects empty and unknown scopes with 400 ValidationError', async () => {
    const user = await client.createUser();
    const empty = await restError(client.getToken(user, []));
    expect(empty.statusCode).toBe(400);
    expect(empty.code).toBe('ValidationError');
    expect(empty.message).toBe('Invalid scopes - Scopes field is required.');
    const unknown = await restError(client.getToken(user, ['admin' as 'chat']));
    expect([unknown.statusCode, unknown.code]).toEqual([400, 'ValidationError']);
    const unknownCreate = await restError(client.createUserAndToken(['nope' as 'chat']));
    expect([unknownCreate.statusCode, unknownCreate.code]).toEqual([400, 'ValidationError']);
  });

  it('answers 401 IdentityNotOwned for identities of another resource', async () => {
    const foreign = {
      communicationUserId:
        '8:acs:00000000-0000-0000-0000-000000000000_00000000-0000-0000-0000-000000000000',
    };
    for (const call of [
      client.getToken(foreign, ['chat']),
      client.revokeTokens(foreign),
      client.deleteUser(foreign),
    ]) {
      const e = await restError(call);
      expect(e.statusCode).toBe(401);
      expect(e.code).toBe('IdentityNotOwned');
      expect(e.message).toBe("Provided identity doesn't belong to the resource.");
    }
  });

  it('answers 404 IdentityNotFound for unknown identities of this resource', async () => {
    const unknown = {
      communicationUserId: `8:acs:${emu.resourceId}_ffffffff-0000-0000-0000-000000000000`,
    };
    for (const call of [
      client.getToken(unknown, ['chat']),
      client.revokeTokens(unknown),
      client.deleteUser(unknown),
    ]) {
      const e = await restError(call);
      expect([e.statusCode, e.code]).toEqual([404, 'IdentityNotFound']);
    }
  });

  it('revokeTokens: 204, earlier tokens become invalid, new tokens are valid', async () => {
    const { user, token: first } = await client.createUserAndToken(['chat']);
    const second = await client.getToken(user, ['voip']);
    await expect(client.revokeTokens(user)).resolves.toBeUndefined();
    expect(emu.validateToken(first)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(emu.validateToken(second.token)).toMatchObject({ valid: false, reason: 'revoked' });
    const third = await client.getToken(user, ['chat']);
    expect(emu.validateToken(third.token).valid).toBe(true);
    expect(emu.identities()[0]?.revokedAt).not.toBeNull();
    // Revoking an identity that has no live tokens is still 204.
    await expect(client.revokeTokens(await client.createUser())).resolves.toBeUndefined();
  });

  it('deleteUser: 204, tokens invalid, later calls fail, repeated delete is accepted', async () => {
    const { user, token } = await client.createUserAndToken(['chat']);
    await expect(client.deleteUser(user)).resolves.toBeUndefined();
    expect(emu.validateToken(token)).toMatchObject({ valid: false, reason: 'identity_deleted' });
    const e = await restError(client.getToken(user, ['chat']));
    expect([e.statusCode, e.code]).toEqual([404, 'IdentityNotFound']);
    const r = await restError(client.revokeTokens(user));
    expect(r.statusCode).toBe(404);
    await expect(client.deleteUser(user)).resolves.toBeUndefined();
  });

  it('rejects a client with the wrong access key: 401 Denied', async () => {
    const wrong = new CommunicationIdentityClient(
      `endpoint=${emu.url}/;accesskey=${Buffer.from('wrong-key').toString('base64')}`,
      { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } },
    );
    const e = await restError(wrong.createUser());
    expect([e.statusCode, e.code]).toEqual([401, 'Denied']);
    expect(emu.identities()).toHaveLength(0);
  });

  it('rejects a stale x-ms-date (clock skew) with 401 Denied', async () => {
    await withMovableClock(async ({ client: c, moveClock }) => {
      moveClock(14 * 60_000);
      await expect(c.createUser()).resolves.toBeDefined();
      moveClock(16 * 60_000);
      const e = await restError(c.createUser());
      expect([e.statusCode, e.code]).toEqual([401, 'Denied']);
      expect(e.message).toContain('x-ms-date');
    });
  });

  it('verifies the request signature, content hash and api-version at the HTTP level', async () => {
    const body = JSON.stringify({ createTokenWithScopes: ['chat'] });
    const ok = await signedFetch(emu, 'POST', '/identities?api-version=2023-10-01', body);
    expect(ok.status).toBe(201);
    const wrongHash = await signedFetch(emu, 'POST', '/identities?api-version=2023-10-01', body, {
      hash: crypto.createHash('sha256').update('other').digest('base64'),
    });
    expect(wrongHash.status).toBe(401);
    expect(await wrongHash.json()).toEqual({
      error: {
        code: 'Denied',
        message: "Request 'x-ms-content-sha256' differs from generated content hash.",
      },
    });
    const noVersion = await signedFetch(emu, 'POST', '/identities', body);
    expect(noVersion.status).toBe(400);
    expect(await acsErrorCode(noVersion)).toBe('MissingApiVersionParameter');
    const oldVersion = await signedFetch(
      emu,
      'POST',
      '/identities?api-version=2020-07-20-preview2',
      body,
    );
    expect(oldVersion.status).toBe(400);
    expect(await acsErrorCode(oldVersion)).toBe('UnsupportedApiVersion');
    const identities = '/identities?api-version=2023-10-01';
    const refused: [string, string, string, Parameters<typeof signedFetch>[4], number][] = [
      ['POST', identities, body, { auth: null }, 401],
      ['POST', identities, body, { auth: 'Bearer abc' }, 401],
      ['POST', identities, body, { date: 'yesterday' }, 401],
      ['POST', identities, '{not json', {}, 400],
      ['GET', identities, '', {}, 405],
      ['POST', '/nothing-here?api-version=2023-10-01', '', {}, 404],
      [
        'POST',
        '/identities/%E0%A4%A/:issueAccessToken?api-version=2023-10-01',
        '{"scopes":["chat"]}',
        {},
        400,
      ],
    ];
    for (const [method, pathAndQuery, requestBody, tweak, status] of refused) {
      const response = await signedFetch(emu, method, pathAndQuery, requestBody, tweak);
      // The request in the expectation names the failing case.
      expect({ method, pathAndQuery, tweak, status: response.status }).toEqual({
        method,
        pathAndQuery,
        tweak,
        status,
      });
    }
  });

  it('injects faults after authentication; the SDK retries a 429 that carries Retry-After', async () => {
    const user = await client.createUser();
    emu.failNext({
      status: 503,
      code: 'ServiceUnavailable',
      message: 'Try later',
      operations: ['issue'],
    });
    const e = await restError(client.getToken(user, ['chat']));
    expect([e.statusCode, e.code, e.message]).toEqual([503, 'ServiceUnavailable', 'Try later']);
    // Faults limited to other operations leave this one alone.
    emu.failNext({ status: 500, operations: ['delete'] });
    await expect(client.getToken(user, ['chat'])).resolves.toBeDefined();

    const retrying = new CommunicationIdentityClient(emu.connectionString, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 2, retryDelayInMs: 1 },
    });
    emu.failNext({
      status: 429,
      code: 'TooManyRequests',
      retryAfterSeconds: 0,
      operations: ['issue'],
    });
    const before = emu.requestCount();
    await expect(retrying.getToken(user, ['chat'])).resolves.toBeDefined();
    expect(emu.requestCount() - before).toBe(2);

    const bad = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 200 }),
    });
    expect(bad.status).toBe(400);
    const badOps = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 500, operations: ['nope'] }),
    });
    expect(badOps.status).toBe(400);
    const ok = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 500, code: 'InternalError', operations: ['create'] }),
    });
    expect(ok.status).toBe(204);
    const e500 = await restError(client.createUser());
    expect([e500.statusCode, e500.code]).toEqual([500, 'InternalError']);
  });

  it('answers with the service headers (client request id echo, api-supported-versions)', async () => {
    const res = await signedFetch(emu, 'POST', '/identities?api-version=2023-10-01', '');
    expect(res.status).toBe(201);
    expect(res.headers.get('api-supported-versions')).toContain('2023-10-01');
    expect(res.headers.get('ms-cv')).toMatch(/\S/);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('honours the SDK apiVersion override', async () => {
    // `apiVersion` is honoured at runtime (a pipeline policy rewrites the query) but missing from the typed options.
    const options = {
      allowInsecureConnection: true,
      apiVersion: '2022-10-01',
      retryOptions: { maxRetries: 0 },
    };
    const older = new CommunicationIdentityClient(emu.connectionString, options);
    await expect(older.createUser()).resolves.toBeDefined();
  });

  it('logs one line per request, with no token, key or signature', async () => {
    const { token } = await client.createUserAndToken(['chat']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[acs\] POST \/identities 201 /);
    const all = lines.join('\n');
    expect(all).not.toContain(token.slice(0, 20));
    expect(all).not.toContain(emu.accessKey);
  });

  describe('Teams token exchange (unsigned Entra tokens accepted)', () => {
    it('exchanges a valid Entra token: 200, orgid token whose expiry matches the Entra token', async () => {
      const claims = entraClaims();
      const res = await client.getTokenForTeamsUser({
        teamsUserAadToken: unsignedJwt(claims),
        clientId: TEAMS_APP,
        userObjectId: USER_OID,
      });
      expect(res.expiresOn.getTime()).toBe((claims['exp'] as number) * 1000);
      const acs = payloadOf(res.token);
      expect(acs).toMatchObject({
        skypeid: `orgid:${USER_OID}`,
        scp: 1024,
        tid: TENANT,
        acsScope: 'voip,chat',
        aad_appid: TEAMS_APP,
        resourceId: emu.resourceId,
        exp: claims['exp'],
      });
      expect(emu.validateToken(res.token)).toMatchObject({
        valid: true,
        identity: `8:orgid:${USER_OID}`,
      });
    });

    it.each([
      ['empty', ''],
      ['not a JWT', 'invalid'],
      ['expired', unsignedJwt(entraClaims({ exp: Math.floor(Date.now() / 1000) - 10 }))],
      ['for another audience', unsignedJwt(entraClaims({ aud: 'https://graph.microsoft.com' }))],
      ['without Teams scopes', unsignedJwt(entraClaims({ scp: 'User.Read' }))],
      ['without oid', unsignedJwt(entraClaims({ oid: undefined }))],
    ])('rejects an Entra token that is %s with 401 InvalidAccessToken', async (_name, token) => {
      const e = await restError(
        client.getTokenForTeamsUser({
          teamsUserAadToken: token,
          clientId: TEAMS_APP,
          userObjectId: USER_OID,
        }),
      );
      expect(e.statusCode).toBe(401);
      expect(e.code).toBe('InvalidAccessToken');
      expect(e.message).toBe('Provided access token is not valid.');
    });

    it.each([
      ['empty clientId', '', USER_OID],
      ['invalid clientId', 'not-a-guid', USER_OID],
      ['wrong clientId', '00000000-0000-0000-0000-0000000000ff', USER_OID],
      ['empty userObjectId', TEAMS_APP, ''],
      ['invalid userObjectId', TEAMS_APP, 'nope'],
      ['wrong userObjectId', TEAMS_APP, '00000000-0000-0000-0000-0000000000ff'],
    ])('rejects %s with 400', async (_name, clientId, userObjectId) => {
      const e = await restError(
        client.getTokenForTeamsUser({
          teamsUserAadToken: unsignedJwt(entraClaims()),
          clientId,
          userObjectId,
        }),
      );
      expect(e.statusCode).toBe(400);
      expect(e.code).toBe('ValidationError');
    });

    it('accepts v2 tokens (azp, ACS app id as audience)', async () => {
      const token = unsignedJwt(
        entraClaims({
          appid: undefined,
          azp: TEAMS_APP,
          aud: '1fd5118e-2576-4263-8130-9503064c837a',
          scp: 'Teams.ManageCalls',
        }),
      );
      const res = await client.getTokenForTeamsUser({
        teamsUserAadToken: token,
        clientId: TEAMS_APP,
        userObjectId: USER_OID,
      });
      expect(payloadOf(res.token)['acsScope']).toBe('voip');
    });
  });

  it('with trusted Entra keys, accepts only tokens those keys signed', async () => {
    const issuer = generateSigningKey();
    const strict = await startAcsIdentityEmulator({
      port: 0,
      log: () => undefined,
      trustedEntraKeys: [issuer.publicKey],
    });
    try {
      const c = new CommunicationIdentityClient(strict.connectionString, {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      });
      const args = { clientId: TEAMS_APP, userObjectId: USER_OID };
      await expect(
        c.getTokenForTeamsUser({ teamsUserAadToken: signJwt(issuer, entraClaims()), ...args }),
      ).resolves.toBeDefined();
      const e = await restError(
        c.getTokenForTeamsUser({ teamsUserAadToken: unsignedJwt(entraClaims()), ...args }),
      );
      expect(e.statusCode).toBe(401);
      const other = generateSigningKey();
      const e2 = await restError(
        c.getTokenForTeamsUser({ teamsUserAadToken: signJwt(other, entraClaims()), ...args }),
      );
      expect(e2.statusCode).toBe(401);
    } finally {
      await strict.close();
    }
  });

  describe('inspection endpoints', () => {
    it('validates tokens over HTTP', async () => {
      const { user, token } = await client.createUserAndToken(['chat']);
      const check = async (t: unknown): Promise<Response> =>
        fetch(`${emu.url}/_emulator/tokens/validate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: t }),
        });
      expect(await (await check(token)).json()).toMatchObject({
        valid: true,
        identity: user.communicationUserId,
      });
      await client.revokeTokens(user);
      expect(await (await check(token)).json()).toMatchObject({ valid: false, reason: 'revoked' });
      expect(await (await check('a.b.c')).json()).toEqual({ valid: false, reason: 'malformed' });
      const forged = signJwt(generateSigningKey(), payloadOf(token));
      expect(await (await check(forged)).json()).toEqual({ valid: false, reason: 'bad_signature' });
      const missing = await check(42);
      expect(missing.status).toBe(400);
      expect(missing.headers.get('content-type')).toContain('application/problem+json');
    });

    it('reports expired tokens as invalid', async () => {
      await withMovableClock(async ({ emulator: timed, client: c, moveClock }) => {
        const { token } = await c.createUserAndToken(['chat'], { tokenExpiresInMinutes: 60 });
        moveClock(61 * 60_000);
        expect(timed.validateToken(token)).toMatchObject({ valid: false, reason: 'expired' });
      });
    });

    it('lists identities and keys, resets', async () => {
      await client.createUser();
      const listed = (await (await fetch(`${emu.url}/_emulator/identities`)).json()) as {
        identities: unknown[];
      };
      expect(listed.identities).toHaveLength(1);
      const keys = (await (await fetch(`${emu.url}/_emulator/keys`)).json()) as {
        keys: { kty: string; alg: string }[];
      };
      expect(keys.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
      expect((await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' })).status).toBe(204);
      expect(emu.identities()).toHaveLength(0);
      expect((await fetch(`${emu.url}/_emulator/unknown`)).status).toBe(404);
    });
  });

  it('formats expiresOn with 7 fractional digits and +00:00', () => {
    expect(formatAcsExpiresOn(Date.UTC(2022, 1, 12, 11, 19, 28, 533))).toBe(
      '2022-02-12T11:19:28.5330000+00:00',
    );
  });
});
