import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** Where an emulator writes its one line per request. Lines never contain secrets. */
export type LogFn = (line: string) => void;

/** What every emulator's options start with: where it listens and where it logs. */
export interface EmulatorServerOptions {
  /** Default 0: any free port. */
  port?: number;
  host?: string;
  log?: LogFn;
}

export interface ListenOptions {
  readonly port?: number | undefined;
  /**
   * Interface to bind. `localhost` (the default) binds both 127.0.0.1 and ::1 on the same port, because
   * `localhost` may resolve to either family and the real sidecar is reached as `http://localhost:PORT`.
   */
  readonly host?: string | undefined;
  /** Serve https with this certificate (PEM) instead of http. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
}

export interface Listening {
  readonly port: number;
  /** Host to put in URLs: the bound host, or 127.0.0.1 when bound to `localhost`. */
  readonly urlHost: string;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** Request body larger than this is refused with 413 before it is buffered. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor() {
    super('request body too large');
    this.name = 'BodyTooLargeError';
  }
}

export async function readBody(req: http.IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json; charset=utf-8',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(
  res: http.ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-length': '0', ...headers });
  res.end();
}

export function sendText(
  res: http.ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** RFC 9457 problem document, used by the `/_emulator/` endpoints and by the sidecar emulator. */
export function sendProblem(
  res: http.ServerResponse,
  status: number,
  title: string,
  detail?: string,
  extensions: Record<string, unknown> = {},
  type = 'about:blank',
): void {
  const body: Record<string, unknown> = { type, title, status };
  if (detail !== undefined) body['detail'] = detail;
  sendJson(res, status, { ...body, ...extensions }, {}, 'application/problem+json; charset=utf-8');
}

/** One route of an emulator's `/_emulator/` control API. */
export type ControlRoute = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
) => Promise<void> | void;

/**
 * An emulator's `/_emulator/` control API: its own routes, keyed `'METHOD /_emulator/path'`, then the routes
 * every emulator has (see `sendCommonEmulatorRoute`).
 */
export function controlApi(
  routes: Readonly<Record<string, ControlRoute>>,
  emulator: { reset(): void; health?: Record<string, unknown> },
): (req: http.IncomingMessage, res: http.ServerResponse, path: string) => Promise<void> {
  return async (req, res, path) => {
    const method = req.method ?? 'GET';
    const route = routes[`${method} ${path}`];
    if (route) return route(req, res);
    sendCommonEmulatorRoute(res, method, path, emulator);
  };
}

/** What {@link readJsonOr400} gives once it has answered the request itself. */
export const ANSWERED: unique symbol = Symbol('answered');

/** The request's JSON body (`undefined` when empty), or {@link ANSWERED} after a 400 problem when it is not JSON. */
export async function readJsonOr400(
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<unknown> {
  try {
    return parseJsonBody(await readBody(req));
  } catch {
    sendProblem(res, 400, 'Bad Request', 'The body is not valid JSON.');
    return ANSWERED;
  }
}

/**
 * A control route that takes a JSON body: 400 when it is not JSON or `parse` refuses it (with its message),
 * else `apply`, then 204.
 */
export function jsonControlRoute<T>(
  parse: (value: unknown) => T | string,
  apply: (value: T) => void,
): ControlRoute {
  return async (req, res) => {
    const parsed = await readJsonOr400(req, res);
    if (parsed === ANSWERED) return;
    const value = parse(parsed);
    if (typeof value === 'string') return sendProblem(res, 400, 'Bad Request', value);
    apply(value);
    sendEmpty(res, 204);
  };
}

/**
 * The `/_emulator/` routes every emulator has (`POST reset`, `GET health`), and the 404 for anything
 * else under `/_emulator/`. Each emulator calls it after its own inspection routes.
 */
export function sendCommonEmulatorRoute(
  res: http.ServerResponse,
  method: string,
  path: string,
  emulator: { reset(): void; health?: Record<string, unknown> },
): void {
  if (path === '/_emulator/reset' && method === 'POST') {
    emulator.reset();
    sendEmpty(res, 204);
    return;
  }
  if (path === '/_emulator/health' && method === 'GET') {
    sendJson(res, 200, { status: 'ok', ...emulator.health });
    return;
  }
  sendProblem(res, 404, 'Not Found', `No emulator endpoint ${method} ${path}.`);
}

/** Parses a JSON body; empty body gives `undefined`. Throws SyntaxError on malformed JSON. */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  return JSON.parse(raw.toString('utf8')) as unknown;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Path without the query string: queries may carry personal data, so they are never logged. */
export function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Wraps a handler: one log line per request (method, path, status, duration), and a generic 500 for
 * anything the handler did not expect, so no request can crash the process or leak internals.
 */
export function wrapHandler(name: string, handler: Handler, log: LogFn): http.RequestListener {
  return (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log(`[${name}] ${req.method ?? '?'} ${pathOf(req)} ${res.statusCode} ${ms.toFixed(1)}ms`);
    });
    handler(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof BodyTooLargeError) {
        sendProblem(
          res,
          413,
          'Payload Too Large',
          `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
        );
        return;
      }
      log(`[${name}] unexpected error: ${err instanceof Error ? err.name : 'unknown'}`);
      sendProblem(res, 500, 'Internal Server Error', 'An unexpected error occurred.');
    });
  };
}

type AnyServer = http.Server | https.Server;

function listenOne(server: AnyServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: AnyServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    // Keep-alive sockets from SDK agents would otherwise hold close() open.
    server.closeAllConnections();
  });
}

export async function listen(
  listener: http.RequestListener,
  opts: ListenOptions,
): Promise<Listening> {
  const host = opts.host ?? 'localhost';
  const tls = opts.tls;
  const create = (): AnyServer =>
    tls === undefined
      ? http.createServer(listener)
      : https.createServer({ cert: tls.cert, key: tls.key }, listener);
  const primary = create();
  primary.keepAliveTimeout = 5000;
  const servers: AnyServer[] = [primary];
  if (host === 'localhost') {
    await listenOne(primary, opts.port ?? 0, '127.0.0.1');
    const port = (primary.address() as AddressInfo).port;
    const secondary = create();
    try {
      await listenOne(secondary, port, '::1');
      servers.push(secondary);
    } catch {
      // No IPv6 loopback on this machine (or the port is taken there): IPv4 alone still works.
    }
  } else {
    await listenOne(primary, opts.port ?? 0, host);
  }
  const port = (primary.address() as AddressInfo).port;
  const urlHost =
    host === 'localhost' || host === '0.0.0.0'
      ? '127.0.0.1'
      : host.includes(':')
        ? `[${host}]`
        : host;
  return {
    port,
    urlHost,
    close: async () => {
      await Promise.all(servers.map(closeServer));
    },
  };
}

/** Reads a query string the way both real services do: last value wins unless asked for all. */
export function queryOf(req: http.IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}

export function defaultLog(line: string): void {
  process.stdout.write(`${line}\n`);
}
