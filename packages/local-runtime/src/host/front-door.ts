/**
 * The HTTP front door: the Functions host's routing, method and key checks, body limit and CORS in front of
 * HTTP-triggered functions, plus the Durable extension's webhooks and a few admin endpoints. A request runs
 * through a pipeline of small steps (`compose`, as in hono):
 *
 *   validateHost → prefixHandlers → forwardedFor → cors → durableWebhook → admin → functionRoute
 *
 * where `functionRoute` is match → authorise → throttle → read the body → invoke → write.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { DurableExtension, RuntimeHttpRequest, RuntimeHttpResponse } from '../contracts';
import type { HostKeys } from '../keys';
import { keyEquals } from '../keys';
import {
  BodyBudget,
  BodyBudgetExhaustedError,
  ClientDisconnectedError,
  PayloadTooLargeError,
  readLimitedBody,
} from '../http/body';
import { compose, type Middleware } from '../http/compose';
import { sendProblem } from '../http/problem';
import type { RegisteredFunction } from './core-api';
import type { FunctionHost } from './function-host';
import type { HostLog } from './logger';
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
  /** How long `close()` waits for in-flight requests before cutting them (default 5 s). */
  readonly shutdownDrainMs?: number;
}

export interface PrefixHandler {
  /** Lower-case path prefix, e.g. `/_dashboard`; it matches the path itself and everything below it. */
  readonly prefix: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> | void;
}

const DURABLE_PREFIX = '/runtime/webhooks/durabletask';

const DEFAULT_SHUTDOWN_DRAIN_MS = 5_000;
const MIN_BODY_BUDGET = 16 * 1024 * 1024;
const LISTEN_BACKLOG = 4096;

