import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';

import {
  UnauthenticatedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  ValidationError,
} from '../../domain/errors';
import type { FieldProblem } from '../../domain/errors';
import { withSpan } from '../../telemetry';
import { resolveSidecarBaseUrl } from './base-url';
import {
  DownstreamApiError,
  SIDECAR_SERVICE,
  SidecarClientError,
  SidecarServerError,
} from './errors';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfterMs,
  realSleep,
} from './retry';
import type { RetryPolicy, Sleep } from './retry';

export const DEFAULT_SIDECAR_TIMEOUT_MS = 10_000;
/** Sidecar answers are small JSON documents; anything bigger is refused rather than buffered. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * Agent identity selection (query parameters `AgentIdentity`, `AgentUsername`, `AgentUserId`). The sidecar
 * silently ignores or reinterprets bad combinations (UPN wins over OID, a non-GUID OID falls back to the
 * autonomous agent), so they are rejected here before a token for the wrong principal can be minted.
 */
export interface AgentSelection {
  /** Agent identity (client id of the agent's service principal). */
  readonly agentIdentity?: string;
  /** UPN of the agent user; needs `agentIdentity`; exclusive with `agentUserId`. */
  readonly agentUsername?: string;
  /** Object id (GUID) of the agent user; needs `agentIdentity`; exclusive with `agentUsername`. */
  readonly agentUserId?: string;
}

/** Per-call token acquisition overrides (`optionsOverride.*` query parameters). */
export interface TokenOptions extends AgentSelection {
  /** Replaces the scopes configured for the API (`optionsOverride.Scopes`, repeated). */
  readonly scopes?: readonly string[];
  /** Tenant to acquire the token in (`optionsOverride.AcquireTokenOptions.Tenant`). */
  readonly tenant?: string;
  /** Forces an app-only token (`optionsOverride.RequestAppToken=true`); `false` cannot unset a configured `true`. */
  readonly requestAppToken?: boolean;
  /** Bypasses the sidecar's token cache (`optionsOverride.AcquireTokenOptions.ForceRefresh=true`). */
  readonly forceRefresh?: boolean;
  /** Conditional Access claims challenge to resend (`optionsOverride.AcquireTokenOptions.Claims`). */
  readonly claims?: string;
  /** GUID correlating the MSAL call (`optionsOverride.AcquireTokenOptions.CorrelationId`). */
  readonly correlationId?: string;
}

export interface DownstreamCallOptions extends TokenOptions {
  /** Downstream HTTP verb (`optionsOverride.HttpMethod`); the call to the sidecar itself is always POST. */
  readonly method?: string;
  /** Sent as JSON (the sidecar forwards a body only when `Content-Type` is set). */
  readonly body?: unknown;
  /** Downstream `Accept` header (`optionsOverride.AcceptHeader`). */
  readonly accept?: string;
  /** Extra downstream headers (`optionsOverride.ExtraHeaderParameters.<name>`). */
  readonly extraHeaders?: Readonly<Record<string, string>>;
  /** Extra downstream query parameters (`optionsOverride.ExtraQueryParameters.<name>`). */
  readonly extraQueryParameters?: Readonly<Record<string, string>>;
}

/** What `/DownstreamApi` reports about the downstream call, with `content` parsed. */
export interface DownstreamApiResult {
  readonly statusCode: number;
  /** Content headers only (the sidecar drops the other response headers); every value is a list. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** Parsed JSON when the content type is JSON, the raw string otherwise, `null` when the sidecar sent none. */
  readonly content: unknown;
}

