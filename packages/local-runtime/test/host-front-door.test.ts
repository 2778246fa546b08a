import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalHost } from '../src/index';
import { ManualClock, startLocalHost } from '../src/index';
import { registerFunction } from '../src/host/core-api';
import { hookCounts, resetSlowGate, slowGate, timerCalls } from './fixtures/front-door-app/index';

const fixtureDir = path.join(__dirname, 'fixtures', 'front-door-app');

let host: LocalHost;
let dataDir: string;
const clock = new ManualClock('2030-01-01T00:00:03.000Z');
const logLines: string[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'front-door-'));
  process.env.FIXTURE_OVERRIDDEN_BY_ENV = 'env';
  host = await startLocalHost({
    appDir: fixtureDir,
    settingsFile: 'fixture.settings.json',
    settings: { FIXTURE_EXPLICIT: 'explicit', 'AzureWebJobs.disabledOne.Disabled': 'true' },
    dataDir,
    clock,
    engine: false,
    maxRequestBodyBytes: 1024,
    log: (_level, line) => logLines.push(line),
  });
});

afterAll(async () => {
  await host.stop();
  delete process.env.FIXTURE_OVERRIDDEN_BY_ENV;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function problemOf(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as Record<string, unknown>;
}

/** Raw request, for bodies without Content-Length. */
function chunkedPost(url: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (e) => {
      // The host may close the connection right after answering 413; the answer already arrived.
      if (
        (e as NodeJS.ErrnoException).code !== 'ECONNRESET' &&
        (e as NodeJS.ErrnoException).code !== 'EPIPE'
      )
        reject(e);
    });
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('loading the app', () => {
  it('registers every function from every entry file of the main glob', () => {
    const names = host.app.functions.map((f) => f.metadata.name).sort();
    expect(names).toEqual(
      [
        'DefaultRoute',
        'adminOnly',
        'disabledOne',
        'echo',
        'empty',
        'fail',
        'files',
        'fromSecondEntry',
        'hello',
        'hooks',
        'item',
        'itemByName',
        'itemsLiteral',
        'logs',
        'secure',
        'settings',
        'slow',
        'everyTenSeconds',
      ].sort(),
    );
    expect(host.app.entryFiles.map((f) => path.relative(fixtureDir, f))).toEqual([
      'index.ts',
      path.join('more', 'extra-functions.ts'),
    ]);
  });

  it('locks indexing after startup and reports the capabilities', () => {
    expect(() => registerFunction({ name: 'late', bindings: {} }, () => undefined)).toThrow(
      'A function can only be registered during app startup.',
    );
    expect(host.app.capabilities).toMatchObject({
      RawHttpBodyBytes: 'true',
      UseNullableValueDictionaryForHttp: 'true',
    });
  });

  it('lists HTTP functions with methods and URLs like func start', () => {
    const hello = host.httpFunctions.find((f) => f.name === 'hello');
    expect(hello).toEqual({
      name: 'hello',
      methods: ['GET', 'POST'],
      authLevel: 'anonymous',
      url: `${host.url}/api/hello/{name?}`,
    });
  });

  it('runs appStart once and the invocation hooks around every invocation', async () => {
    const first = (await (await fetch(`${host.url}/api/hooks`)).json()) as {
      appStart: number;
      pre: number;
      post: number;
    };
    const second = (await (await fetch(`${host.url}/api/hooks`)).json()) as {
      appStart: number;
      pre: number;
      post: number;
    };
    expect(first.appStart).toBe(1);
    expect(second.pre).toBe(first.pre + 1);
    // The post hook of the first call ran after its handler built the response.
    expect(second.post).toBe(first.post + 1);
  });

  it('exposes settings as process.env: file values, overridden by the environment, then by explicit settings', async () => {
    const body = (await (await fetch(`${host.url}/api/settings`)).json()) as Record<
      string,
      unknown
    >;
    expect(body).toEqual({ fromFile: 'file', overriddenByEnv: 'env', explicit: 'explicit' });
  });
});

describe('logging', () => {
  it("passes user logs through the app's log hooks, which may redact them", async () => {
    expect((await fetch(`${host.url}/api/logs`)).status).toBe(200);
    expect(logLines).toContain('[logs] calling upstream with token=[redacted]');
    expect(logLines.join('\n')).not.toContain('abc123secret');
  });

  it('logs a failed invocation without the response carrying its details', async () => {
    await (await fetch(`${host.url}/api/fail`)).arrayBuffer();
    expect(logLines.some((l) => l.startsWith("Executed 'Functions.fail' (Failed"))).toBe(true);
  });
});

describe('routing', () => {
  it('passes route params, query, method, headers and the absolute URL to the function', async () => {
    const response = await fetch(`${host.url}/api/hello/bob?q=1`, { headers: { 'x-test': 'yes' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      name: 'bob',
      q: '1',
      method: 'GET',
      url: `${host.url}/api/hello/bob?q=1`,
      body: '',
      functionName: 'hello',
      header: 'yes',
    });
  });

  it('accepts a missing optional param and decodes encoded params', async () => {
    const none = (await (await fetch(`${host.url}/api/hello`)).json()) as { name: unknown };
    expect(none.name).toBeNull();
    const encoded = (await (await fetch(`${host.url}/api/hello/a%20b`)).json()) as {
      name: unknown;
    };
    expect(encoded.name).toBe('a b');
  });

  it('matches the route prefix and literals case-insensitively', async () => {
    const response = await fetch(`${host.url}/API/Hello/x`);
    expect(response.status).toBe(200);
  });

  it('applies constraints and prefers literal segments', async () => {
    expect(await (await fetch(`${host.url}/api/items/42`)).json()).toEqual({
      id: '42',
      kind: 'int',
    });
    expect(await (await fetch(`${host.url}/api/items/abc`)).json()).toEqual({
      name: 'abc',
      kind: 'alpha',
    });
    expect(await (await fetch(`${host.url}/api/items/special`)).json()).toEqual({
      kind: 'literal',
    });
    const neither = await fetch(`${host.url}/api/items/a1`);
    expect(neither.status).toBe(404);
  });

  it('captures the rest of the path in a catch-all param', async () => {
    expect(await (await fetch(`${host.url}/api/files/a/b/c.txt`)).json()).toEqual({
      path: 'a/b/c.txt',
    });
    expect(await (await fetch(`${host.url}/api/files`)).json()).toEqual({ path: null });
  });

  it('uses the function name when no route is given', async () => {
    const response = await fetch(`${host.url}/api/DefaultRoute`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('default route');
  });

  it('answers 404 problem+json for unknown routes and paths outside the prefix', async () => {
    for (const p of ['/api/nope', '/hello/bob', '/']) {
      const response = await fetch(`${host.url}${p}`);
      expect(response.status).toBe(404);
      const problem = await problemOf(response);
      expect(problem).toMatchObject({ status: 404, title: 'Not Found' });
      expect(typeof problem.detail).toBe('string');
    }
  });

  it('does not route functions disabled with AzureWebJobs.<name>.Disabled', async () => {
    expect([...host.disabledFunctions]).toEqual(['disabledOne']);
    const response = await fetch(`${host.url}/api/disabled`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('should not run');
  });

  it('answers 405 with Allow for a known route and a wrong method', async () => {
    const response = await fetch(`${host.url}/api/hello/bob`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
    expect(await problemOf(response)).toMatchObject({ status: 405 });
  });
});

describe('responses', () => {
  it('returns status, body bytes, headers and cookies set by the function', async () => {
    const payload = Buffer.from([0, 1, 2, 250, 255]);
    const response = await fetch(`${host.url}/api/echo`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-length')).toBe('5');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(payload);
    expect(response.headers.get('set-cookie')).toBe('session=abc; Path=/; HttpOnly; SameSite=Lax');
  });

  it('answers 204 when the handler returns nothing', async () => {
    const response = await fetch(`${host.url}/api/empty`, { method: 'DELETE' });
    expect(response.status).toBe(204);
  });

  it('answers a generic 500 problem without internals when the function throws', async () => {
    const response = await fetch(`${host.url}/api/fail`);
    expect(response.status).toBe(500);
    const problem = await problemOf(response);
    expect(problem).toMatchObject({ status: 500, title: 'Internal Server Error' });
    expect(JSON.stringify(problem)).not.toContain('internal detail');
  });
});

describe('authLevel', () => {
  it('requires a key for function level, in the header or ?code=', async () => {
    const missing = await fetch(`${host.url}/api/secure`);
    expect(missing.status).toBe(401);
    expect(await problemOf(missing)).toMatchObject({ status: 401 });
    const wrong = await fetch(`${host.url}/api/secure`, {
      headers: { 'x-functions-key': 'wrong' },
    });
    expect(wrong.status).toBe(401);
    const header = await fetch(`${host.url}/api/secure`, {
      headers: { 'x-functions-key': host.keys.functionKey },
    });
    expect(header.status).toBe(200);
    const query = await fetch(
      `${host.url}/api/secure?code=${encodeURIComponent(host.keys.functionKey)}`,
    );
    expect(query.status).toBe(200);
    const master = await fetch(`${host.url}/api/secure`, {
      headers: { 'x-functions-key': host.keys.masterKey },
    });
    expect(master.status).toBe(200);
  });

  it('requires the master key for admin level', async () => {
    const withFunctionKey = await fetch(`${host.url}/api/admin-only`, {
      headers: { 'x-functions-key': host.keys.functionKey },
    });
    expect(withFunctionKey.status).toBe(401);
    const withMaster = await fetch(`${host.url}/api/admin-only`, {
      headers: { 'x-functions-key': host.keys.masterKey },
    });
    expect(withMaster.status).toBe(200);
    expect(await withMaster.text()).toBe('admin-level ok');
  });

  it('generates distinct keys on first start and keeps them under the data folder', () => {
    const stored = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'host-keys.json'), 'utf8'),
    ) as Record<string, string>;
    expect(stored).toEqual(host.keys);
    expect(new Set([host.keys.functionKey, host.keys.masterKey, host.keys.systemKey]).size).toBe(3);
  });

  it('serves /admin/host/status with the master key only', async () => {
    expect((await fetch(`${host.url}/admin/host/status`)).status).toBe(401);
    const ok = await fetch(`${host.url}/admin/host/status`, {
      headers: { 'x-functions-key': host.keys.masterKey },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ state: 'Running' });
  });
});

describe('request body limit', () => {
  it('answers 413 when Content-Length exceeds the limit', async () => {
    const response = await fetch(`${host.url}/api/echo`, {
      method: 'POST',
      body: Buffer.alloc(2048, 1),
    });
    expect(response.status).toBe(413);
    expect(await problemOf(response)).toMatchObject({ status: 413, title: 'Payload Too Large' });
  });

  it('answers 413 when a chunked body grows past the limit', async () => {
    const result = await chunkedPost(`${host.url}/api/echo`, [
      Buffer.alloc(600, 1),
      Buffer.alloc(600, 2),
    ]);
    expect(result.status).toBe(413);
  });

  it('accepts a body at the limit', async () => {
    const response = await fetch(`${host.url}/api/echo`, {
      method: 'POST',
      body: Buffer.alloc(1024, 1),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-length')).toBe('1024');
  });
});

describe('CORS from Host.CORS', () => {
  it('adds CORS headers for an allowed origin only', async () => {
    const allowed = await fetch(`${host.url}/api/hello`, {
      headers: { origin: 'http://allowed.example' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://allowed.example');
    const other = await fetch(`${host.url}/api/hello`, {
      headers: { origin: 'http://evil.example' },
    });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflight requests', async () => {
    const preflight = await fetch(`${host.url}/api/echo`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://also.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://also.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
    const denied = await fetch(`${host.url}/api/echo`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('timer triggers', () => {
  it('run on the runtime clock with the NCRONTAB schedule from a %setting% reference', async () => {
    expect(timerCalls).toHaveLength(0);
    clock.advance(6_999);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(timerCalls).toHaveLength(0);
    clock.advance(1);
    for (let i = 0; i < 100 && timerCalls.length === 0; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(timerCalls).toEqual([{ isPastDue: false, next: '2030-01-01T00:00:20.000Z' }]);
  });

  it('can be run on demand through POST /admin/functions/{name} with the master key', async () => {
    const url = `${host.url}/admin/functions/everyTenSeconds`;
    const body = JSON.stringify({ input: '' });
    expect((await fetch(url, { method: 'POST', body })).status).toBe(401);
    const accepted = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'x-functions-key': host.keys.masterKey },
    });
    expect(accepted.status).toBe(202);
    expect(timerCalls).toHaveLength(2);
    const unknown = await fetch(`${host.url}/admin/functions/hello`, {
      method: 'POST',
      body,
      headers: { 'x-functions-key': host.keys.masterKey },
    });
    expect(unknown.status).toBe(404);
    await problemOf(unknown);
  });
});

describe('malformed requests', () => {
  function rawRequest(lines: string): Promise<{ status: number; contentType: string | undefined }> {
    return new Promise((resolve, reject) => {
      const req = http.request(host.url + '/api/hello', { headers: { host: lines } }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('answers 400 problem+json for a Host header with userinfo, and serves a normal one', async () => {
    for (const value of ['user@evil.example', 'a@b:1', 'x y']) {
      expect(await rawRequest(value)).toEqual({
        status: 400,
        contentType: 'application/problem+json',
      });
    }
    expect((await rawRequest(`127.0.0.1:${new URL(host.url).port}`)).status).toBe(200);
    expect((await rawRequest('[::1]:7071')).status).toBe(200);
  });

  it('treats a client that aborts mid-body as a disconnect, not an error', async () => {
    const before = logLines.length;
    await new Promise<void>((resolve) => {
      const req = http.request(host.url + '/api/echo', {
        method: 'POST',
        headers: { 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('x'.repeat(100), () => {
        setImmediate(() => {
          req.destroy();
          resolve();
        });
      });
    });
    for (let i = 0; i < 400 && !logLines.slice(before).some((l) => /disconnected/.test(l)); i++)
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
    expect(logLines.slice(before)).toContain(
      'The client disconnected before its request was complete.',
    );
    // The host is still serving, and logged nothing about it as a front-door failure.
    expect((await fetch(`${host.url}/api/hello`)).status).toBe(200);
    expect(logLines.slice(before).filter((l) => /front door error/i.test(l))).toEqual([]);
  });
});

describe('host.json concurrency limits', () => {
  it('runs at most maxConcurrentRequests functions at once and answers 429 beyond maxOutstandingRequests', async () => {
    resetSlowGate();
    const requests = Array.from({ length: 4 }, () => fetch(`${host.url}/api/slow`));
    // Two run, one waits, so the fourth is the only one that can finish before the gate opens.
    const first = await Promise.race(requests);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    slowGate.release();
    const statuses = (await Promise.all(requests)).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(slowGate.maxRunning).toBe(2);
  });
});

describe('durable webhooks without an engine', () => {
  it('answers 404 problem+json', async () => {
    const response = await fetch(`${host.url}/runtime/webhooks/durabletask/instances`);
    expect(response.status).toBe(404);
    await problemOf(response);
  });
});

// Last: stops the host.
describe('stop', () => {
  it('lets in-flight requests finish, then runs appTerminate, refuses connections and restores the environment', async () => {
    resetSlowGate();
    const inFlight = fetch(`${host.url}/api/slow`);
    while (slowGate.running === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    let stopped = false;
    const stopping = host.stop().then(() => {
      stopped = true;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    expect(hookCounts.appTerminate).toBe(0);
    slowGate.release();
    expect((await inFlight).status).toBe(200);
    await stopping;
    expect(hookCounts.appTerminate).toBe(1);
    await expect(fetch(`${host.url}/api/hello`)).rejects.toThrow();
    expect(process.env.FIXTURE_FROM_FILE).toBeUndefined();
    expect(process.env.WEBSITE_HOSTNAME).toBeUndefined();
  });
});