/** `host[:port]` as RFC 9110 allows it (reg-name or IP literal): anything else (e.g. userinfo with `@`) is refused. */
const VALID_HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::\d{0,5})?$/;

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

  /**
   * Stops accepting connections and waits for in-flight requests to finish, for at most `drainMs`: a request
   * held open longer (a client waiting on an instance with `?timeout=`, which only the engine, stopped after
   * this, would wake) is cut then, so shutdown never waits on a client's chosen timeout.
   */
  async close(drainMs = this.options.shutdownDrainMs ?? DEFAULT_SHUTDOWN_DRAIN_MS): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.activeRequests > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.drainWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
      ]);
      clearTimeout(timer);
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

  /** Headers every answer carries: CORS for an allowed `Origin`. */
  private corsHeaders(req: http.IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    const { origins, credentials } = this.options.cors;
    if (!origin || origins.length === 0) return {};
    if (origins.includes('*')) {
      // Any origin, but never with credentials: ASP.NET Core (the real host's CORS) refuses that combination,
      // since reflecting every origin with credentials lets any site read a signed-in user's answers.
      return { 'access-control-allow-origin': '*' };
    }
    const wanted = origin.toLowerCase().replace(/\/+$/, '');
    if (!origins.some((o) => o.toLowerCase() === wanted)) return {};
    return {
      'access-control-allow-origin': origin,
      vary: 'Origin',
      ...(credentials ? { 'access-control-allow-credentials': 'true' } : {}),
    };
  }

  private authorised(req: http.IncomingMessage, url: URL, level: AuthLevel): boolean {
    if (level === 'anonymous') return true;
    const header = req.headers['x-functions-key'];
    const presented =
      (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('code') ?? undefined;
    const { keys } = this.options;
    if (keyEquals(presented, keys.masterKey)) return true;
    if (level === 'function') return keyEquals(presented, keys.functionKey);
    if (level === 'system') return keyEquals(presented, keys.systemKey);
    return false;
  }

  private send(ctx: RequestContext, response: RuntimeHttpResponse): void {
    const body =
      response.body === undefined
        ? Buffer.alloc(0)
        : Buffer.isBuffer(response.body)
          ? response.body
          : Buffer.from(response.body);
    ctx.res.writeHead(response.status, {
      ...ctx.answerHeaders,
      ...(response.headers ?? {}),
      'content-length': body.length,
    });
    ctx.res.end(body);
  }

  private problem(ctx: RequestContext, status: number, title: string, detail: string): void {
    sendProblem(ctx.res, { status, title, detail }, ctx.answerHeaders);
  }

  /** The body within the host's limits, or undefined once a 413/429 has been answered. */
  private async readBody(ctx: RequestContext): Promise<Buffer | undefined> {
    try {
      return await readLimitedBody(ctx.req, {
        limit: this.options.maxRequestBodyBytes,
        budget: { pool: this.bodyBudget, res: ctx.res },
      });
    } catch (e) {
      if (!(e instanceof BodyBudgetExhaustedError || e instanceof PayloadTooLargeError)) throw e;
      const [status, detail, extra] =
        e instanceof PayloadTooLargeError
          ? [413, e.message, {}]
          : [
              429,
              'The host is buffering too many request bodies; retry later.',
              { 'retry-after': '1' },
            ];
      sendProblem(
        ctx.res,
        { status, title: status === 413 ? 'Payload Too Large' : 'Too Many Requests', detail },
        { ...ctx.answerHeaders, ...extra, connection: 'close' },
      );
      ctx.req.resume();
      return undefined;
    }
  }

  private runtimeRequest(ctx: RequestContext, body: Buffer): RuntimeHttpRequest {
    return {
      method: ctx.method,
      path: ctx.path,
      query: ctx.url.searchParams,
      headers: ctx.headers,
      body,
      origin: ctx.origin,
    };
  }

  /** Parses what every later step needs; answers 400 for a malformed Host or URL. */
  private parse(req: http.IncomingMessage, res: http.ServerResponse): RequestContext | undefined {
    const hostHeader = req.headers.host;
    if (hostHeader !== undefined && !VALID_HOST_HEADER.test(hostHeader)) {
      sendProblem(
        res,
        { status: 400, title: 'Bad Request', detail: 'The Host header is malformed.' },
        { connection: 'close' },
      );
      return undefined;
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
      return undefined;
    }
    const path = url.pathname.replace(/\/{2,}/g, '/');
    return {
      req,
      res,
      url,
      origin,
      method: (req.method ?? 'GET').toUpperCase(),
      path,
      lowerPath: path.toLowerCase(),
      headers: headerRecord(req),
      answerHeaders: {},
    };
  }

  private readonly pipeline = compose<RequestContext>([
    // Before CORS: a whole-path handler (the dashboard) grants no cross-origin access at all.
    async (ctx, next) => {
      const prefixPath = ctx.url.pathname.toLowerCase();
      const handler = this.options.routeHandlers?.find(
        (h) => prefixPath === h.prefix || prefixPath.startsWith(`${h.prefix}/`),
      );
      if (handler) await handler.handle(ctx.req, ctx.res, ctx.url);
      else await next();
    },
    forwardedFor,
    (ctx, next) => this.cors(ctx, next),
    (ctx, next) => this.durableWebhook(ctx, next),
    (ctx, next) => this.admin(ctx, next),
    (ctx, next) => this.matchFunctionRoute(ctx, next),
    (ctx) => this.invokeFunction(ctx),
  ]);

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const ctx = this.parse(req, res);
    if (ctx) await this.pipeline(ctx);
  }

  /** CORS headers on every answer from here on; preflights answered here. */
  private async cors(ctx: RequestContext, next: () => Promise<void>): Promise<void> {
    Object.assign(ctx.answerHeaders, this.corsHeaders(ctx.req));
    if (this.closing) ctx.res.setHeader('connection', 'close');
    const preflight =
      ctx.method === 'OPTIONS' &&
      ctx.req.headers['access-control-request-method'] !== undefined &&
      this.options.cors.origins.length > 0;
    if (!preflight) return next();
    const headers: Record<string, string> = { ...ctx.answerHeaders };
    if (headers['access-control-allow-origin']) {
      headers['access-control-allow-methods'] = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
      const requested = ctx.req.headers['access-control-request-headers'];
      if (requested) headers['access-control-allow-headers'] = requested;
      headers['access-control-max-age'] = '600';
    }
    ctx.res.writeHead(204, headers);
    ctx.res.end();
  }

  /** The Durable extension's webhooks, answered by the engine. */
  private async durableWebhook(ctx: RequestContext, next: () => Promise<void>): Promise<void> {
    if (ctx.lowerPath !== DURABLE_PREFIX && !ctx.lowerPath.startsWith(`${DURABLE_PREFIX}/`))
      return next();
    const engine = this.options.engine;
    if (!engine)
      return this.problem(ctx, 404, 'Not Found', 'The Durable extension is not running.');
    const body = await this.readBody(ctx);
    if (!body) return;
    let response: RuntimeHttpResponse;
    try {
      response = await engine.handleHttp(this.runtimeRequest(ctx, body));
    } catch (e) {
      this.options.log(
        'error',
        `Durable webhook failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      return this.problem(ctx, 500, 'Internal Server Error', 'An unexpected error occurred.');
    }
    this.send(ctx, response);
  }

  /** `/admin/*`: ping without a key; the rest with the master key. */
  private async admin(ctx: RequestContext, next: () => Promise<void>): Promise<void> {
    const { lowerPath, method, res } = ctx;
    if (lowerPath === '/admin/host/ping') {
      res.writeHead(200, { ...ctx.answerHeaders, 'content-length': 0 });
      res.end();
      return;
    }
    if (!lowerPath.startsWith('/admin/')) return next();
    if (!this.authorised(ctx.req, ctx.url, 'admin'))
      return this.problem(ctx, 401, 'Unauthorized', 'This endpoint requires the master key.');
    if (lowerPath === '/admin/host/status' && (method === 'GET' || method === 'HEAD')) {
      const body = JSON.stringify(this.options.hostStatus());
      res.writeHead(200, {
        ...ctx.answerHeaders,
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (this.options.adminExtras) {
      const body = await this.readBody(ctx);
      if (!body) return;
      const response = await this.options.adminExtras(this.runtimeRequest(ctx, body));
      if (response) return this.send(ctx, response);
    }
    this.problem(ctx, 404, 'Not Found', `No admin endpoint at ${ctx.path}.`);
  }

  /** The function whose route and method match, or 404 / 405; then its key check. */
  private async matchFunctionRoute(ctx: RequestContext, next: () => Promise<void>): Promise<void> {
    const prefix = this.options.routePrefix.toLowerCase();
    const { path, lowerPath, method } = ctx;
    let relative: string | undefined;
    if (prefix.length === 0) relative = path;
    else if (lowerPath === `/${prefix}` || lowerPath.startsWith(`/${prefix}/`))
      relative = path.slice(prefix.length + 1);
    const allowed = new Set<string>();
    for (const route of relative === undefined ? [] : this.routes) {
      const params = matchRoute(route.route, relative!);
      if (!params) continue;
      if (!route.methods || route.methods.includes(method)) {
        ctx.matched = { route, params };
        break;
      }
      route.methods.forEach((m) => allowed.add(m));
    }
    if (!ctx.matched) {
      if (allowed.size === 0)
        return this.problem(ctx, 404, 'Not Found', `No function matches ${method} ${path}.`);
      sendProblem(
        ctx.res,
        {
          status: 405,
          title: 'Method Not Allowed',
          detail: `${method} is not allowed on ${path}.`,
        },
        { ...ctx.answerHeaders, allow: [...allowed].join(', ') },
      );
      return;
    }
    if (!this.authorised(ctx.req, ctx.url, ctx.matched.route.authLevel)) {
      return this.problem(
        ctx,
        401,
        'Unauthorized',
        'A valid key is required in the x-functions-key header or the code query parameter.',
      );
    }
    await next();
  }

  /** Throttle, read the body, invoke the function, write its answer. */
  private async invokeFunction(ctx: RequestContext): Promise<void> {
    const { route, params } = ctx.matched!;
    // Throttle first: a request the host will not run must not get its body buffered.
    if (!(await this.acquireSlot())) {
      sendProblem(
        ctx.res,
        {
          status: 429,
          title: 'Too Many Requests',
          detail: 'The host has too many outstanding requests; retry later.',
        },
        { ...ctx.answerHeaders, 'retry-after': '1' },
      );
      return;
    }
    let result: Awaited<ReturnType<FunctionHost['invokeHttp']>>;
    const started = Date.now();
    try {
      // A streaming app reads its bodies itself, each handler at most its own limit: nothing is buffered here.
      const streamed =
        this.options.host.streamsRequestBodies && ctx.method !== 'GET' && ctx.method !== 'HEAD'
          ? limitedBodyStream(ctx.req, this.options.maxRequestBodyBytes)
          : undefined;
      const body = streamed ?? (await this.readBody(ctx));
      if (!body) return;
      const query: Record<string, string> = {};
      for (const [k, v] of ctx.url.searchParams) {
        // Like the host: repeated query names are joined with ','.
        query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
      }
      const bodyless = ctx.method === 'GET' || ctx.method === 'HEAD';
      result = await this.options.host.invokeHttp(
        route.fn,
        {
          method: ctx.method,
          url: ctx.url.href,
          headers: ctx.headers,
          query,
          params,
          body: bodyless ? Buffer.alloc(0) : body,
        },
        ctx.origin,
      );
    } finally {
      this.releaseSlot();
    }
    const elapsed = `Duration=${Date.now() - started}ms`;
    const name = route.fn.metadata.name;
    if (!result.ok) {
      this.options.log(
        'error',
        `Executed 'Functions.${name}' (Failed, ${elapsed}): ${result.message}`,
      );
      return this.problem(ctx, 500, 'Internal Server Error', 'The function failed.');
    }
    this.options.log('debug', `Executed 'Functions.${name}' (Succeeded, ${elapsed})`);
    await writeResult(ctx, result);
  }
}

interface RequestContext {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly url: URL;
  /** `http://` + the Host header: what the app's links are built from. */
  readonly origin: string;
  readonly method: string;
  /** The path with repeated slashes collapsed, and its lower-cased form for matching. */
  readonly path: string;
  readonly lowerPath: string;
  /** The request headers as the app sees them (see `forwardedFor`). */
  readonly headers: Record<string, string>;
  /** Headers on every answer from the CORS step on. */
  readonly answerHeaders: Record<string, string>;
  matched?: { readonly route: HttpRoute; readonly params: Record<string, string> };
}

/**
 * Appends the TCP peer's address to `X-Forwarded-For` as Azure's front end does, so the app's proxy hop rule
 * (the last N entries are the trusted hops) means the same here as in Azure: a client's own entries come first.
 */
const forwardedFor: Middleware<RequestContext> = async (ctx, next) => {
  const peer = ctx.req.socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (peer) {
    const existing = ctx.headers['x-forwarded-for'];
    ctx.headers['x-forwarded-for'] = existing ? `${existing}, ${peer}` : peer;
  }
  await next();
};

/** Writes the function's answer: buffered with a length, or relayed as it streams. */
async function writeResult(
  ctx: RequestContext,
  result: Extract<Awaited<ReturnType<FunctionHost['invokeHttp']>>, { ok: true }>,
): Promise<void> {
  const { res } = ctx;
  const headers: Record<string, string | string[]> = { ...ctx.answerHeaders, ...result.headers };
  if (result.cookies.length > 0) headers['set-cookie'] = [...result.cookies];
  const noBody = result.status === 204 || result.status === 304 || ctx.method === 'HEAD';
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
