import { HttpRequest, InvocationContext } from '@azure/functions';
import type { HttpResponseInit } from '@azure/functions';
import { Agent } from 'undici';

import { startEmulators } from '@local/emulators';
import type { AcsIdentityEmulator, AgentIdEmulator, Emulators } from '@local/emulators';
import { createMeServices } from '../../src/me/services';
import {
  CommunicationIdentityService,
  createCommunicationIdentityClient,
} from '../../src/acs/identity-service';
import { TableIdentityMapStore } from '../../src/me/identity-map-table';
import { SidecarClient } from '../../src/me/sidecar';
import { loadSettings } from '../../src/composition';
import type { Config } from '../../src/config';
import { createMeHandlers } from '../../src/me/handlers';
import type { MeHandlers } from '../../src/me/handlers';
import { startTestAzurite } from '../helpers/azurite';
import type { AzuriteTable } from '../helpers/azurite';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '11111111-86f1-41af-91ab-2d7cd011db47';
const quiet = (): void => undefined;

let azurite: AzuriteTable;
let emulators: Emulators;
let agentId: AgentIdEmulator;
let acs: AcsIdentityEmulator;
let config: Config;
let pool: Agent;
let handlers: MeHandlers;
let store: TableIdentityMapStore;
let userCounter = 0;

beforeAll(async () => {
  [azurite, emulators] = await Promise.all([startTestAzurite(), startEmulators({ log: quiet })]);
  ({ agentId, acs } = emulators);
  config = loadSettings({
    ...emulators.appSettings(),
    AzureWebJobsStorage: azurite.connectionString,
    FUNCTIONS_WORKER_RUNTIME: 'node',
    VERIFICATION_CODE_SECRET: 'local-dev-verification-secret-change-me',
    SIDECAR_TIMEOUT_MS: '5000',
    ACS_IDENTITY_TABLE_NAME: 'AcsIdentitiesIt',
  });
  pool = new Agent({ keepAliveTimeout: 1000 });
  store = TableIdentityMapStore.create(config.identityMap.storage, config.identityMap.tableName);
  const sidecar = new SidecarClient({
    baseUrl: config.sidecar.url,
    timeoutMs: config.sidecar.timeoutMs,
    dispatcher: pool,
  });
  const acsService = new CommunicationIdentityService(
    createCommunicationIdentityClient(config.acs),
  );
  const services = createMeServices({ config, sidecar, store, acs: acsService });
  handlers = createMeHandlers(() => services);
});

afterAll(async () => {
  await pool.close();
  await emulators.close();
  await azurite.close();
});

interface User {
  oid: string;
  tid: string;
  token: string;
}

/** A fresh user per test keeps the shared table and emulators independent between tests. */
function newUser(tid = TENANT, name = 'Test User'): User {
  userCounter += 1;
  const oid = `00000000-0000-4000-8000-${String(userCounter).padStart(12, '0')}`;
  return { oid, tid, token: agentId.issueToken({ oid, tid, name, scp: 'access_as_user' }) };
}

