import { HttpRequest, InvocationContext } from '@azure/functions';
import type { HttpResponseInit } from '@azure/functions';

import type { MeServices } from '../../src/me/services';
import type { CallerAcsOperations } from '../../src/me/caller-identities';
import { CallerAcsIdentities } from '../../src/me/caller-identities';
import { InMemoryIdentityMapStore } from './helpers/in-memory';
import type { AcsIdentityMapping, IdentityMapStore } from '../../src/me/identity-map';
import { DownstreamApiError, SidecarClientError } from '../../src/me/sidecar';
import type { DownstreamCallOptions, SidecarApi, TokenOptions } from '../../src/me/sidecar';
import type { AcsScope, TeamsTokenRequest } from '../../src/acs/model';
import { NotFoundError, UpstreamError } from '../../src/errors';
import { createMeHandlers } from '../../src/me/handlers';
import type { MeHandlers } from '../../src/me/handlers';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const USERS = {
  alice: { token: 'alice-token', oid: '00000000-0000-0000-0000-00000000000a' },
  bob: { token: 'bob-token', oid: '00000000-0000-0000-0000-00000000000b' },
} as const;
const TEAMS_CLIENT_ID = '00000000-0000-0000-0000-000000000001';

/** ACS stand-in whose calls yield to the event loop, so concurrent requests really interleave. */
class FakeAcs implements CallerAcsOperations {
  readonly identities = new Map<string, { deleted: boolean; revoked: number; tokens: number }>();
  failDeleteOnce = false;
  private next = 0;

  async createIdentity(options: { scopes?: readonly AcsScope[]; expiresInMinutes?: number }) {
    await tick();
    const id = `8:acs:resource_${++this.next}`;
    this.identities.set(id, {
      deleted: false,
      revoked: 0,
      tokens: options.scopes === undefined ? 0 : 1,
    });
    return {
      communicationUserId: id,
      token: `acs-token-${id}-1`,
      expiresOn: '2030-01-01T00:00:00.000Z',
    };
  }

  async issueToken(id: string, _scopes: readonly AcsScope[], _minutes?: number) {
    await tick();
    const identity = this.live(id);
    identity.tokens += 1;
    return { token: `acs-token-${id}-${identity.tokens}`, expiresOn: '2030-01-01T00:00:00.000Z' };
  }

  async revokeTokens(id: string) {
    await tick();
    this.live(id).revoked += 1;
  }

  async deleteIdentity(id: string) {
    await tick();
    if (this.failDeleteOnce) {
      this.failDeleteOnce = false;
      throw new UpstreamError('acs-identity', 'flaky');
    }
    this.live(id).deleted = true;
  }

  liveIds(): string[] {
    return [...this.identities].filter(([, v]) => !v.deleted).map(([k]) => k);
  }

  private live(id: string) {
    const identity = this.identities.get(id);
    if (identity === undefined || identity.deleted)
      throw new NotFoundError('No such communication identity.');
    return identity;
  }
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface DownstreamCall {
  authorization: string;
  api: string;
  path: string | undefined;
  options: DownstreamCallOptions | undefined;
}

class FakeSidecar implements SidecarApi {
  downstream: DownstreamCall[] = [];
  headers: { authorization: string; api: string; options: TokenOptions | undefined }[] = [];
  downstreamResult: () => Promise<unknown> = () => Promise.resolve({ displayName: 'Alice' });
  headerResult: () => Promise<string> = () => Promise.resolve('Bearer teams-entra-token');

  validate(authorization: string) {
    const user = Object.values(USERS).find((u) => `Bearer ${u.token}` === authorization);
    if (user === undefined) return Promise.reject(new SidecarClientError(401));
    return Promise.resolve({ protocol: 'Bearer', claims: { oid: user.oid, tid: TENANT } });
  }

  getAuthorizationHeader(authorization: string, api: string, options?: TokenOptions) {
    this.headers.push({ authorization, api, options });
    return this.headerResult();
  }