/** Result of `/Validate`. The raw token the sidecar echoes back is dropped on purpose. */
export interface ValidatedToken {
  readonly protocol: string;
  /** The decoded JWT payload with short claim names (`oid`, `tid`, `scp`, `roles`, ...). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** One line of diagnostics; it carries the path without its query (which can hold a UPN) and never a token. */
export interface SidecarLogEntry {
  readonly operation: string;
  readonly path: string;
  readonly attempt: number;
  readonly outcome: 'ok' | 'retry' | 'error' | 'timeout' | 'unreachable';
  readonly status?: number;
  readonly durationMs: number;
}

export interface SidecarClientOptions {
  /** Default `http://localhost:5000`. */
  readonly baseUrl?: string;
  /** Allow a base URL that is not loopback (default false). */
  readonly allowNonLoopback?: boolean;
  /** Per attempt, default 10 s. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Injected so tests do not wait for real backoff delays. */
  readonly sleep?: Sleep;
  readonly random?: () => number;
  /** Connection pool; default: one keep-alive pool shared by every client in the process. */
  readonly dispatcher?: Dispatcher;
  readonly log?: (entry: SidecarLogEntry) => void;
}

/** The subset of the client the HTTP layer depends on, so handlers can be tested with a fake. */
export interface SidecarApi {
  validate(incomingToken: string): Promise<ValidatedToken>;
  getAuthorizationHeader(
    incomingToken: string,
    serviceName: string,
    options?: TokenOptions,
  ): Promise<string>;
  getAuthorizationHeaderUnauthenticated(
    serviceName: string,
    options?: TokenOptions,
  ): Promise<string>;
  callDownstreamApi(
    incomingToken: string,
    serviceName: string,
    relativePath?: string,
    options?: DownstreamCallOptions,
  ): Promise<unknown>;
}

let sharedAgent: Agent | undefined;

/** The process-wide keep-alive pool for the sidecar (connections are reused across invocations). */
export function sharedSidecarDispatcher(): Agent {
  sharedAgent ??= new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    connections: 64,
  });
  return sharedAgent;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Socket-level failures on a reused keep-alive connection: safe to retry for idempotent calls. */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

interface SidecarRequest {
  readonly operation: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly authorization?: string;
  readonly body?: string;
  readonly contentType?: string;
  /** Whether a 5xx or a dropped connection may be retried (false when the downstream call is not idempotent). */
  readonly idempotent: boolean;
}

interface SidecarResponse {
  readonly status: number;
  readonly json: unknown;
}

/**
 * Client of the Microsoft Entra SDK for AgentID (auth sidecar), following the sidecar's code rather than its
 * docs where they differ: `/DownstreamApi` is POST-only, the downstream result arrives inside a 200, and agent
 * parameters are validated here because the sidecar does not.
 */
export class SidecarClient implements SidecarApi {
  readonly baseUrl: URL;
  readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly dispatcher: Dispatcher;
  private readonly log: ((entry: SidecarLogEntry) => void) | undefined;

