/**
 * The HTTP front door: the Functions host's routing, method and key checks, body limit and CORS in front of
 * HTTP-triggered functions, plus the Durable extension's webhooks and a few admin endpoints.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { DurableExtension, RuntimeHttpRequest, RuntimeHttpResponse } from '../contracts';
import type { HostKeys } from '../keys';
import { keyEquals } from '../keys';
import type { RegisteredFunction } from './core-api';
import type { FunctionHost } from './function-host';
import type { HostLog } from './logger';
import { sendProblem } from './problem';
import type { CompiledRoute } from './routes';
import { compileRoute, comparePrecedence, matchRoute } from './routes';
import { isTriggerType } from './rpc-types';
import { limitedBodyStream } from './streamed-body';

export type AuthLevel = 'anonymous' | 'function' | 'admin' | 'system';

export interface HttpRoute {
  readonly fn: RegisteredFunction;
  readonly route: CompiledRoute;
  /** Upper-cased; undefined means every method. */
  readonly methods: readonly string[] | undefined;
  readonly authLevel: AuthLevel;
}

/** Extra endpoints (e.g. the test clock); return undefined to fall through to normal routing. */
export type ExtraHandler = (
  request: RuntimeHttpRequest,
) => Promise<RuntimeHttpResponse | undefined> | RuntimeHttpResponse | undefined;

export interface FrontDoorOptions {
  readonly host: FunctionHost;
  readonly engine: DurableExtension | undefined;
  readonly keys: HostKeys;
  readonly routePrefix: string;
  readonly cors: { readonly origins: readonly string[]; readonly credentials: boolean };
  readonly maxRequestBodyBytes: number;
  /** HTTP functions running at once (host.json `maxConcurrentRequests`); undefined = unbounded. */
  readonly maxConcurrentRequests?: number;
  /** Running plus waiting HTTP invocations before 429 (host.json `maxOutstandingRequests`). */
  readonly maxOutstandingRequests?: number;
  readonly log: HostLog;
  readonly hostStatus: () => Record<string, unknown>;
  /** Functions disabled with `AzureWebJobs.<name>.Disabled`: not routed. */
  readonly disabledFunctions?: ReadonlySet<string>;
  /** Admin-key protected extra endpoints under `/admin/`. */
  readonly adminExtras?: ExtraHandler;
  /**
   * Bytes of request bodies buffered at once across all requests (default: twice `maxRequestBodyBytes`, at
   * least 16 MiB). A body that would exceed it is refused with 429 instead of growing the heap.
   */
  readonly maxBufferedBodyBytes?: number;
  /**
   * Whole-path handlers tried before the function routes (e.g. a dashboard under `/_dashboard`): the first
   * whose `prefix` matches the lower-cased path answers the request, with its own auth and body handling.
   */
  readonly routeHandlers?: readonly PrefixHandler[];
}

export interface PrefixHandler {
  /** Lower-case path prefix, e.g. `/_dashboard`; it matches the path itself and everything below it. */
  readonly prefix: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> | void;
}

const DURABLE_PREFIX = '/runtime/webhooks/durabletask';

class PayloadTooLargeError extends Error {}
/** All the bytes the front door may buffer are taken by other requests' bodies. */
class BodyBudgetExhaustedError extends Error {}
/** The client went away before its body was complete: an ordinary disconnect, not a host error. */
class ClientDisconnectedError extends Error {}

const MIN_BODY_BUDGET = 16 * 1024 * 1024;
const LISTEN_BACKLOG = 4096;

/** `host[:port]` as RFC 9110 allows it (reg-name or IP literal): anything else (e.g. userinfo with `@`) is refused. */
const VALID_HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::\d{0,5})?$/;

/** Bytes of request bodies held in memory at once, across requests. */
class BodyBudget {
  private used = 0;
  constructor(private readonly limit: number) {}
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used -= bytes;
  }
}