  callDownstreamApi(
    authorization: string,
    api: string,
    path?: string,
    options?: DownstreamCallOptions,
  ) {
    this.downstream.push({ authorization, api, path, options });
    return this.downstreamResult();
  }
}

interface Stack {
  handlers: MeHandlers;
  acs: FakeAcs;
  sidecar: FakeSidecar;
  store: IdentityMapStore & { size: number };
  teams: TeamsTokenRequest[];
  orphans: string[];
}

function stack(
  overrides: {
    teamsClientId?: string | undefined;
    store?: IdentityMapStore & { size: number };
  } = {},
): Stack {
  const acs = new FakeAcs();
  const sidecar = new FakeSidecar();
  const store = overrides.store ?? new InMemoryIdentityMapStore();
  const teams: TeamsTokenRequest[] = [];
  const orphans: string[] = [];
  const services: MeServices = {
    sidecar,
    identities: new CallerAcsIdentities(store, acs, { onOrphan: (id) => orphans.push(id) }),
    acs: {
      exchangeTeamsToken: (req) => {
        teams.push(req);
        return Promise.resolve({ token: 'acs-teams-token', expiresOn: '2030-01-01T00:00:00.000Z' });
      },
    },
    graphApiName: 'graph',
    teamsClientId: 'teamsClientId' in overrides ? overrides.teamsClientId : TEAMS_CLIENT_ID,
  };
  return { handlers: createMeHandlers(() => services), acs, sidecar, store, teams, orphans };
}

async function call(
  handler: MeHandlers[keyof MeHandlers],
  user: keyof typeof USERS | null,
  body?: unknown,
  method = 'POST',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (user !== null) headers['authorization'] = `Bearer ${USERS[user].token}`;
  const req = new HttpRequest({
    method,
    url: 'http://localhost:7071/api/me/x',
    headers,
    ...(body === undefined
      ? {}
      : { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } }),
  });
  const res = (await handler(
    req,
    new InvocationContext({ logHandler: () => undefined }),
  )) as HttpResponseInit;
  return { status: res.status ?? 200, body: (res.jsonBody ?? {}) as Record<string, unknown> };
}

/** Sends a request on a fresh stack and expects a 400 whose problem names `field`; the stack is returned. */
async function expect400Naming(
  field: string,
  send: (s: ReturnType<typeof stack>) => ReturnType<typeof call>,
): Promise<ReturnType<typeof stack>> {
  const s = stack();
  const result = await send(s);
  expect(result.status).toBe(400);
  expect(result.body['errors']).toEqual(
    expect.arrayContaining([expect.objectContaining({ field })]),
  );
  return s;
}

describe('POST /api/me/acs/token', () => {
  it('creates the caller identity on first use and refreshes the same identity later', async () => {
    const s = stack();
    const first = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat', 'voip'] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      identityCreated: true,
      expiresOn: '2030-01-01T00:00:00.000Z',
    });
    const second = await call(s.handlers.issueMyAcsToken, 'alice', {
      scopes: ['chat'],
      expiresInMinutes: 60,
    });
    expect(second.body).toMatchObject({
      identityCreated: false,
      communicationUserId: first.body['communicationUserId'],
    });
    expect(second.body['token']).not.toBe(first.body['token']);
    expect(s.acs.liveIds()).toEqual([first.body['communicationUserId']]);
  });

  it('gives each user their own identity', async () => {
    const s = stack();
    const a = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    const b = await call(s.handlers.issueMyAcsToken, 'bob', { scopes: ['chat'] });
    expect(a.body['communicationUserId']).not.toBe(b.body['communicationUserId']);
    expect(s.store.size).toBe(2);
  });

  it('creates exactly one identity for ten parallel first calls and deletes the losers', async () => {
    const s = stack();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const ids = new Set(results.map((r) => r.body['communicationUserId']));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.body['identityCreated'] === true)).toHaveLength(1);
    expect(s.acs.liveIds()).toEqual([...ids]);
    expect(s.acs.identities.size).toBe(10);
    expect(s.orphans).toEqual([]);
  });

  it('uses the winner and reports a surplus identity it could not delete', async () => {
    const race: { winner?: AcsIdentityMapping } = {};
    // A store that hides the winner from the first read, as a concurrent request would.
    const racing: IdentityMapStore & { size: number } = {
      size: 1,
      get: () => Promise.resolve(undefined),
      insertIfAbsent: () => Promise.resolve({ created: false, mapping: race.winner! }),
      delete: () => Promise.resolve(false),
    };
    const s = stack({ store: racing });
    const existing = await s.acs.createIdentity({});
    race.winner = {
      tenantId: TENANT,
      objectId: USERS.alice.oid,
      communicationUserId: existing.communicationUserId,
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    s.acs.failDeleteOnce = true;
    const result = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      communicationUserId: existing.communicationUserId,
      identityCreated: false,
    });
    expect(s.orphans).toHaveLength(1);
    expect(s.orphans[0]).not.toBe(existing.communicationUserId);
  });

  it('repairs a mapping whose ACS identity was deleted out of band', async () => {
    const s = stack();
    const first = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    s.acs.identities.get(first.body['communicationUserId'] as string)!.deleted = true;
    const second = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    expect(second.status).toBe(200);
    expect(second.body['identityCreated']).toBe(true);
    expect(second.body['communicationUserId']).not.toBe(first.body['communicationUserId']);
  });

  it('deletes the new identity when the mapping cannot be stored', async () => {
    const store = new InMemoryIdentityMapStore();
    const failing = Object.assign(Object.create(store) as InMemoryIdentityMapStore, {
      insertIfAbsent: () => Promise.reject(new UpstreamError('table-storage', 'down')),
    });
    const s = stack({ store: failing });
    const result = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    expect(result.status).toBe(502);
    expect(s.acs.liveIds()).toEqual([]);
  });

  it.each([
    [{}, 'scopes'],
    [{ scopes: [] }, 'scopes'],
    [{ scopes: ['admin'] }, 'scopes'],
    [{ scopes: 'chat' }, 'scopes'],
    [{ scopes: ['chat'], expiresInMinutes: 59 }, 'expiresInMinutes'],
    [{ scopes: ['chat'], expiresInMinutes: 1441 }, 'expiresInMinutes'],
    [{ scopes: ['chat'], expiresInMinutes: 60.5 }, 'expiresInMinutes'],
    [{ scopes: ['chat'], communicationUserId: '8:acs:someone_else' }, 'communicationUserId'],
  ])('rejects %j with 400 naming %s', async (body, field) => {
    const s = await expect400Naming(field, (fresh) =>
      call(fresh.handlers.issueMyAcsToken, 'alice', body),
    );
    expect(s.acs.identities.size).toBe(0);
  });

  it('rejects a body that is not JSON', async () => {
    const s = stack();
    expect((await call(s.handlers.issueMyAcsToken, 'alice', '{nope')).status).toBe(400);
  });

  it('answers 401 without a token and creates nothing', async () => {
    const s = stack();
    expect((await call(s.handlers.issueMyAcsToken, null, { scopes: ['chat'] })).status).toBe(401);
    expect(s.acs.identities.size).toBe(0);
  });
});