  constructor(options: SidecarClientOptions = {}) {
    this.baseUrl = resolveSidecarBaseUrl(options.baseUrl, options.allowNonLoopback ?? false);
    const timeoutMs = options.timeoutMs ?? DEFAULT_SIDECAR_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError('timeoutMs must be a positive integer');
    }
    this.timeoutMs = timeoutMs;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.dispatcher = options.dispatcher ?? sharedSidecarDispatcher();
    this.log = options.log;
  }

  /** Validates the caller's token (`GET /Validate`) and returns its claims. */
  async validate(incomingToken: string): Promise<ValidatedToken> {
    const res = await this.send({
      operation: 'validate',
      method: 'GET',
      path: 'Validate',
      authorization: toAuthorizationValue(incomingToken),
      idempotent: true,
    });
    const body = asRecord(res.json);
    const claims = body === undefined ? undefined : asRecord(body['claims']);
    if (body === undefined || claims === undefined) throw invalidResponse('Validate');
    const protocol = typeof body['protocol'] === 'string' ? body['protocol'] : 'Bearer';
    return { protocol, claims };
  }

  /** An `Authorization` header value for `serviceName`, on behalf of the caller (OBO) or per `options`. */
  async getAuthorizationHeader(
    incomingToken: string,
    serviceName: string,
    options: TokenOptions = {},
  ): Promise<string> {
    return this.authorizationHeader(
      `AuthorizationHeader/${encodeApiName(serviceName)}`,
      toAuthorizationValue(incomingToken),
      options,
    );
  }

  /**
   * An `Authorization` header value obtained with the sidecar's own credentials. Sidecars from 1.1.0 ignore the
   * overrides on this route unless `Sidecar__AllowOverrides__GetAuthorizationHeaderUnauthenticated=true`.
   */
  async getAuthorizationHeaderUnauthenticated(
    serviceName: string,
    options: TokenOptions = {},
  ): Promise<string> {
    return this.authorizationHeader(
      `AuthorizationHeaderUnauthenticated/${encodeApiName(serviceName)}`,
      undefined,
      options,
    );
  }

  /**
   * Calls the downstream API through the sidecar and returns its parsed content.
   * @throws DownstreamApiError when the downstream API answered 400 or more.
   */
  async callDownstreamApi(
    incomingToken: string,
    serviceName: string,
    relativePath?: string,
    options: DownstreamCallOptions = {},
  ): Promise<unknown> {
    const result = await this.callDownstreamApiForResult(
      incomingToken,
      serviceName,
      relativePath,
      options,
    );
    return result.content;
  }

  /** Like `callDownstreamApi`, with the downstream status and content headers. */
  async callDownstreamApiForResult(
    incomingToken: string,
    serviceName: string,
    relativePath?: string,
    options: DownstreamCallOptions = {},
  ): Promise<DownstreamApiResult> {
    return this.downstream(
      `DownstreamApi/${encodeApiName(serviceName)}`,
      toAuthorizationValue(incomingToken),
      serviceName,
      relativePath,
      options,
    );
  }

  /** `callDownstreamApi` with the sidecar's own credentials (`/DownstreamApiUnauthenticated`). */
  async callDownstreamApiUnauthenticated(
    serviceName: string,
    relativePath?: string,
    options: DownstreamCallOptions = {},
  ): Promise<unknown> {
    const result = await this.downstream(
      `DownstreamApiUnauthenticated/${encodeApiName(serviceName)}`,
      undefined,
      serviceName,
      relativePath,
      options,
    );
    return result.content;
  }

  /** Closes the connection pool if this client was given its own; the shared pool stays open. */
  async close(): Promise<void> {
    if (this.dispatcher !== sharedAgent) await this.dispatcher.close();
  }

  private async authorizationHeader(
    path: string,
    authorization: string | undefined,
    options: TokenOptions,
  ): Promise<string> {
    const res = await this.send({
      operation: path.startsWith('AuthorizationHeaderUnauthenticated')
        ? 'authorizationHeaderUnauthenticated'
        : 'authorizationHeader',
      method: 'GET',
      path,
      query: tokenQuery(options),
      ...(authorization === undefined ? {} : { authorization }),
      idempotent: true,
    });
    const body = asRecord(res.json);
    const header = body?.['authorizationHeader'];
    if (typeof header !== 'string' || !/^\S+ \S+$/.test(header))
      throw invalidResponse('AuthorizationHeader');
    return header;
  }

  private async downstream(
    path: string,
    authorization: string | undefined,
    serviceName: string,
    relativePath: string | undefined,
    options: DownstreamCallOptions,
  ): Promise<DownstreamApiResult> {
    const query = tokenQuery(options);
    const method = options.method?.toUpperCase();
    if (method !== undefined) {
      if (!HTTP_TOKEN.test(method))
        throw new ValidationError({ field: 'method', message: 'is not an HTTP method' });
      query.set('optionsOverride.HttpMethod', method);
    }
    if (relativePath !== undefined) query.set('optionsOverride.RelativePath', relativePath);
    if (options.accept !== undefined) query.set('optionsOverride.AcceptHeader', options.accept);
    for (const [name, value] of Object.entries(options.extraHeaders ?? {})) {
      query.set(`optionsOverride.ExtraHeaderParameters.${name}`, value);
    }
    for (const [name, value] of Object.entries(options.extraQueryParameters ?? {})) {
      query.set(`optionsOverride.ExtraQueryParameters.${name}`, value);
    }
    const hasBody = options.body !== undefined;
    if (hasBody) query.set('optionsOverride.ContentType', 'application/json');
    const res = await this.send({
      operation: path.startsWith('DownstreamApiUnauthenticated')
        ? 'downstreamApiUnauthenticated'
        : 'downstreamApi',
      method: 'POST',
      path,
      query,
      ...(authorization === undefined ? {} : { authorization }),
      ...(hasBody ? { body: JSON.stringify(options.body), contentType: 'application/json' } : {}),
      // Without an explicit verb the sidecar uses the configured one (GET by default).
      idempotent: method === undefined || IDEMPOTENT_METHODS.has(method),
    });
    const result = parseDownstreamResult(res.json);
    if (result.statusCode >= 400)
      throw new DownstreamApiError(serviceName, result.statusCode, result.content);
    return result;
  }

  private async send(req: SidecarRequest): Promise<SidecarResponse> {
    const url = new URL(req.path, this.baseUrl);
    if (req.query !== undefined) url.search = req.query.toString();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.authorization !== undefined) headers['authorization'] = req.authorization;
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    const logPath = `/${req.path}`;

    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const elapsed = (): number => Math.round(performance.now() - started);
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.timeoutMs);
      let status: number;
      let retryAfter: string | undefined;
      let contentType: string;
      let text: string;
      try {
        const res = await withSpan(
          `sidecar.${req.operation}`,
          { 'peer.service': SIDECAR_SERVICE, 'http.request.method': req.method, attempt },
          () =>
            request(url, {
              method: req.method,
              headers,
              ...(req.body === undefined ? {} : { body: req.body }),
              dispatcher: this.dispatcher,
              signal: controller.signal,
            }),
        );
        status = res.statusCode;
        retryAfter = firstHeader(res.headers['retry-after']);
        contentType = firstHeader(res.headers['content-type']) ?? '';
        text = await readLimited(res.body);
      } catch (error) {
        if (timedOut) {
          this.emit(req, logPath, attempt, 'timeout', elapsed());
          throw new UpstreamTimeoutError(
            SIDECAR_SERVICE,
            `The auth sidecar did not answer within ${this.timeoutMs} ms.`,
            { cause: error },
          );
        }
        const code = errorCode(error);
        if (
          req.idempotent &&
          code !== undefined &&
          RETRYABLE_NETWORK_CODES.has(code) &&
          attempt <= this.retry.maxRetries
        ) {
          this.emit(req, logPath, attempt, 'retry', elapsed());
          await this.sleep(backoffDelayMs(attempt - 1, this.retry, this.random));
          continue;
        }
        if (error instanceof UpstreamError) {
          this.emit(req, logPath, attempt, 'error', elapsed());
          throw error;
        }
        this.emit(req, logPath, attempt, 'unreachable', elapsed());
        throw new UpstreamUnavailableError(
          SIDECAR_SERVICE,
          'The auth sidecar could not be reached.',
          {
            cause: sanitizeCause(error),
          },
        );
      } finally {
        clearTimeout(timer);
      }

      if (status >= 200 && status < 300) {
        this.emit(req, logPath, attempt, 'ok', elapsed(), status);
        return { status, json: parseJson(text, req.path) };
      }

      const retryable = isRetryableStatus(status) && (status < 500 || req.idempotent);
      if (retryable && attempt <= this.retry.maxRetries) {
        const hinted = parseRetryAfterMs(retryAfter);
        if (hinted === undefined || hinted <= this.retry.maxRetryAfterMs) {
          this.emit(req, logPath, attempt, 'retry', elapsed(), status);
          await this.sleep(hinted ?? backoffDelayMs(attempt - 1, this.retry, this.random));
          continue;
        }
      }
      this.emit(req, logPath, attempt, 'error', elapsed(), status);
      if (status >= 500) throw new SidecarServerError(status);
      throw new SidecarClientError(status, problemTitle(contentType, text));
    }
  }

  private emit(
    req: SidecarRequest,
    path: string,
    attempt: number,
    outcome: SidecarLogEntry['outcome'],
    durationMs: number,
    status?: number,
  ): void {
    if (this.log === undefined) return;
    try {
      this.log({
        operation: req.operation,
        path,
        attempt,
        outcome,
        durationMs,
        ...(status === undefined ? {} : { status }),
      });
    } catch {
      // A broken logger must not break authentication.
    }
  }
}

