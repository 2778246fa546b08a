/**
 * Managed identity on the local runtime: the embedded App Service identity endpoint (`IDENTITY_ENDPOINT` +
 * `IDENTITY_HEADER`) gives `DefaultAzureCredential` tokens that the ACS Identity emulator accepts over https
 * (the app's `COMMUNICATION_SERVICES_ENDPOINT` path), and `callHttp` with a `ManagedIdentityTokenSource`
 * sends them as `Authorization: Bearer` (or fails without sending when there is no token).
 */
import * as fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommunicationIdentityClient } from '@azure/communication-identity';
import { DefaultAzureCredential } from '@azure/identity';
import type { AcsIdentityEmulator, ManagedIdentityEmulator } from '@local/emulators';
import { decodeJwt, generateSigningKey, signJwt, verifySignature } from '@local/emulators/jwt';
import type { LocalHost } from '../src/index';
import { startSamplesHost } from './samples-host';

let host: LocalHost;
let dataDir: string;
let acs: AcsIdentityEmulator;
let identity: ManagedIdentityEmulator;
let echo: http.Server;
let echoUrl: string;
let received: { authorization: string | undefined }[] = [];

beforeAll(async () => {
  echo = http.createServer((req, res) => {
    received.push({ authorization: req.headers.authorization });
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('pong');
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/vm/restart`;
  // A loopback endpoint in local.settings.json asks for the managed-identity path against the emulator.
  ({ host, dataDir } = await startSamplesHost(
    'fidelity-identity',
    { COMMUNICATION_SERVICES_ENDPOINT: 'https://127.0.0.1' },
    { emulators: 'auto' },
  ));
  acs = host.emulators?.acs as AcsIdentityEmulator;
  identity = host.emulators?.managedIdentity as ManagedIdentityEmulator;
}, 60_000);

afterAll(async () => {
  await host?.stop();
  echo.closeAllConnections();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
  identity.setUnavailable(false);
});

describe('ACS on COMMUNICATION_SERVICES_ENDPOINT + DefaultAzureCredential', () => {
  it('points the app at the emulator over https, with the identity endpoint and no connection string', () => {
    expect(host.settings.COMMUNICATION_SERVICES_ENDPOINT).toBe(acs.httpsUrl);
    expect(acs.httpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(host.settings.COMMUNICATION_SERVICES_CONNECTION_STRING).toBeUndefined();
    expect(host.settings.IDENTITY_ENDPOINT).toBe(identity.identityEndpoint);
    expect(host.settings.IDENTITY_HEADER).toBe(identity.identityHeader);
  });

  it('creates a user and token with the real CommunicationIdentityClient and DefaultAzureCredential', async () => {
    const client = new CommunicationIdentityClient(
      host.settings.COMMUNICATION_SERVICES_ENDPOINT ?? '',
      new DefaultAzureCredential(),
    );
    const { user, token } = await client.createUserAndToken(['chat']);
    expect(acs.identities().map((i) => i.id)).toContain(user.communicationUserId);
    expect(acs.validateToken(token)).toMatchObject({ valid: true, scopes: ['chat'] });
    expect(identity.issuedFor()).toContain('https://communication.azure.com/');
  });

  it('serves a function that uses the same path (endpoint + DefaultAzureCredential)', async () => {
    const response = await fetch(`${host.url}/api/acs/users`, { method: 'POST' });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { communicationUserId: string };
    expect(acs.identities().map((i) => i.id)).toContain(body.communicationUserId);
  });

  it('refuses bearer tokens the identity did not sign, or for another audience', async () => {
    const call = (token: string): Promise<Response> =>
      fetch(`${acs.httpsUrl}/identities?api-version=2023-10-01`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt(generateSigningKey(), {
      aud: 'https://communication.azure.com',
      iat: now,
      exp: now + 3600,
    });
    expect((await call(forged)).status).toBe(401);
    const graphToken = (await (
      await fetch(
        `${identity.identityEndpoint}?api-version=2019-08-01&resource=https://graph.microsoft.com`,
        {
          headers: { 'x-identity-header': identity.identityHeader },
        },
      )
    ).json()) as { access_token: string };
    expect((await call(graphToken.access_token)).status).toBe(401);
    const wrongSecret = await fetch(
      `${identity.identityEndpoint}?api-version=2019-08-01&resource=https://communication.azure.com`,
      { headers: { 'x-identity-header': 'guess' } },
    );
    expect(wrongSecret.status).toBe(401);
  });
});

describe('callHttp with a ManagedIdentityTokenSource', () => {
  async function run(input: unknown): Promise<{ runtimeStatus: string; output: unknown }> {
    const response = await fetch(`${host.url}/api/orchestrators/callHttpWithManagedIdentity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    expect(response.status).toBe(202);
    const { statusQueryGetUri } = (await response.json()) as { statusQueryGetUri: string };
    await host.whenIdle();
    return (await (await fetch(statusQueryGetUri)).json()) as {
      runtimeStatus: string;
      output: unknown;
    };
  }

  it('sends Authorization: Bearer with the identity token for the resource', async () => {
    const status = await run({ url: echoUrl, resource: 'https://management.core.windows.net/' });
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      output: { statusCode: 200, content: 'pong' },
    });
    expect(received).toHaveLength(1);
    const token = /^Bearer (.+)$/.exec(received[0]?.authorization ?? '')?.[1] ?? '';
    const decoded = decodeJwt(token);
    expect(decoded).toBeDefined();
    expect(verifySignature(decoded!, [identity.publicKey])).toBe(true);
    // The extension turns the bare management resource into its .default scope.
    expect(decoded?.payload.aud).toBe('https://management.core.windows.net');
    expect(decoded?.payload.oid).toBe(identity.objectId);
  });

  it('sends no Authorization header without a token source', async () => {
    const status = await run({ url: echoUrl });
    expect(status.runtimeStatus).toBe('Completed');
    expect(received).toEqual([{ authorization: undefined }]);
  });

  it('fails with a clear error and sends nothing when no token can be had', async () => {
    identity.setUnavailable(true);
    const status = await run({ url: echoUrl, resource: 'https://vault.azure.net' });
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain("no token for 'https://vault.azure.net'");
    expect(String(status.output)).toContain('the request was not sent');
    expect(String(status.output)).not.toContain(identity.identityHeader);
    expect(received).toEqual([]);
  });
});
