import { UnauthenticatedError } from '../../errors';
import { DownstreamApiError } from './errors';
import type {
  DownstreamCallOptions,
  OperationOptions,
  SidecarApi,
  SidecarClientOptions,
  TokenOptions,
  ValidatedToken,
} from './models';
import { SidecarTransport, asRecord, invalidResponse } from './transport';

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Client of the Microsoft Entra SDK for AgentID (auth sidecar), cut to what the app calls: `/Validate`,
 * `/AuthorizationHeader/{api}` and `/DownstreamApi/{api}`. It follows the sidecar's code rather than its docs
 * where they differ: `/DownstreamApi` is POST-only and the downstream result arrives inside a 200.
 */
export class SidecarClient implements SidecarApi {
  readonly baseUrl: URL;
  readonly timeoutMs: number;
  private readonly transport: SidecarTransport;

  constructor(options: SidecarClientOptions) {
    this.baseUrl = options.baseUrl;
    this.timeoutMs = options.timeoutMs;
    this.transport = new SidecarTransport(options);
  }

  /** Validates the caller's token (`GET /Validate`) and returns its claims. */
  async validate(incomingToken: string, options: OperationOptions = {}): Promise<ValidatedToken> {
    const json = await this.transport.send({
      operation: 'validate',
      method: 'GET',
      path: 'Validate',
      authorization: toAuthorizationValue(incomingToken),
      idempotent: true,
      ...signalOf(options),
    });
    const body = asRecord(json);
    const claims = body === undefined ? undefined : asRecord(body['claims']);
    if (body === undefined || claims === undefined) throw invalidResponse('Validate');
    const protocol = typeof body['protocol'] === 'string' ? body['protocol'] : 'Bearer';
    return { protocol, claims };
  }

  /** An `Authorization` header value for `serviceName`, on behalf of the caller (OBO). */
  async getAuthorizationHeader(
    incomingToken: string,
    serviceName: string,
    options: TokenOptions = {},
  ): Promise<string> {
    const json = await this.transport.send({
      operation: 'authorizationHeader',
      method: 'GET',
      path: `AuthorizationHeader/${encodeApiName(serviceName)}`,
      query: scopeQuery(options.scopes),
      authorization: toAuthorizationValue(incomingToken),
      idempotent: true,
      ...signalOf(options),
    });
    const header = asRecord(json)?.['authorizationHeader'];
    if (typeof header !== 'string' || !/^\S+ \S+$/.test(header))
      throw invalidResponse('AuthorizationHeader');
    return header;
  }

  /**
   * Calls the downstream API through the sidecar, on behalf of the caller, and returns its parsed content.
   * @throws DownstreamApiError when the downstream API answered 400 or more.
   */
  async callDownstreamApi(
    incomingToken: string,
    serviceName: string,
    relativePath?: string,
    options: DownstreamCallOptions = {},
  ): Promise<unknown> {
    const query = new URLSearchParams();
    const method = options.method?.toUpperCase();
    if (method !== undefined) {
      if (!HTTP_TOKEN.test(method)) throw new TypeError('method is not an HTTP method');
      query.set('optionsOverride.HttpMethod', method);
    }
    if (relativePath !== undefined) query.set('optionsOverride.RelativePath', relativePath);
    const hasBody = options.body !== undefined;
    if (hasBody) query.set('optionsOverride.ContentType', 'application/json');
    const json = await this.transport.send({
      operation: 'downstreamApi',
      method: 'POST',
      path: `DownstreamApi/${encodeApiName(serviceName)}`,
      query,
      authorization: toAuthorizationValue(incomingToken),
      ...(hasBody ? { body: JSON.stringify(options.body) } : {}),
      // Without an explicit verb the sidecar uses the configured one (GET by default).
      idempotent: method === undefined || IDEMPOTENT_METHODS.has(method),
      ...signalOf(options),
    });
    const result = parseDownstreamResult(json);
    if (result.statusCode >= 400)
      throw new DownstreamApiError(serviceName, result.statusCode, result.content);
    return result.content;
  }
}

/** Splits an `Authorization` header value into scheme and credentials (e.g. for `getTokenForTeamsUser`). */
export function splitAuthorizationHeader(header: string): { scheme: string; token: string } {
  const index = header.indexOf(' ');
  if (index <= 0 || index === header.length - 1) throw invalidResponse('AuthorizationHeader');
  return { scheme: header.slice(0, index), token: header.slice(index + 1) };
}

function signalOf(options: OperationOptions): { abortSignal?: AbortSignal } {
  return options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
}

/** Accepts a full header value (`Bearer eyJ...`) or a bare token from the caller; refuses anything else. */
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

/**
 * API names come from the app (constants and the validated `SIDECAR_GRAPH_API_NAME`), never from a caller,
 * so a bad one is a programming error (a 500), not the caller's 400.
 */
function encodeApiName(serviceName: string): string {
  if (serviceName.trim() === '' || serviceName.includes('/')) {
    throw new TypeError('serviceName must be a non-empty API name without "/"');
  }
  return encodeURIComponent(serviceName);
}

function scopeQuery(scopes: readonly string[] = []): URLSearchParams {
  const query = new URLSearchParams();
  for (const scope of scopes) {
    if (scope.trim() === '') throw new TypeError('scopes must not contain empty scopes');
    query.append('optionsOverride.Scopes', scope);
  }
  return query;
}

/** What `/DownstreamApi` reports about the downstream call, with `content` parsed. */
function parseDownstreamResult(json: unknown): { statusCode: number; content: unknown } {
  const body = asRecord(json);
  const statusCode = body?.['statusCode'];
  if (body === undefined || typeof statusCode !== 'number' || !Number.isInteger(statusCode)) {
    throw invalidResponse('DownstreamApi');
  }
  const raw = body['content'];
  if (typeof raw !== 'string') return { statusCode, content: null };
  // Content headers only (the sidecar drops the rest); every value is a list.
  const headers = Object.entries(asRecord(body['headers']) ?? {});
  const typeHeader = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const first: unknown = Array.isArray(typeHeader) ? (typeHeader as unknown[])[0] : typeHeader;
  const type = typeof first === 'string' ? first : '';
  // Sniff JSON when the sidecar left out the content type; fall back to the raw string.
  if (/\bjson\b|\+json/i.test(type) || (type === '' && /^\s*[[{]/.test(raw))) {
    try {
      return { statusCode, content: JSON.parse(raw) as unknown };
    } catch {
      return { statusCode, content: raw };
    }
  }
  return { statusCode, content: raw };
}