/** Splits an `Authorization` header value into scheme and credentials (e.g. for `getTokenForTeamsUser`). */
export function splitAuthorizationHeader(header: string): { scheme: string; token: string } {
  const index = header.indexOf(' ');
  if (index <= 0 || index === header.length - 1) throw invalidResponse('AuthorizationHeader');
  return { scheme: header.slice(0, index), token: header.slice(index + 1) };
}

/** Accepts a full header value (`Bearer eyJ...`) or a bare token; refuses anything that is neither. */
function toAuthorizationValue(incomingToken: string): string {
  const value = incomingToken.trim();
  const match = /^(\S+)\s+(\S+)$/.exec(value);
  if (match !== null) {
    const [, scheme = '', credentials = ''] = match;
    if (HTTP_TOKEN.test(scheme) && TOKEN68.test(credentials)) return `${scheme} ${credentials}`;
  } else if (value !== '' && TOKEN68.test(value) && !/^(bearer|pop)$/i.test(value)) {
    return `Bearer ${value}`;
  }
  throw new UnauthenticatedError();
}

function encodeApiName(serviceName: string): string {
  if (serviceName.trim() === '' || serviceName.includes('/')) {
    throw new ValidationError({
      field: 'serviceName',
      message: 'must be a non-empty API name without "/"',
    });
  }
  return encodeURIComponent(serviceName);
}

