import type {
  HttpRequest,
  HttpResponse,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';

import type { SidecarApi } from './sidecar';
import { SidecarClientError } from './sidecar';
import { isValidCallerKeyPart } from './identity-map';
import type { CallerKey } from './identity-map';
import {
  ForbiddenError,
  UnauthenticatedError,
  UpstreamError,
  UpstreamUnavailableError,
} from '../errors';
import { withErrors } from '../http/respond';
import type { Handler } from '../http/respond';

/** The caller as proven by the auth sidecar's `/Validate`. */
export interface AuthenticatedCaller extends CallerKey {
  /** Entra tenant id (`tid`). */
  readonly tenantId: string;
  /** Entra object id of the user (`oid`): stable across apps, unlike `sub`. */
  readonly objectId: string;
  /** Every validated claim (`scp`, `roles`, `name`, ...). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The caller's `Authorization` header value, for on-behalf-of calls through the sidecar. Never log it. */
  readonly authorization: string;
}

export type AuthenticatedHandler = (
  request: HttpRequest,
  context: InvocationContext,
  caller: AuthenticatedCaller,
) => Promise<HttpResponseInit | HttpResponse>;

/** Seconds a client should wait before retrying when the sidecar is down. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * Requires an authenticated caller: the bearer token is validated by the auth sidecar (`GET /Validate`) and
 * the handler receives the `oid`/`tid` claims. No or invalid token: 401; token without the required scope:
 * 403; sidecar unreachable, failing or slow: 503. Everything thrown becomes problem+json (`withErrors`).
 */
export function withAuthenticatedCaller(
  handler: AuthenticatedHandler,
  /** Resolved per call, so registration does not need settings at import time. */
  sidecar: () => SidecarApi,
): Handler {
  return withErrors(async (request, context) => {
    const caller = await authenticate(request, sidecar());
    return handler(request, context, caller);
  });
}

/** Validates the request's bearer token and reads the caller's claims. */
async function authenticate(
  request: HttpRequest,
  sidecar: SidecarApi,
): Promise<AuthenticatedCaller> {
  const authorization = bearerHeader(request);
  let claims: Readonly<Record<string, unknown>>;
  try {
    ({ claims } = await sidecar.validate(authorization));
  } catch (error) {
    throw mapValidateError(error);
  }
  const tenantId = claims['tid'];
  const objectId = claims['oid'];
  if (
    typeof tenantId !== 'string' ||
    typeof objectId !== 'string' ||
    !isValidCallerKeyPart(tenantId) ||
    !isValidCallerKeyPart(objectId)
  ) {
    throw new UnauthenticatedError(
      'The token does not identify a user (oid and tid claims are required).',
    );
  }
  return { tenantId, objectId, claims, authorization };
}

/** Only the Bearer scheme is accepted: PoP validation is preview-only in the sidecar. */
function bearerHeader(request: HttpRequest): string {
  const header = request.headers.get('authorization')?.trim();
  if (header === undefined || header === '') {
    throw new UnauthenticatedError('An Authorization: Bearer <token> header is required.');
  }
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (match?.[1] === undefined) {
    throw new UnauthenticatedError('The Authorization header must be "Bearer <token>".', {
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' },
    });
  }
  return `Bearer ${match[1]}`;
}

function mapValidateError(error: unknown): unknown {
  if (error instanceof UnauthenticatedError) return error;
  if (error instanceof SidecarClientError) {
    if (error.upstreamStatus === 401) {
      return new UnauthenticatedError('The bearer token is invalid or expired.', {
        headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
        cause: error,
      });
    }
    if (error.upstreamStatus === 403) {
      return new ForbiddenError('The bearer token is not accepted for this API.', { cause: error });
    }
  }
  if (error instanceof UpstreamError) {
    // Any other sidecar failure means nobody can be authenticated right now: a server-side outage.
    return new UpstreamUnavailableError(
      'auth-sidecar',
      'Authentication is temporarily unavailable.',
      {
        cause: error,
        headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
      },
    );
  }
  return error;
}
