/**
 * The one error hierarchy of the app. Every error that should reach an HTTP caller is an AppError:
 * it carries its HTTP status, a stable machine-readable `code` and a message that is safe to show
 * (never a secret, token or upstream body). Anything that is not an AppError (a ConfigError
 * included) is answered with a generic 500 by the HTTP layer.
 */
export type AppErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'gone'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'upstream_failed'
  | 'upstream_unavailable'
  | 'upstream_timeout';

/** One problem with one input field, reported in the problem+json `errors` array. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export interface AppErrorOptions {
  readonly cause?: unknown;
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export abstract class AppError extends Error {
  abstract readonly code: AppErrorCode;
  abstract readonly status: number;
  /** Short, human-readable summary of the problem type (RFC 9457 `title`). */
  abstract readonly title: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.headers = options.headers ?? {};
  }

  /** Extension members added to the problem document (RFC 9457 §3.2). Never put secrets here. */
  extensions(): Record<string, unknown> {
    return {};
  }
}

export class ValidationError extends AppError {
  readonly code = 'validation_failed';
  readonly status = 400;
  readonly title = 'Invalid request';
  readonly problems: readonly FieldProblem[];

  constructor(problems: readonly FieldProblem[] | FieldProblem) {
    const list: readonly FieldProblem[] = isFieldProblem(problems) ? [problems] : problems;
    super(list.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.problems = list;
  }

  override extensions(): Record<string, unknown> {
    return { errors: this.problems.map((p) => ({ field: p.field, message: p.message })) };
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = 'unauthenticated';
  readonly status = 401;
  readonly title = 'Authentication required';

  constructor(message = 'A valid bearer token is required.', options: AppErrorOptions = {}) {
    super(message, {
      ...options,
      headers: { 'WWW-Authenticate': 'Bearer', ...(options.headers ?? {}) },
    });
  }
}

/** An {@link AppError} class with nothing but its code, status and title. */
function plainAppError<C extends AppErrorCode, S extends number>(
  code: C,
  status: S,
  title: string,
) {
  return class extends AppError {
    readonly code = code;
    readonly status = status;
    readonly title = title;
  };
}

export class ForbiddenError extends plainAppError('forbidden', 403, 'Forbidden') {}
export class NotFoundError extends plainAppError('not_found', 404, 'Not found') {}
export class GoneError extends plainAppError('gone', 410, 'Gone') {}
export class ConflictError extends plainAppError('conflict', 409, 'Conflict') {}
export class PayloadTooLargeError extends plainAppError(
  'payload_too_large',
  413,
  'Payload too large',
) {}

export class RateLimitedError extends AppError {
  readonly code = 'rate_limited';
  readonly status = 429;
  readonly title = 'Too many requests';

  constructor(message: string, retryAfterSeconds?: number, options: AppErrorOptions = {}) {
    super(message, {
      ...options,
      headers:
        retryAfterSeconds === undefined
          ? (options.headers ?? {})
          : {
              ...(options.headers ?? {}),
              'Retry-After': String(Math.max(0, Math.ceil(retryAfterSeconds))),
            },
    });
  }
}

/** How an upstream call failed; each kind has its own status, code and title. */
export type UpstreamFailure = 'failed' | 'unavailable' | 'timeout';

const UPSTREAM_FAILURES = {
  failed: { code: 'upstream_failed', status: 502, title: 'Upstream service failed' },
  unavailable: { code: 'upstream_unavailable', status: 503, title: 'Upstream service unavailable' },
  timeout: { code: 'upstream_timeout', status: 504, title: 'Upstream service timed out' },
} as const satisfies Record<UpstreamFailure, { code: AppErrorCode; status: number; title: string }>;

export interface UpstreamErrorOptions extends AppErrorOptions {
  /** Default `failed` (502): the service answered something unusable. */
  readonly failure?: UpstreamFailure;
}

/**
 * An upstream service (Twilio, ACS, the auth sidecar, Table storage, ...) failed (502), could not be
 * reached (503) or did not answer in time (504). `service` names it in the problem document.
 */
export class UpstreamError extends AppError {
  readonly code: AppErrorCode;
  readonly status: number;
  readonly title: string;
  readonly failure: UpstreamFailure;

  constructor(
    readonly service: string,
    message: string,
    readonly upstreamStatus?: number,
    options: UpstreamErrorOptions = {},
  ) {
    super(message, options);
    this.failure = options.failure ?? 'failed';
    ({ code: this.code, status: this.status, title: this.title } = UPSTREAM_FAILURES[this.failure]);
  }

  override extensions(): Record<string, unknown> {
    return { service: this.service };
  }
}

/** The service could not be reached at all (503). */
export class UpstreamUnavailableError extends UpstreamError {
  constructor(service: string, message: string, options: AppErrorOptions = {}) {
    super(service, message, undefined, { ...options, failure: 'unavailable' });
  }
}

/** The service did not answer in time (504). */
export class UpstreamTimeoutError extends UpstreamError {
  constructor(service: string, message: string, options: AppErrorOptions = {}) {
    super(service, message, undefined, { ...options, failure: 'timeout' });
  }
}

/**
 * Settings are missing or invalid. Lists every bad key at once; never includes a value. Deliberately
 * not an {@link AppError}: its message names settings, so it can only ever become a generic 500.
 */
export class ConfigError extends Error {
  constructor(readonly problems: readonly FieldProblem[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.field} (${p.message})`).join(', ')}`);
    this.name = 'ConfigError';
  }
}

function isFieldProblem(value: readonly FieldProblem[] | FieldProblem): value is FieldProblem {
  return 'field' in value;
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
