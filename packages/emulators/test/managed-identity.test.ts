/**
 * The managed-identity endpoint as @azure/identity calls it (ManagedIdentityCredential through MSAL's App
 * Service source), the ACS emulator's bearer path over https, and the loopback-only certificate trust.
 */
import https from 'node:https';
import { CommunicationIdentityClient } from '@azure/communication-identity';
import { ManagedIdentityCredential } from '@azure/identity';
import { decodeJwt, verifySignature } from '../src/common/jwt';
import { trustLoopbackCertificate } from '../src/common/tls';
import { startEmulators, type Emulators } from '../src/index';

let emus: Emulators;
let untrust: () => void;
const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

beforeAll(async () => {
  emus = await startEmulators({ log: () => undefined });
  process.env.IDENTITY_ENDPOINT = emus.managedIdentity.identityEndpoint;
  process.env.IDENTITY_HEADER = emus.managedIdentity.identityHeader;
  untrust = trustLoopbackCertificate(emus.certificate.cert);
});

afterAll(async () => {
  untrust();
  if (saved.endpoint === undefined) delete process.env.IDENTITY_ENDPOINT;
  else process.env.IDENTITY_ENDPOINT = saved.endpoint;
  if (saved.header === undefined) delete process.env.IDENTITY_HEADER;
  else process.env.IDENTITY_HEADER = saved.header;
  await emus.close();
});

it('issues ManagedIdentityCredential a token for the scope, signed by the endpoint', async () => {
  const token = await new ManagedIdentityCredential().getToken('https://vault.azure.net/.default');
  expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_600_000);
  const decoded = decodeJwt(token.token);
  expect(decoded && verifySignature(decoded, [emus.managedIdentity.publicKey])).toBe(true);
  expect(decoded?.payload).toMatchObject({
    aud: 'https://vault.azure.net',
    oid: emus.managedIdentity.objectId,
    tid: emus.managedIdentity.tenantId,
    idtyp: 'app',
  });
});

it('fails ManagedIdentityCredential when no identity is assigned', async () => {
  emus.managedIdentity.setUnavailable(true);
  try {
    await expect(
      new ManagedIdentityCredential().getToken('https://storage.azure.com/.default'),
    ).rejects.toThrow();
  } finally {
    emus.managedIdentity.setUnavailable(false);
  }
});

it('lets CommunicationIdentityClient on the https endpoint authenticate with the identity', async () => {
  const client = new CommunicationIdentityClient(
    emus.acs.httpsUrl ?? '',
    new ManagedIdentityCredential(),
  );
  const user = await client.createUser();
  expect(emus.acs.identities().map((i) => i.id)).toEqual([user.communicationUserId]);
  // The HMAC path still works on the same emulator.
  const keyed = new CommunicationIdentityClient(emus.acs.connectionString, {
    allowInsecureConnection: true,
  });
  await keyed.revokeTokens(user);
});

it('trusts the certificate for loopback names only', async () => {
  const port = Number(new URL(emus.acs.httpsUrl ?? '').port);
  const status = (servername?: string): Promise<string> =>
    new Promise((resolve) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port,
            path: '/_emulator/health',
            agent: new https.Agent(),
            servername,
          },
          (res) => {
            res.resume();
            resolve(String(res.statusCode));
          },
        )
        .on('error', (e) => resolve(e.message));
    });
  expect(await status()).toBe('200');
  // The same server presented for another name is not trusted (and its name does not match either).
  expect(await status('example.test')).not.toBe('200');
});
