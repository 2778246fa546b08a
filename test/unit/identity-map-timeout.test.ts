/**
 * The identity map's Table calls are bounded: a storage endpoint that accepts the connection and never
 * answers gives an UpstreamUnavailableError after the timeout instead of holding the invocation.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { UpstreamUnavailableError } from '../../src/errors';
import { TableIdentityMapStore } from '../../src/me/identity-map-table';

// Azurite's published development account key (not a secret).
const DEV_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

let server: net.Server;
const sockets = new Set<net.Socket>();
let endpoint: string;

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket); // read the request, never answer
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devstoreaccount1`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('gives up on a hung storage connection after its timeout', async () => {
  const store = TableIdentityMapStore.create(
    {
      kind: 'connectionString',
      connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};TableEndpoint=${endpoint};`,
    },
    'IdentityMap',
    { timeoutMs: 200 },
  );
  const started = Date.now();
  const key = { tenantId: 't', objectId: 'o' };
  await expect(store.get(key)).rejects.toBeInstanceOf(UpstreamUnavailableError);
  expect(Date.now() - started).toBeLessThan(10_000);
});
