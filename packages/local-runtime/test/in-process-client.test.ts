/**
 * The in-process shortcut for the durable client's RPC calls, on durable-functions' own axios: what it answers
 * itself (headers and body as axios would send them, JSON parsed as axios would), and what it leaves to axios.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { RuntimeHttpRequest } from '../src/contracts';
import { registerInProcessRpc } from '../src/engine/in-process-client';

interface AxiosLike {
  create(config: Record<string, unknown>): {
    get(url: string, config?: Record<string, unknown>): Promise<{ status: number; data: unknown }>;
    post(url: string, data?: unknown): Promise<{ status: number; data: unknown }>;
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const axios = require(
  require.resolve('axios', {
    paths: [path.dirname(require.resolve('durable-functions/package.json'))],
  }),
) as AxiosLike;

let server: http.Server;
let listenerHits = 0;
let base: string;
let unregister: (() => void) | undefined;
const seen: RuntimeHttpRequest[] = [];

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    listenerHits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"via":"listener"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/durabletask/`;
  unregister = registerInProcessRpc(base, (request) => {
    seen.push(request);
    return Promise.resolve({
      status: request.method === 'POST' ? 202 : 200,
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from('{"via":"in-process"}'),
    });
  });
});

afterAll(async () => {
  unregister?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// The instance as DurableClient creates it.
const client = () =>
  axios.create({
    validateStatus: (status: number) => status < 600,
    headers: { post: { 'Content-Type': 'application/json' } },
    maxContentLength: Infinity,
  });

it('answers URLs under the registered base itself, with the headers and body axios would send', async () => {
  expect(unregister).toBeDefined();
  const got = await client().get(`${base}instances/abc?showInput=true`);
  expect(got).toMatchObject({ status: 200, data: { via: 'in-process' } });
  const posted = await client().post(
    `${base}instances/abc/raiseEvent/go`,
    JSON.stringify({ n: 1 }),
  );
  expect(posted).toMatchObject({ status: 202, data: { via: 'in-process' } });
  expect(listenerHits).toBe(0);
  const [get, post] = seen.slice(-2);
  expect(get).toMatchObject({ method: 'GET', path: '/durabletask/instances/abc' });
  expect(get!.query.get('showInput')).toBe('true');
  expect(get!.headers.accept).toContain('application/json');
  expect(post).toMatchObject({ method: 'POST', path: '/durabletask/instances/abc/raiseEvent/go' });
  expect(post!.headers['content-type']).toBe('application/json');
  expect(post!.body.toString()).toBe('{"n":1}');
});

it('leaves options it does not reproduce, and every other URL, to axios', async () => {
  const withParams = await client().get(`${base}instances/abc`, { params: { showInput: true } });
  expect(withParams.data).toEqual({ via: 'listener' });
  const other = await client().get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
  expect(other.data).toEqual({ via: 'listener' });
  expect(listenerHits).toBe(2);
});