interface Result {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

async function call(
  handler: MeHandlers[keyof MeHandlers],
  authorization: string | undefined,
  body?: unknown,
  method = 'POST',
): Promise<Result> {
  const req = new HttpRequest({
    method,
    url: 'http://localhost:7071/api/me/acs',
    headers: authorization === undefined ? {} : { authorization },
    ...(body === undefined || method === 'GET' ? {} : { body: { string: JSON.stringify(body) } }),
  });
  const res = (await handler(
    req,
    new InvocationContext({ logHandler: quiet }),
  )) as HttpResponseInit;
  return {
    status: res.status ?? 200,
    body: (res.jsonBody ?? {}) as Record<string, unknown>,
    headers: (res.headers ?? {}) as Record<string, string>,
  };
}

const bearer = (user: User): string => `Bearer ${user.token}`;
const tokenFor = (user: User, body: unknown = { scopes: ['chat', 'voip'] }): Promise<Result> =>
  call(handlers.issueMyAcsToken, bearer(user), body);

function liveIdentities(): string[] {
  return acs
    .identities()
    .filter((i) => !i.deleted)
    .map((i) => i.id);
}

describe('self-service ACS tokens', () => {
  it('creates the identity on first use, stores the mapping, and refreshes the same identity', async () => {
    const alice = newUser();
    const first = await tokenFor(alice);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ identityCreated: true });
    const id = first.body['communicationUserId'] as string;
    expect(id).toMatch(/^8:acs:/);
    expect(acs.validateToken(first.body['token'] as string)).toMatchObject({
      valid: true,
      identity: id,
    });
    await expect(store.get({ tenantId: alice.tid, objectId: alice.oid })).resolves.toMatchObject({
      communicationUserId: id,
    });

    const second = await tokenFor(alice, { scopes: ['chat'], expiresInMinutes: 1440 });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ communicationUserId: id, identityCreated: false });
    const validation = acs.validateToken(second.body['token'] as string);
    expect(validation).toMatchObject({ valid: true, identity: id, scopes: ['chat'] });
    const lifetimeMs = Date.parse(second.body['expiresOn'] as string) - Date.now();
    expect(lifetimeMs).toBeGreaterThan(1435 * 60_000);
    expect(lifetimeMs).toBeLessThanOrEqual(1440 * 60_000 + 5_000);
  });

  it('revokes only the caller tokens', async () => {
    const alice = newUser();
    const bob = newUser();
    const aliceToken = (await tokenFor(alice)).body['token'] as string;
    const bobToken = (await tokenFor(bob)).body['token'] as string;

    const revoked = await call(handlers.revokeMyAcsTokens, bearer(alice));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ revoked: true });
    expect(acs.validateToken(aliceToken)).toMatchObject({ valid: false, reason: 'revoked' });
    expect(acs.validateToken(bobToken)).toMatchObject({ valid: true });

    // Tokens issued after the revocation work again.
    const fresh = await tokenFor(alice);
    expect(acs.validateToken(fresh.body['token'] as string)).toMatchObject({ valid: true });
  });

  it('deletes only the caller identity and mapping; the next token request creates a new identity', async () => {
    const alice = newUser();
    const bob = newUser();
    const a = await tokenFor(alice);
    const b = await tokenFor(bob);
    const aliceId = a.body['communicationUserId'] as string;
    const bobId = b.body['communicationUserId'] as string;

    const deleted = await call(handlers.deleteMyAcsIdentity, bearer(alice), undefined, 'DELETE');
    expect(deleted.status).toBe(204);
    expect(liveIdentities()).not.toContain(aliceId);
    expect(liveIdentities()).toContain(bobId);
    expect(acs.validateToken(a.body['token'] as string).valid).toBe(false);
    expect(acs.validateToken(b.body['token'] as string).valid).toBe(true);
    await expect(store.get({ tenantId: alice.tid, objectId: alice.oid })).resolves.toBeUndefined();

    expect((await call(handlers.revokeMyAcsTokens, bearer(alice))).status).toBe(404);
    const again = await tokenFor(alice);
    expect(again.body).toMatchObject({ identityCreated: true });
    expect(again.body['communicationUserId']).not.toBe(aliceId);
  });

  it('repairs the mapping when the identity was deleted outside the app', async () => {
    const dave = newUser();
    const first = await tokenFor(dave);
    const id = first.body['communicationUserId'] as string;
    await new CommunicationIdentityService(
      createCommunicationIdentityClient(config.acs),
    ).deleteIdentity(id);
    const second = await tokenFor(dave);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ identityCreated: true });
    expect(second.body['communicationUserId']).not.toBe(id);
    await expect(store.get({ tenantId: dave.tid, objectId: dave.oid })).resolves.toMatchObject({
      communicationUserId: second.body['communicationUserId'],
    });
  });

  it('never lets user A act on user B identity', async () => {
    const alice = newUser();
    const bob = newUser();
    const b = await tokenFor(bob);
    const bobId = b.body['communicationUserId'] as string;

    // Naming someone else's identity is not part of the API at all.
    const smuggled = await tokenFor(alice, { scopes: ['chat'], communicationUserId: bobId });
    expect(smuggled.status).toBe(400);

    const a = await tokenFor(alice);
    expect(a.body['communicationUserId']).not.toBe(bobId);
    await call(handlers.revokeMyAcsTokens, bearer(alice));
    await call(handlers.deleteMyAcsIdentity, bearer(alice), undefined, 'DELETE');
    expect(acs.validateToken(b.body['token'] as string)).toMatchObject({
      valid: true,
      identity: bobId,
    });
    expect(liveIdentities()).toContain(bobId);
  });

  it('keys identities by tenant as well as object id', async () => {
    const home = newUser(TENANT);
    const guest: User = {
      oid: home.oid,
      tid: OTHER_TENANT,
      token: agentId.issueToken({ oid: home.oid, tid: OTHER_TENANT }),
    };
    const a = await tokenFor(home);
    const b = await tokenFor(guest);
    expect(a.body['communicationUserId']).not.toBe(b.body['communicationUserId']);
  });

  it('creates exactly one identity for ten parallel first calls', async () => {
    const carol = newUser();
    const before = new Set(acs.identities().map((i) => i.id));
    const results = await Promise.all(Array.from({ length: 10 }, () => tokenFor(carol)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const ids = new Set(results.map((r) => r.body['communicationUserId']));
    expect(ids.size).toBe(1);
    const created = acs.identities().filter((i) => !before.has(i.id));
    // Every loser's identity is deleted again: one live identity remains.
    expect(created.filter((i) => !i.deleted).map((i) => i.id)).toEqual([...ids]);
    for (const r of results) {
      expect(acs.validateToken(r.body['token'] as string)).toMatchObject({
        valid: true,
        identity: [...ids][0],
      });
    }
    await expect(store.get({ tenantId: carol.tid, objectId: carol.oid })).resolves.toMatchObject({
      communicationUserId: [...ids][0],
    });
  });
});

