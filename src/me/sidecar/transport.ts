import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';

import { UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../errors';
import { SIDECAR_SERVICE, SidecarClientError, SidecarServerError } from './errors';
import type { SidecarClientOptions, SidecarLogEntry } from './models';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfterMs,
  realSleep,
} from './retry';
import type { RetryPolicy, Sleep } from './retry';

/** Sidecar answers are small JSON documents; anything bigger is refused rather than buffered. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** Socket-level failures on a reused keep-alive connection: safe to retry for idempotent calls. */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

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

export interface SidecarRequest {
  readonly operation: string;
  readonly method: 'GET' | 'POST';
  /** Relative to the base URL, without a leading `/`. */
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly authorization: string;
  readonly body?: string;
  /** Whether a 5xx or a dropped connection may be retried (false when the downstream call is not idempotent). */
  readonly idempotent: boolean;
  readonly abortSignal?: AbortSignal;
}

/**
 * Sends one request to the sidecar with a per-attempt timeout, bounded retries (408, 429, 5xx and dropped
 * keep-alive connections, honouring `Retry-After`) and a bounded response size. Returns the parsed JSON of a
 * 2xx answer; every failure is an {@link UpstreamError} whose cause never holds the raw transport error (undici
 * errors can carry the request, and with it the caller's token).
 */
export class SidecarTransport {
  private readonly baseUrl: URL;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly dispatcher: Dispatcher;
  private readonly log: ((entry: SidecarLogEntry) => void) | undefined;

  constructor(options: SidecarClientOptions) {
    this.baseUrl = options.baseUrl;
    this.timeoutMs = options.timeoutMs;
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.dispatcher = options.dispatcher ?? sharedSidecarDispatcher();
    this.log = options.log;
  }

  async send(req: SidecarRequest): Promise<unknown> {
    const url = new URL(req.path, this.baseUrl);
    if (req.query !== undefined) url.search = req.query.toString();
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: req.authorization,
      ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const log = (
      attempt: number,
      outcome: SidecarLogEntry['outcome'],
      ms: number,
      status?: number,
    ) =>
      this.emit({
        operation: req.operation,
        path: `/${req.path}`,
        attempt,
        outcome,
        durationMs: ms,
        ...(status === undefined ? {} : { status }),
      });

    for (let attempt = 1; ; attempt++) {
      req.abortSignal?.throwIfAborted();
      const started = performance.now();
      const elapsed = (): number => Math.round(performance.now() - started);
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal =
        req.abortSignal === undefined ? timeout : AbortSignal.any([req.abortSignal, timeout]);
      let status: number;
      let retryAfter: string | undefined;
      let contentType: string;
      let text: string;
      try {
        const res = await request(url, {
          method: req.method,
          headers,
          ...(req.body === undefined ? {} : { body: req.body }),
          dispatcher: this.dispatcher,
          signal,
        });
        status = res.statusCode;
        retryAfter = firstHeader(res.headers['retry-after']);
        contentType = firstHeader(res.headers['content-type']) ?? '';
        text = await readLimited(res.body);
      } catch (error) {
        if (timeout.aborted) {
          log(attempt, 'timeout', elapsed());
          throw new UpstreamTimeoutError(
            SIDECAR_SERVICE,
            `The auth sidecar did not answer within ${this.timeoutMs} ms.`,
          );
        }
        const code = errorCode(error);
        if (
          req.idempotent &&
          code !== undefined &&
          RETRYABLE_NETWORK_CODES.has(code) &&
          attempt <= this.retry.maxRetries
        ) {
          log(attempt, 'retry', elapsed());
          await this.sleep(backoffDelayMs(attempt - 1, this.retry, this.random));
          continue;
        }
        if (error instanceof UpstreamError) {
          log(attempt, 'error', elapsed());
          throw error;
        }
        log(attempt, 'unreachable', elapsed());
        throw new UpstreamUnavailableError(
          SIDECAR_SERVICE,
          req.abortSignal?.aborted === true
            ? 'The call to the auth sidecar was cancelled.'
            : 'The auth sidecar could not be reached.',
          { cause: new Error(code ?? 'network error') },
        );
      }

      if (status >= 200 && status < 300) {
        log(attempt, 'ok', elapsed(), status);
        return parseJson(text, req.path);
      }

      const retryable = isRetryableStatus(status) && (status < 500 || req.idempotent);
      if (retryable && attempt <= this.retry.maxRetries) {
        const hinted = parseRetryAfterMs(retryAfter);
        if (hinted === undefined || hinted <= this.retry.maxRetryAfterMs) {
          log(attempt, 'retry', elapsed(), status);
          await this.sleep(hinted ?? backoffDelayMs(attempt - 1, this.retry, this.random));
          continue;
        }
      }
      log(attempt, 'error', elapsed(), status);
      if (status >= 500) throw new SidecarServerError(status);
      throw new SidecarClientError(status, problemTitle(contentType, text));
    }
  }

  private emit(entry: SidecarLogEntry): void {
    if (this.log === undefined) return;
    try {
      this.log(entry);
    } catch {
      // A broken logger must not break authentication.
    }
  }
}

/** An answer the client cannot use (wrong shape, not JSON). */
export function invalidResponse(what: string): UpstreamError {
  return new UpstreamError(SIDECAR_SERVICE, `The auth sidecar sent an unusable ${what} response.`);
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
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

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string | undefined {
  const code = asRecord(error)?.['code'];
  return typeof code === 'string' ? code : undefined;
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