describe('revoke and delete', () => {
  it('revokes only the caller identity', async () => {
    const s = stack();
    const a = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    const b = await call(s.handlers.issueMyAcsToken, 'bob', { scopes: ['chat'] });
    const revoked = await call(s.handlers.revokeMyAcsTokens, 'bob');
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      communicationUserId: b.body['communicationUserId'],
      revoked: true,
    });
    expect(s.acs.identities.get(b.body['communicationUserId'] as string)!.revoked).toBe(1);
    expect(s.acs.identities.get(a.body['communicationUserId'] as string)!.revoked).toBe(0);
  });

  it('answers 404 to revoke or delete before any token', async () => {
    const s = stack();
    expect((await call(s.handlers.revokeMyAcsTokens, 'alice')).status).toBe(404);
    expect((await call(s.handlers.deleteMyAcsIdentity, 'alice', undefined, 'DELETE')).status).toBe(
      404,
    );
  });

  it('deletes the caller identity and mapping, and a later token request starts afresh', async () => {
    const s = stack();
    const a = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    const b = await call(s.handlers.issueMyAcsToken, 'bob', { scopes: ['chat'] });
    expect((await call(s.handlers.deleteMyAcsIdentity, 'alice', undefined, 'DELETE')).status).toBe(
      204,
    );
    expect(s.acs.liveIds()).toEqual([b.body['communicationUserId']]);
    expect(s.store.size).toBe(1);
    const again = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    expect(again.body['identityCreated']).toBe(true);
    expect(again.body['communicationUserId']).not.toBe(a.body['communicationUserId']);
  });

  it('still removes the mapping when the identity is already gone at ACS', async () => {
    const s = stack();
    const a = await call(s.handlers.issueMyAcsToken, 'alice', { scopes: ['chat'] });
    s.acs.identities.get(a.body['communicationUserId'] as string)!.deleted = true;
    expect((await call(s.handlers.deleteMyAcsIdentity, 'alice', undefined, 'DELETE')).status).toBe(
      204,
    );
    expect(s.store.size).toBe(0);
  });
});