function normaliseAuthLevel(value: unknown): AuthLevel {
  const level = typeof value === 'string' ? value.toLowerCase() : 'anonymous';
  return level === 'function' || level === 'admin' || level === 'system' ? level : 'anonymous';
}

export function buildHttpRoutes(functions: readonly RegisteredFunction[]): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const fn of functions) {
    const trigger = Object.values(fn.metadata.bindings).find((b) => isTriggerType(b.type));
    if (!trigger || trigger.type.toLowerCase() !== 'httptrigger') {
      continue;
    }
    const template =
      typeof trigger.route === 'string' && trigger.route.length > 0
        ? trigger.route
        : fn.metadata.name;
    const methods = Array.isArray(trigger.methods)
      ? trigger.methods
          .filter((m): m is string => typeof m === 'string')
          .map((m) => m.toUpperCase())
      : undefined;
    routes.push({
      fn,
      route: compileRoute(template),
      methods: methods && methods.length > 0 ? methods : undefined,
      authLevel: normaliseAuthLevel(trigger.authLevel),
    });
  }
  // Stable sort: equal precedence keeps registration order.
  return routes.sort((a, b) => comparePrecedence(a.route, b.route));
}

function headerRecord(req: http.IncomingMessage): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(', ') : value;
    // The worker advertises IgnoreEmptyValuedRpcHttpHeaders.
    if (joined.length > 0) {
      result[name.toLowerCase()] = joined;
    }
  }
  return result;
}

/**
 * Reads a body of at most `limit` bytes, holding its bytes against `budget` until the response is closed (the
 * function may still hold the buffer until then).
 */
function readBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  limit: number,
  budget: BodyBudget,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new PayloadTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    res.once('close', () => budget.give(size));
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      reject(e);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limit) return fail(new PayloadTooLargeError());
      if (!budget.take(chunk.length)) return fail(new BodyBudgetExhaustedError());
      size += chunk.length;
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', () => fail(new ClientDisconnectedError()));
    req.on('close', () => {
      if (!req.complete) fail(new ClientDisconnectedError());
    });
  });
}

export class FrontDoor {
  readonly routes: HttpRoute[];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private activeRequests = 0;
  private readonly drainWaiters: (() => void)[] = [];
  private closing = false;
  private runningInvocations = 0;
  private readonly invocationQueue: (() => void)[] = [];
  private readonly bodyBudget: BodyBudget;
  port = 0;