describe('authentication', () => {
  const routes: [string, keyof MeHandlers, string][] = [
    ['token', 'issueMyAcsToken', 'POST'],
    ['revoke', 'revokeMyAcsTokens', 'POST'],
    ['identity', 'deleteMyAcsIdentity', 'DELETE'],
    ['teams-token', 'exchangeMyTeamsToken', 'POST'],
    ['me', 'getMe', 'GET'],
    ['messages', 'listMyMessages', 'GET'],
    ['send', 'sendMyMail', 'POST'],
  ];

  it.each(routes)('%s answers 401 problem+json without a token', async (_name, key, method) => {
    const before = acs.identities().length;
    const result = await call(handlers[key], undefined, { scopes: ['chat'] }, method);
    expect(result.status).toBe(401);
    expect(result.headers['Content-Type']).toBe('application/problem+json');
    expect(result.headers['WWW-Authenticate']).toMatch(/^Bearer/);
    expect(acs.identities().length).toBe(before);
  });

  it.each(routes)(
    '%s answers 401 for forged, expired or foreign-audience tokens',
    async (_name, key, method) => {
      const user = newUser();
      const [header, payload] = user.token.split('.');
      const forged = `${header}.${payload}.${Buffer.from('not-the-signature').toString('base64url')}`;
      const expired = agentId.issueToken({ oid: user.oid, tid: user.tid, expiresInSeconds: -3600 });
      const foreign = agentId.issueToken({
        oid: user.oid,
        tid: user.tid,
        aud: 'api://someone-else',
      });
      const before = acs.identities().length;
      for (const token of [forged, expired, foreign, 'garbage']) {
        const result = await call(handlers[key], `Bearer ${token}`, { scopes: ['chat'] }, method);
        expect(result.status).toBe(401);
      }
      expect(acs.identities().length).toBe(before);
      await expect(store.get({ tenantId: user.tid, objectId: user.oid })).resolves.toBeUndefined();
    },
  );

  it('answers 503 when the sidecar is down', async () => {
    const down = new SidecarClient({
      baseUrl: new URL('http://127.0.0.1:1/'),
      dispatcher: pool,
      timeoutMs: 1000,
    });
    const services = createMeServices({
      config,
      sidecar: down,
      store,
      acs: new CommunicationIdentityService(createCommunicationIdentityClient(config.acs)),
    });
    const result = await call(createMeHandlers(() => services).issueMyAcsToken, bearer(newUser()), {
      scopes: ['chat'],
    });
    expect(result.status).toBe(503);
    expect(result.headers['Retry-After']).toBe('5');
  });
});

describe('Graph routes through the sidecar', () => {
  it('GET /api/me returns the caller profile', async () => {
    const user = newUser(TENANT, 'Ada Lovelace');
    const result = await call(handlers.getMe, bearer(user), undefined, 'GET');
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ displayName: 'Ada Lovelace', id: user.oid });
  });

  it('GET /api/me/messages returns at most ten messages', async () => {
    const result = await call(handlers.listMyMessages, bearer(newUser()), undefined, 'GET');
    expect(result.status).toBe(200);
    const value = result.body['value'];
    expect(Array.isArray(value)).toBe(true);
    expect((value as unknown[]).length).toBeGreaterThan(0);
    expect((value as unknown[]).length).toBeLessThanOrEqual(10);
  });

  it('POST /api/me/messages/send sends mail as the caller', async () => {
    const user = newUser();
    const result = await call(handlers.sendMyMail, bearer(user), {
      to: ['bob@contoso.com'],
      subject: 'Integration',
      body: 'Hello from the test',
    });
    expect(result.status).toBe(202);
    expect(agentId.sentMail()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          subject: 'Integration',
          to: ['bob@contoso.com'],
          body: 'Hello from the test',
        }),
      ]),
    );
  });

  it('answers 403 when Entra refuses the on-behalf-of token (consent required)', async () => {
    agentId.failNextTokenAcquisition();
    const result = await call(handlers.getMe, bearer(newUser()), undefined, 'GET');
    expect(result.status).toBe(403);
    expect(JSON.stringify(result.body)).not.toContain('AADSTS');
  });
});

describe('POST /api/me/acs/teams-token', () => {
  it('exchanges an OBO token for the ACS Teams scopes for a Teams user ACS token', async () => {
    const user = newUser();
    const result = await call(handlers.exchangeMyTeamsToken, bearer(user));
    expect(result.status).toBe(200);
    expect(typeof result.body['token']).toBe('string');
    expect(acs.validateToken(result.body['token'] as string)).toMatchObject({
      valid: true,
      identity: `8:orgid:${user.oid}`,
    });
  });
});
