import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Agent } from 'undici';

import {
  UnauthenticatedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../src/errors';
import {
  DownstreamApiError,
  SidecarClient,
  SidecarClientError,
  SidecarServerError,
  backoffDelayMs,
  parseRetryAfterMs,
  splitAuthorizationHeader,
  DEFAULT_RETRY_POLICY,
} from '../../src/me/sidecar';
import type { SidecarLogEntry } from '../../src/me/sidecar';

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

type Reply = (req: Recorded, res: ServerResponse) => void;

const TOKEN = 'eyJhbGciOiJub25lIn0.eyJvaWQiOiJ1c2VyIn0.c2VjcmV0LXNpZ25hdHVyZQ';

let server: Server;
let baseUrl: URL;
let requests: Recorded[] = [];
let replies: Reply[] = [];
let agent: Agent;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

function problem(status: number, title: string, detail: string): Reply {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ type: 'about:blank', title, status, detail }));
  };
}

function empty(status: number, headers: Record<string, string> = {}): Reply {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end();
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const recorded: Recorded = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const reply =
        replies.shift() ?? json(200, { authorizationHeader: 'Bearer downstream-token' });
      reply(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  agent = new Agent({ keepAliveTimeout: 1000 });
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests = [];
  replies = [];
});

function client(overrides: Partial<ConstructorParameters<typeof SidecarClient>[0]> = {}): {
  client: SidecarClient;
  sleeps: number[];
  logs: SidecarLogEntry[];
} {
  const sleeps: number[] = [];
  const logs: SidecarLogEntry[] = [];
  const c = new SidecarClient({
    baseUrl,
    dispatcher: agent,
    timeoutMs: 2000,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    log: (e) => logs.push(e),
    ...overrides,
  });
  return { client: c, sleeps, logs };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

// The base URL itself (loopback, no query, trailing slash) is validated with the settings: config.test.ts.
describe('base URL', () => {
  it('keeps a base path so routes resolve below it', async () => {
    const { client: c } = client({ baseUrl: new URL('sidecar/', baseUrl) });
    await c.getAuthorizationHeader(TOKEN, 'graph');
    expect(requests[0]!.path).toBe('/sidecar/AuthorizationHeader/graph');
  });
});

describe('getAuthorizationHeader', () => {
  it('forwards the caller token and returns the header value', async () => {
    const { client: c } = client();
    replies.push(json(200, { authorizationHeader: 'Bearer obo-token' }));
    await expect(c.getAuthorizationHeader(`Bearer ${TOKEN}`, 'graph')).resolves.toBe(
      'Bearer obo-token',
    );
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/AuthorizationHeader/graph' });
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect([...requests[0]!.query.keys()]).toEqual([]);
  });

  it('adds the Bearer scheme to a bare token', async () => {
    const { client: c } = client();
    await c.getAuthorizationHeader(TOKEN, 'graph');
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('sends the scope override as repeated optionsOverride.Scopes', async () => {
    const { client: c } = client();
    await c.getAuthorizationHeader(TOKEN, 'my api', { scopes: ['User.Read', 'Mail.Send'] });
    const r = requests[0]!;
    expect(r.path).toBe('/AuthorizationHeader/my%20api');
    expect(r.query.getAll('optionsOverride.Scopes')).toEqual(['User.Read', 'Mail.Send']);
  });

  it('refuses an empty scope as a programming error without calling the sidecar', async () => {
    const { client: c } = client();
    await expect(c.getAuthorizationHeader(TOKEN, 'graph', { scopes: [''] })).rejects.toThrow(
      TypeError,
    );
    expect(requests).toHaveLength(0);
  });

  it('refuses a missing or malformed incoming token without calling the sidecar', async () => {
    const { client: c } = client();
    for (const bad of ['', '   ', 'Bearer', 'Bearer a b', 'Bearer tok\r\nX-Evil: 1']) {
      await expect(c.getAuthorizationHeader(bad, 'graph')).rejects.toBeInstanceOf(
        UnauthenticatedError,
      );
    }
    expect(requests).toHaveLength(0);
  });

  it('rejects an API name that would change the route (a programming error, not a 400)', async () => {
    const { client: c } = client();
    await expect(c.getAuthorizationHeader(TOKEN, '../Validate')).rejects.toThrow(TypeError);
    expect(requests).toHaveLength(0);
  });

  it('treats a response without a usable header as an upstream failure', async () => {
    const { client: c } = client();
    replies.push(json(200, { authorizationHeader: '' }));
    await expect(c.getAuthorizationHeader(TOKEN, 'graph')).rejects.toBeInstanceOf(UpstreamError);
    replies.push((_r, res) => res.end('not json'));
    await expect(c.getAuthorizationHeader(TOKEN, 'graph')).rejects.toBeInstanceOf(UpstreamError);
  });

  it('splits a header into scheme and token', () => {
    expect(splitAuthorizationHeader('Bearer abc.def')).toEqual({
      scheme: 'Bearer',
      token: 'abc.def',
    });
    expect(() => splitAuthorizationHeader('Bearer')).toThrow(UpstreamError);
  });
});

describe('callDownstreamApi', () => {
  it('POSTs to the sidecar with the downstream verb, path and JSON body', async () => {
    const { client: c } = client();
    replies.push(json(200, { statusCode: 202, headers: {}, content: null }));
    const body = { message: { subject: 'hi' }, saveToSentItems: false };
    const content = await c.callDownstreamApi(`Bearer ${TOKEN}`, 'graph', 'me/sendMail', {
      method: 'post',
      body,
    });
    expect(content).toBeNull();
    const r = requests[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/DownstreamApi/graph');
    expect(r.query.get('optionsOverride.HttpMethod')).toBe('POST');
    expect(r.query.get('optionsOverride.RelativePath')).toBe('me/sendMail');
    expect(r.query.get('optionsOverride.ContentType')).toBe('application/json');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(r.body)).toEqual(body);
  });

  it('sends no body and no Content-Type when there is no body', async () => {
    const { client: c } = client();
    replies.push(json(200, { statusCode: 200, headers: {}, content: null }));
    await c.callDownstreamApi(TOKEN, 'graph', 'me');
    expect(requests[0]!.headers['content-type']).toBeUndefined();
    expect(requests[0]!.body).toBe('');
    expect(requests[0]!.query.has('optionsOverride.HttpMethod')).toBe(false);
  });

  it('parses JSON content by the list-valued content type header', async () => {
    const { client: c } = client();
    replies.push(
      json(200, {
        statusCode: 200,
        headers: { 'Content-Type': ['application/json; charset=utf-8'], 'Content-Length': ['27'] },
        content: '{"displayName":"Ada","n":1}',
      }),
    );
    await expect(c.callDownstreamApi(TOKEN, 'graph', 'me')).resolves.toEqual({
      displayName: 'Ada',
      n: 1,
    });
  });

  it('returns non-JSON content as a string', async () => {
    const { client: c } = client();
    replies.push(
      json(200, { statusCode: 200, headers: { 'Content-Type': ['text/plain'] }, content: '{x' }),
    );
    await expect(c.callDownstreamApi(TOKEN, 'graph', 'x')).resolves.toBe('{x');
  });

  it('raises DownstreamApiError with the downstream status and content', async () => {
    const { client: c } = client();
    const graphError = { error: { code: 'ErrorItemNotFound', message: 'not found' } };
    replies.push(
      json(200, {
        statusCode: 404,
        headers: { 'Content-Type': ['application/json'] },
        content: JSON.stringify(graphError),
      }),
    );
    const error = await caught(c.callDownstreamApi(TOKEN, 'graph', 'me/messages/x'));
    expect(error).toBeInstanceOf(DownstreamApiError);
    const e = error as DownstreamApiError;
    expect(e.downstreamStatus).toBe(404);
    expect(e.upstreamStatus).toBe(404);
    expect(e.content).toEqual(graphError);
    expect(e.status).toBe(502);
    expect(requests).toHaveLength(1);
  });

  it('does not retry a downstream 5xx (the sidecar answered)', async () => {
    const { client: c } = client();
    replies.push(json(200, { statusCode: 503, headers: {}, content: null }));
    const error = await caught(c.callDownstreamApi(TOKEN, 'graph', 'me'));
    expect(error).toBeInstanceOf(DownstreamApiError);
    expect((error as DownstreamApiError).downstreamStatus).toBe(503);
    expect(requests).toHaveLength(1);
  });

  it('rejects a malformed sidecar result', async () => {
    const { client: c } = client();
    replies.push(json(200, { headers: {}, content: null }));
    await expect(c.callDownstreamApi(TOKEN, 'graph', 'me')).rejects.toBeInstanceOf(UpstreamError);
  });
});

describe('validate', () => {
  it('returns the claims and drops the echoed token', async () => {
    const { client: c } = client();
    replies.push(
      json(200, {
        protocol: 'Bearer',
        token: TOKEN,
        claims: { oid: 'o1', tid: 't1', scp: 'access' },
      }),
    );
    const result = await c.validate(TOKEN);
    expect(result).toEqual({ protocol: 'Bearer', claims: { oid: 'o1', tid: 't1', scp: 'access' } });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/Validate' });
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('raises SidecarClientError(401) for a rejected token, without retrying', async () => {
    const { client: c, sleeps } = client();
    replies.push(empty(401, { 'www-authenticate': 'Bearer' }));
    const error = await caught(c.validate(TOKEN));
    expect(error).toBeInstanceOf(SidecarClientError);
    expect((error as SidecarClientError).upstreamStatus).toBe(401);
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});

describe('errors and retries', () => {
  it('keeps the problem title of a 4xx but never its detail (it can echo a UPN)', async () => {
    const { client: c } = client();
    replies.push(
      problem(400, 'Bad Request', "No scopes found for the API 'nope' (user ada@contoso.com)"),
    );
    const error = await caught(c.getAuthorizationHeader(TOKEN, 'nope'));
    expect(error).toBeInstanceOf(SidecarClientError);
    const e = error as SidecarClientError;
    expect(e.upstreamStatus).toBe(400);
    expect(e.problemTitle).toBe('Bad Request');
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain('ada@contoso.com');
    expect(requests).toHaveLength(1);
  });

  it.each([400, 401, 403, 404, 405, 409])('never retries %i', async (status) => {
    const { client: c, sleeps } = client();
    replies.push(empty(status));
    await expect(c.getAuthorizationHeader(TOKEN, 'graph')).rejects.toBeInstanceOf(
      SidecarClientError,
    );
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it.each([408, 429, 500, 502, 503, 504])('retries %i and then succeeds', async (status) => {
    const { client: c, sleeps } = client();
    replies.push(empty(status), empty(status));
    await expect(c.getAuthorizationHeader(TOKEN, 'graph')).resolves.toBe('Bearer downstream-token');
    expect(requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('gives up after 3 retries on 5xx with a SidecarServerError', async () => {
    const { client: c, sleeps } = client();
    replies.push(empty(500), empty(502), empty(503), empty(500), empty(500));
    const error = await caught(c.getAuthorizationHeader(TOKEN, 'graph'));
    expect(error).toBeInstanceOf(SidecarServerError);
    expect((error as SidecarServerError).upstreamStatus).toBe(500);
    expect(requests).toHaveLength(4);
    // Exponential, with random() = 0.5: 3/4 of 200, 400, 800.
    expect(sleeps).toEqual([150, 300, 600]);
  });

  it('gives up after 3 retries on 429 with a client error', async () => {
    const { client: c } = client();
    replies.push(empty(429), empty(429), empty(429), empty(429));
    const error = await caught(c.getAuthorizationHeader(TOKEN, 'graph'));
    expect(error).toBeInstanceOf(SidecarClientError);
    expect((error as SidecarClientError).upstreamStatus).toBe(429);
    expect(requests).toHaveLength(4);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const { client: c, sleeps } = client();
    replies.push(
      empty(429, { 'retry-after': '2' }),
      empty(503, { 'retry-after': new Date(Date.now() + 10_000).toUTCString() }),
    );
    await c.getAuthorizationHeader(TOKEN, 'graph');
    expect(sleeps[0]).toBe(2000);
    // HTTP dates have one-second resolution.
    expect(sleeps[1]).toBeGreaterThan(8_000);
    expect(sleeps[1]).toBeLessThanOrEqual(10_000);
    expect(sleeps).toHaveLength(2);
  });

  it('does not wait for a Retry-After beyond the cap', async () => {
    const { client: c, sleeps } = client({ retry: { maxRetryAfterMs: 1000 } });
    replies.push(empty(429, { 'retry-after': '120' }));
    await expect(c.getAuthorizationHeader(TOKEN, 'graph')).rejects.toBeInstanceOf(
      SidecarClientError,
    );
    expect(sleeps).toEqual([]);
    expect(requests).toHaveLength(1);
  });

  it('does not retry a 5xx for a non-idempotent downstream call (it may have happened)', async () => {
    const { client: c, sleeps } = client();
    replies.push(empty(500));
    await expect(
      c.callDownstreamApi(TOKEN, 'graph', 'me/sendMail', { method: 'POST', body: {} }),
    ).rejects.toBeInstanceOf(SidecarServerError);
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('still retries a 429 for a non-idempotent downstream call (the sidecar did nothing)', async () => {
    const { client: c } = client();
    replies.push(empty(429), json(200, { statusCode: 202, headers: {}, content: null }));
    await c.callDownstreamApi(TOKEN, 'graph', 'me/sendMail', { method: 'POST', body: {} });
    expect(requests).toHaveLength(2);
  });

  it('retries a 5xx for an idempotent downstream call', async () => {
    const { client: c } = client();
    replies.push(empty(503), json(200, { statusCode: 200, headers: {}, content: null }));
    await c.callDownstreamApi(TOKEN, 'graph', 'me', { method: 'GET' });
    expect(requests).toHaveLength(2);
  });

  it('times out a call that does not answer', async () => {
    const { client: c, logs } = client({ timeoutMs: 100 });
    replies.push(() => {
      /* never answers */
    });
    const started = Date.now();
    const error = await caught(c.getAuthorizationHeader(TOKEN, 'graph'));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(requests).toHaveLength(1);
    expect(logs.at(-1)?.outcome).toBe('timeout');
  });

  it('keeps no transport error as the cause of a timeout (it can carry the token)', async () => {
    const { client: c } = client({ timeoutMs: 100 });
    replies.push(() => {
      /* never answers */
    });
    const error = await caught(c.validate(TOKEN));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as Error).cause).toBeUndefined();
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    const { client: c, sleeps } = client();
    const controller = new AbortController();
    replies.push(() => {
      controller.abort();
    });
    const error = await caught(
      c.getAuthorizationHeader(TOKEN, 'graph', { abortSignal: controller.signal }),
    );
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('reports an unreachable sidecar as UpstreamUnavailableError, without the request in the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { client: c, sleeps } = client({ baseUrl: new URL(`http://127.0.0.1:${port}/`) });
    const error = await caught(c.validate(TOKEN));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(sleeps).toEqual([]);
    expect(
      JSON.stringify((error as Error).cause, Object.getOwnPropertyNames((error as Error).cause)),
    ).not.toContain(TOKEN);
  });

  it('never logs tokens or query strings', async () => {
    const { client: c, logs } = client();
    replies.push(empty(503), json(200, { authorizationHeader: 'Bearer secret-downstream' }));
    await c.getAuthorizationHeader(TOKEN, 'graph', { scopes: ['ada@contoso.com'] });
    expect(logs.map((l) => [l.outcome, l.status])).toEqual([
      ['retry', 503],
      ['ok', 200],
    ]);
    const text = JSON.stringify(logs);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('secret-downstream');
    expect(text).not.toContain('ada@contoso.com');
    expect(logs[0]!.path).toBe('/AuthorizationHeader/graph');
  });

  it('reuses one keep-alive connection across calls', async () => {
    const pool = new Agent({ keepAliveTimeout: 5000 });
    const { client: c } = client({ dispatcher: pool });
    const sockets = new Set<unknown>();
    const listener = (_req: IncomingMessage, res: ServerResponse): void => {
      sockets.add(res.socket);
    };
    server.on('request', listener);
    try {
      for (let i = 0; i < 10; i++) await c.getAuthorizationHeader(TOKEN, 'graph');
    } finally {
      server.off('request', listener);
      await pool.close();
    }
    // undici may open a second connection while the first one is being released, never one per call.
    expect(sockets.size).toBeLessThanOrEqual(2);
  });
});

describe('retry helpers', () => {
  it('backoff doubles, stays within [exp/2, exp] and is capped', () => {
    const p = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs(0, p, () => 0)).toBe(50);
    expect(backoffDelayMs(0, p, () => 1)).toBe(100);
    expect(backoffDelayMs(2, p, () => 0)).toBe(200);
    expect(backoffDelayMs(10, p, () => 1)).toBe(1000);
  });

  it('parses Retry-After', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(
      parseRetryAfterMs(
        'Wed, 21 Oct 2015 07:28:10 GMT',
        Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'),
      ),
    ).toBe(10_000);
  });
});
