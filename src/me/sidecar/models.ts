import type { Dispatcher } from 'undici';

import type { RetryPolicy, Sleep } from './retry';

/** Every operation takes these, last, like the Azure SDK's `OperationOptions`. */
export interface OperationOptions {
  /** Cancels the call (and any retry wait) when it fires; the per-attempt timeout applies as well. */
  readonly abortSignal?: AbortSignal;
}

/** Token acquisition overrides of `/AuthorizationHeader`. */
export interface TokenOptions extends OperationOptions {
  /** Replaces the scopes configured for the API (`optionsOverride.Scopes`, repeated). */
  readonly scopes?: readonly string[];
}

/** What `/DownstreamApi` should do downstream. */
export interface DownstreamCallOptions extends OperationOptions {
  /** Downstream HTTP verb (`optionsOverride.HttpMethod`); the call to the sidecar itself is always POST. */
  readonly method?: string;
  /** Sent as JSON (the sidecar forwards a body only when `Content-Type` is set). */
  readonly body?: unknown;
}

/** Result of `/Validate`. The raw token the sidecar echoes back is dropped on purpose. */
export interface ValidatedToken {
  readonly protocol: string;
  /** The decoded JWT payload with short claim names (`oid`, `tid`, `scp`, `roles`, ...). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** One line of diagnostics; it carries the path without its query and never a token. */
export interface SidecarLogEntry {
  readonly operation: string;
  readonly path: string;
  readonly attempt: number;
  readonly outcome: 'ok' | 'retry' | 'error' | 'timeout' | 'unreachable';
  readonly status?: number;
  readonly durationMs: number;
}

export interface SidecarClientOptions {
  /** Already validated by the settings (`SIDECAR_URL`): loopback unless allowed, ends with `/`. */
  readonly baseUrl: URL;
  /** Per attempt (`SIDECAR_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Injected so tests do not wait for real backoff delays. */
  readonly sleep?: Sleep;
  readonly random?: () => number;
  /** Connection pool; default: one keep-alive pool shared by every client in the process. */
  readonly dispatcher?: Dispatcher;
  readonly log?: (entry: SidecarLogEntry) => void;
}

/** What the app calls on the sidecar, so handlers can be tested with a fake. */
export interface SidecarApi {
  validate(incomingToken: string, options?: OperationOptions): Promise<ValidatedToken>;
  getAuthorizationHeader(
    incomingToken: string,
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