  constructor(private readonly options: FrontDoorOptions) {
    const disabled = options.disabledFunctions ?? new Set<string>();
    this.routes = buildHttpRoutes(
      options.host.registered.filter((fn) => !disabled.has(fn.metadata.name)),
    );
    this.bodyBudget = new BodyBudget(
      options.maxBufferedBodyBytes ?? Math.max(MIN_BODY_BUDGET, 2 * options.maxRequestBodyBytes),
    );
    this.server = http.createServer((req, res) => {
      this.activeRequests++;
      res.on('close', () => {
        this.activeRequests--;
        if (this.activeRequests === 0) {
          for (const resolve of this.drainWaiters.splice(0)) resolve();
        }
      });
      this.handle(req, res).catch((e: unknown) => {
        if (e instanceof ClientDisconnectedError) {
          this.options.log('debug', 'The client disconnected before its request was complete.');
          res.destroy();
          return;
        }
        this.options.log(
          'error',
          `Unhandled front door error: ${e instanceof Error ? e.message : String(e)}`,
        );
        sendProblem(res, {
          status: 500,
          title: 'Internal Server Error',
          detail: 'An unexpected error occurred.',
        });
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // Longer than any client's idle pool (Node's agents keep sockets 4–5 s by default): a server that closes an
    // idle socket just as the client reuses it resets that request. `close()` ends idle sockets at once.
    this.server.keepAliveTimeout = 65_000;
  }

  listen(port: number, hostname?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      // A deep accept queue: with a thousand clients connecting at once, Node's default (511) overflows and the
      // kernel drops handshakes, which clients see as resets; the kernel caps it at somaxconn.
      this.server.listen({ port, host: hostname, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', onError);
        this.port = (this.server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  /** Stops accepting connections and waits for in-flight requests to finish. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.activeRequests > 0) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await closed;
  }

  /** Waits for an invocation slot; false when too many requests are outstanding. */
  private async acquireSlot(): Promise<boolean> {
    const { maxConcurrentRequests, maxOutstandingRequests } = this.options;
    const outstanding = this.runningInvocations + this.invocationQueue.length;
    if (maxOutstandingRequests !== undefined && outstanding >= maxOutstandingRequests) {
      return false;
    }
    if (maxConcurrentRequests !== undefined && this.runningInvocations >= maxConcurrentRequests) {
      // The releasing request hands its slot over (see releaseSlot): `runningInvocations` already counts us.
      await new Promise<void>((resolve) => this.invocationQueue.push(resolve));
      return true;
    }
    this.runningInvocations++;
    return true;
  }

  /** Hands the slot to the next waiter without freeing it in between, so no newcomer can take it first. */
  private releaseSlot(): void {
    const next = this.invocationQueue.shift();
    if (next) next();
    else this.runningInvocations--;
  }

  private corsHeaders(req: http.IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    const { origins, credentials } = this.options.cors;
    if (!origin || origins.length === 0) {
      return {};
    }
    const wildcard = origins.includes('*');
    if (
      !wildcard &&
      !origins.some((o) => o.toLowerCase() === origin.toLowerCase().replace(/\/+$/, ''))
    ) {
      return {};
    }
    const headers: Record<string, string> = {
      'access-control-allow-origin': wildcard && !credentials ? '*' : origin,
      vary: 'Origin',
    };
    if (credentials) {
      headers['access-control-allow-credentials'] = 'true';
    }
    return headers;
  }

  private authorised(req: http.IncomingMessage, url: URL, level: AuthLevel): boolean {
    if (level === 'anonymous') {
      return true;
    }
    const header = req.headers['x-functions-key'];
    const presented =
      (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('code') ?? undefined;
    const { keys } = this.options;
    if (keyEquals(presented, keys.masterKey)) {
      return true;
    }
    if (level === 'function') {
      return keyEquals(presented, keys.functionKey);
    }
    if (level === 'system') {
      return keyEquals(presented, keys.systemKey);
    }
    return false;
  }

  private send(
    res: http.ServerResponse,
    response: RuntimeHttpResponse,
    extra: Record<string, string>,
  ): void {
    const body =
      response.body === undefined
        ? Buffer.alloc(0)
        : Buffer.isBuffer(response.body)
          ? response.body
          : Buffer.from(response.body);
    res.writeHead(response.status, {
      ...extra,
      ...(response.headers ?? {}),
      'content-length': body.length,
    });
    res.end(body);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const hostHeader = req.headers.host;
    if (hostHeader !== undefined && !VALID_HOST_HEADER.test(hostHeader)) {
      sendProblem(
        res,
        { status: 400, title: 'Bad Request', detail: 'The Host header is malformed.' },
        { connection: 'close' },
      );
      return;
    }
    const origin = `http://${hostHeader || `localhost:${this.port}`}`;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', origin);
    } catch {
      sendProblem(res, {
        status: 400,
        title: 'Bad Request',
        detail: 'The request URL is malformed.',
      });
      return;
    }
    // Before CORS: a whole-path handler (the dashboard) grants no cross-origin access at all.
    const prefixPath = url.pathname.toLowerCase();
    const extra = this.options.routeHandlers?.find(
      (h) => prefixPath === h.prefix || prefixPath.startsWith(`${h.prefix}/`),
    );
    if (extra) {
      await extra.handle(req, res, url);
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const cors = this.corsHeaders(req);
    if (this.closing) {
      res.setHeader('connection', 'close');
    }

    if (
      method === 'OPTIONS' &&
      req.headers['access-control-request-method'] &&
      this.options.cors.origins.length > 0
    ) {
      const preflight: Record<string, string> = { ...cors };
      if (cors['access-control-allow-origin']) {
        preflight['access-control-allow-methods'] = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
        const requested = req.headers['access-control-request-headers'];
        if (requested) preflight['access-control-allow-headers'] = requested;
        preflight['access-control-max-age'] = '600';
      }
      res.writeHead(204, preflight);
      res.end();
      return;
    }

    const path = url.pathname.replace(/\/{2,}/g, '/');
    const lowerPath = path.toLowerCase();
    const readLimited = async (): Promise<Buffer | undefined> => {
      try {
        return await readBody(req, res, this.options.maxRequestBodyBytes, this.bodyBudget);
      } catch (e) {
        if (e instanceof BodyBudgetExhaustedError) {
          sendProblem(
            res,
            {
              status: 429,
              title: 'Too Many Requests',
              detail: 'The host is buffering too many request bodies; retry later.',
            },
            { ...cors, 'retry-after': '1', connection: 'close' },
          );
          req.resume();
          return undefined;
        }
        if (e instanceof PayloadTooLargeError) {
          sendProblem(
            res,
            {
              status: 413,
              title: 'Payload Too Large',
              detail: `The request body exceeds the limit of ${this.options.maxRequestBodyBytes} bytes.`,
            },
            { ...cors, connection: 'close' },
          );
          req.resume();
          return undefined;
        }
        throw e;
      }
    };
    const runtimeRequest = (body: Buffer): RuntimeHttpRequest => ({
      method,
      path,
      query: url.searchParams,
      headers: headerRecord(req),
      body,
      origin,
    });

    if (lowerPath === DURABLE_PREFIX || lowerPath.startsWith(`${DURABLE_PREFIX}/`)) {
      const engine = this.options.engine;
      if (!engine) {
        sendProblem(
          res,
          { status: 404, title: 'Not Found', detail: 'The Durable extension is not running.' },
          cors,
        );
        return;
      }
      const body = await readLimited();
      if (!body) return;
      let response: RuntimeHttpResponse;
      try {
        response = await engine.handleHttp(runtimeRequest(body));
      } catch (e) {
        this.options.log(
          'error',
          `Durable webhook failed: ${e instanceof Error ? e.message : String(e)}`,
        );
        sendProblem(
          res,
          { status: 500, title: 'Internal Server Error', detail: 'An unexpected error occurred.' },
          cors,
        );
        return;
      }
      this.send(res, response, cors);
      return;
    }

    if (lowerPath === '/admin/host/ping') {
      res.writeHead(200, { ...cors, 'content-length': 0 });
      res.end();
      return;
    }
    if (lowerPath.startsWith('/admin/')) {
      if (!this.authorised(req, url, 'admin')) {
        sendProblem(
          res,
          { status: 401, title: 'Unauthorized', detail: 'This endpoint requires the master key.' },
          cors,
        );
        return;
      }
      if (lowerPath === '/admin/host/status' && (method === 'GET' || method === 'HEAD')) {
        const body = JSON.stringify(this.options.hostStatus());
        res.writeHead(200, {
          ...cors,
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        });
        res.end(method === 'HEAD' ? undefined : body);
        return;
      }
      if (this.options.adminExtras) {
        const body = await readLimited();
        if (!body) return;
        const response = await this.options.adminExtras(runtimeRequest(body));
        if (response) {
          this.send(res, response, cors);
          return;
        }
      }
      sendProblem(
        res,
        { status: 404, title: 'Not Found', detail: `No admin endpoint at ${path}.` },
        cors,
      );
      return;
    }

    const prefix = this.options.routePrefix.toLowerCase();
    let relative: string | undefined;
    if (prefix.length === 0) {
      relative = path;
    } else if (lowerPath === `/${prefix}` || lowerPath.startsWith(`/${prefix}/`)) {
      relative = path.slice(prefix.length + 1);
    }
    let matched: { route: HttpRoute; params: Record<string, string> } | undefined;
    const allowed = new Set<string>();
    if (relative !== undefined) {
      for (const route of this.routes) {
        const params = matchRoute(route.route, relative);
        if (!params) continue;
        if (!route.methods || route.methods.includes(method)) {
          matched = { route, params };
          break;
        }
        route.methods.forEach((m) => allowed.add(m));
      }
    }
    if (!matched) {
      if (allowed.size > 0) {
        sendProblem(
          res,
          {
            status: 405,
            title: 'Method Not Allowed',
            detail: `${method} is not allowed on ${path}.`,
          },
          { ...cors, allow: [...allowed].join(', ') },
        );
      } else {
        sendProblem(
          res,
          { status: 404, title: 'Not Found', detail: `No function matches ${method} ${path}.` },
          cors,
        );
      }
      return;
    }

    const { route, params } = matched;
    if (!this.authorised(req, url, route.authLevel)) {
      sendProblem(
        res,
        {
          status: 401,
          title: 'Unauthorized',
          detail:
            'A valid key is required in the x-functions-key header or the code query parameter.',
        },
        cors,
      );
      return;
    }
    // Throttle first: a request the host will not run must not get its body buffered.
    if (!(await this.acquireSlot())) {
      sendProblem(
        res,
        {
          status: 429,
          title: 'Too Many Requests',
          detail: 'The host has too many outstanding requests; retry later.',
        },
        { ...cors, 'retry-after': '1' },
      );
      return;
    }
    let result: Awaited<ReturnType<FunctionHost['invokeHttp']>>;
    const started = Date.now();
    try {
      // A streaming app reads its bodies itself, each handler at most its own limit: nothing is buffered here.
      const streamed =
        this.options.host.streamsRequestBodies && method !== 'GET' && method !== 'HEAD'
          ? limitedBodyStream(req, this.options.maxRequestBodyBytes)
          : undefined;
      const body = streamed ?? (await readLimited());
      if (!body) return;
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) {
        // Like the host: repeated query names are joined with ','.
        query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
      }
      result = await this.options.host.invokeHttp(
        route.fn,
        {
          method,
          url: url.href,
          headers: headerRecord(req),
          query,
          params,
          body: method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : body,
        },
        origin,
      );
    } finally {
      this.releaseSlot();
    }
    const name = route.fn.metadata.name;
    if (!result.ok) {
      this.options.log(
        'error',
        `Executed 'Functions.${name}' (Failed, Duration=${Date.now() - started}ms): ${result.message}`,
      );
      sendProblem(
        res,
        { status: 500, title: 'Internal Server Error', detail: 'The function failed.' },
        cors,
      );
      return;
    }
    this.options.log(
      'debug',
      `Executed 'Functions.${name}' (Succeeded, Duration=${Date.now() - started}ms)`,
    );
    const headers: Record<string, string | string[]> = { ...cors, ...result.headers };
    if (result.cookies.length > 0) {
      headers['set-cookie'] = [...result.cookies];
    }
    const noBody = result.status === 204 || result.status === 304 || method === 'HEAD';
    if (result.stream) {
      // Streaming mode: relay the function's body as it is produced (chunked).
      delete headers['transfer-encoding'];
      delete headers.connection;
      res.writeHead(result.status, headers);
      if (noBody) {
        result.stream.resume();
        res.end();
        return;
      }
      await pipeline(result.stream, res).catch(() => res.destroy());
      return;
    }
    headers['content-length'] = String(noBody ? 0 : result.body.length);
    res.writeHead(result.status, headers);
    res.end(noBody ? undefined : result.body);
  }
}