function tokenQuery(options: TokenOptions): URLSearchParams {
  const problems: FieldProblem[] = [];
  const query = new URLSearchParams();
  for (const scope of options.scopes ?? []) {
    if (scope.trim() === '')
      problems.push({ field: 'scopes', message: 'must not contain empty scopes' });
    else query.append('optionsOverride.Scopes', scope);
  }
  if (options.requestAppToken === true) query.set('optionsOverride.RequestAppToken', 'true');
  if (options.tenant !== undefined) {
    if (options.tenant.trim() === '')
      problems.push({ field: 'tenant', message: 'must not be empty' });
    query.set('optionsOverride.AcquireTokenOptions.Tenant', options.tenant);
  }
  if (options.forceRefresh === true)
    query.set('optionsOverride.AcquireTokenOptions.ForceRefresh', 'true');
  if (options.claims !== undefined)
    query.set('optionsOverride.AcquireTokenOptions.Claims', options.claims);
  if (options.correlationId !== undefined) {
    if (!GUID.test(options.correlationId))
      problems.push({ field: 'correlationId', message: 'must be a GUID' });
    query.set('optionsOverride.AcquireTokenOptions.CorrelationId', options.correlationId);
  }

  const { agentIdentity, agentUsername, agentUserId } = options;
  if (agentUsername !== undefined && agentUserId !== undefined) {
    problems.push({
      field: 'agentUserId',
      message: 'agentUsername and agentUserId are mutually exclusive',
    });
  }
  if ((agentUsername !== undefined || agentUserId !== undefined) && agentIdentity === undefined) {
    problems.push({
      field: 'agentIdentity',
      message: 'is required with agentUsername or agentUserId',
    });
  }
  if (agentIdentity !== undefined && agentIdentity.trim() === '') {
    problems.push({ field: 'agentIdentity', message: 'must not be empty' });
  }
  if (agentUsername !== undefined && agentUsername.trim() === '') {
    problems.push({ field: 'agentUsername', message: 'must not be empty' });
  }
  if (agentUserId !== undefined && !GUID.test(agentUserId)) {
    problems.push({ field: 'agentUserId', message: 'must be a GUID' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  if (agentIdentity !== undefined) query.set('AgentIdentity', agentIdentity);
  if (agentUsername !== undefined) query.set('AgentUsername', agentUsername);
  if (agentUserId !== undefined) query.set('AgentUserId', agentUserId);
  return query;
}

function parseDownstreamResult(json: unknown): DownstreamApiResult {
  const body = asRecord(json);
  const statusCode = body?.['statusCode'];
  if (body === undefined || typeof statusCode !== 'number' || !Number.isInteger(statusCode)) {
    throw invalidResponse('DownstreamApi');
  }
  const headers: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(asRecord(body['headers']) ?? {})) {
    if (Array.isArray(value))
      headers[name] = value.filter((v): v is string => typeof v === 'string');
    else if (typeof value === 'string') headers[name] = [value];
  }
  const raw = body['content'];
  let content: unknown = null;
  if (typeof raw === 'string') {
    const type =
      Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1][0] ?? '';
    content = raw;
    // Sniff JSON when the sidecar left out the content type; fall back to the raw string.
    if (/\bjson\b|\+json/i.test(type) || (type === '' && /^\s*[[{]/.test(raw))) {
      try {
        content = JSON.parse(raw) as unknown;
      } catch {
        content = raw;
      }
    }
  }
  return { statusCode, headers, content };
}

function problemTitle(contentType: string, text: string): string | undefined {
  if (!/json/i.test(contentType) || text === '') return undefined;
  try {
    const title = asRecord(JSON.parse(text) as unknown)?.['title'];
    return typeof title === 'string' ? title : undefined;
  } catch {
    return undefined;
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidResponse(path);
  }
}

function invalidResponse(what: string): UpstreamError {
  return new UpstreamError(SIDECAR_SERVICE, `The auth sidecar sent an unusable ${what} response.`);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string | undefined {
  const code = asRecord(error)?.['code'];
  return typeof code === 'string' ? code : undefined;
}

/** Keeps only the error code of a network failure: undici errors can carry the request (and its token). */
function sanitizeCause(error: unknown): Error {
  return new Error(errorCode(error) ?? 'network error');
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new UpstreamError(SIDECAR_SERVICE, 'The auth sidecar sent an oversized response.');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