describe('Graph routes', () => {
  it('GET /api/me calls Graph "me" on behalf of the caller', async () => {
    const s = stack();
    const result = await call(s.handlers.getMe, 'alice', undefined, 'GET');
    expect(result).toEqual({ status: 200, body: { displayName: 'Alice' } });
    expect(s.sidecar.downstream).toEqual([
      { authorization: 'Bearer alice-token', api: 'graph', path: 'me', options: undefined },
    ]);
  });

  it('GET /api/me/messages asks for the top 10 messages', async () => {
    const s = stack();
    await call(s.handlers.listMyMessages, 'alice', undefined, 'GET');
    expect(s.sidecar.downstream[0]!.path).toBe('me/messages?$top=10');
  });

  it('POST /api/me/messages/send maps the body to Graph sendMail', async () => {
    const s = stack();
    s.sidecar.downstreamResult = () => Promise.resolve(null);
    const result = await call(s.handlers.sendMyMail, 'alice', {
      to: 'bob@contoso.com',
      subject: 'Hi',
      body: 'Hello',
    });
    expect(result.status).toBe(202);
    expect(s.sidecar.downstream[0]).toMatchObject({
      api: 'graph',
      path: 'me/sendMail',
      options: {
        method: 'POST',
        body: {
          message: {
            subject: 'Hi',
            body: { contentType: 'Text', content: 'Hello' },
            toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }],
          },
          saveToSentItems: true,
        },
      },
    });
  });

  it.each([
    [{ subject: 'Hi', body: 'x' }, 'to'],
    [{ to: 'not-an-address', subject: 'Hi', body: 'x' }, 'to'],
    [{ to: ['a@b.co'], body: 'x' }, 'subject'],
    [{ to: ['a@b.co'], subject: 'x', body: 'x', contentType: 'pdf' }, 'contentType'],
  ])('rejects mail %j with 400', async (body, field) => {
    const s = await expect400Naming(field, (fresh) =>
      call(fresh.handlers.sendMyMail, 'alice', body),
    );
    expect(s.sidecar.downstream).toEqual([]);
  });

  it.each([
    [403, 403],
    [404, 404],
    [429, 429],
    [500, 502],
    [400, 502],
  ])('maps a Graph %i to %i without Graph text', async (graphStatus, status) => {
    const s = stack();
    s.sidecar.downstreamResult = () =>
      Promise.reject(
        new DownstreamApiError('graph', graphStatus, { error: { message: 'secret detail' } }),
      );
    const result = await call(s.handlers.getMe, 'alice', undefined, 'GET');
    expect(result.status).toBe(status);
    expect(JSON.stringify(result.body)).not.toContain('secret detail');
  });

  it('answers 403 when Entra needs consent or MFA for the OBO call', async () => {
    const s = stack();
    s.sidecar.downstreamResult = () => Promise.reject(new SidecarClientError(401, 'Unauthorized'));
    expect((await call(s.handlers.getMe, 'alice', undefined, 'GET')).status).toBe(403);
  });

  it('answers 401 for an unknown token', async () => {
    const s = stack();
    const req = new HttpRequest({
      method: 'GET',
      url: 'http://localhost/api/me',
      headers: { authorization: 'Bearer forged' },
    });
    const res = (await s.handlers.getMe(
      req,
      new InvocationContext({ logHandler: () => undefined }),
    )) as HttpResponseInit;
    expect(res.status).toBe(401);
    expect(s.sidecar.downstream).toEqual([]);
  });
});

describe('POST /api/me/acs/teams-token', () => {
  it('gets an OBO header for the ACS Teams scopes and exchanges it for the caller', async () => {
    const s = stack();
    const result = await call(s.handlers.exchangeMyTeamsToken, 'alice');
    expect(result).toEqual({
      status: 200,
      body: { token: 'acs-teams-token', expiresOn: '2030-01-01T00:00:00.000Z' },
    });
    expect(s.sidecar.headers).toEqual([
      {
        authorization: 'Bearer alice-token',
        api: 'acs-teams',
        options: {
          scopes: [
            'https://auth.msft.communication.azure.com/Teams.ManageCalls',
            'https://auth.msft.communication.azure.com/Teams.ManageChats',
          ],
        },
      },
    ]);
    expect(s.teams).toEqual([
      {
        teamsUserAadToken: 'teams-entra-token',
        clientId: TEAMS_CLIENT_ID,
        userObjectId: USERS.alice.oid,
      },
    ]);
  });

  it('answers a 404 problem when ACS_TEAMS_CLIENT_ID is not set (disabled), warning once, never an error', async () => {
    const s = stack({ teamsClientId: undefined });
    const logs: { level: string; message: string }[] = [];
    const context = (): InvocationContext =>
      new InvocationContext({
        functionName: 'exchangeMyTeamsToken',
        logHandler: (level, ...args) => logs.push({ level, message: args.join(' ') }),
      });
    const req = (): HttpRequest =>
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/me/acs/teams-token',
        headers: { authorization: `Bearer ${USERS.alice.token}` },
      });
    for (let i = 0; i < 3; i++) {
      const res = (await s.handlers.exchangeMyTeamsToken(req(), context())) as HttpResponseInit;
      expect(res.status).toBe(404);
      expect(res.jsonBody).toMatchObject({ code: 'not_found', status: 404 });
    }
    expect(s.sidecar.headers).toEqual([]);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(logs.filter((l) => l.level === 'warning')).toHaveLength(1);
  });
});
