import type {
  HttpRequest,
  HttpResponse,
  HttpResponseInit,
  InvocationContext,
} from '@azure/functions';
import { isAppError } from '../errors';
import { appErrorResponse, internalErrorResponse } from './problem';

export type Handler = (
  request: HttpRequest,
  context: InvocationContext,
) => Promise<HttpResponseInit | HttpResponse>;

export function json(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): HttpResponseInit {
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    jsonBody: body,
  };
}

export function noContent(): HttpResponseInit {
  return { status: 204, headers: { 'Cache-Control': 'no-store' } };
}

/**
 * Turns any thrown error into a response. AppErrors become problem+json (their messages are safe by
 * contract). Anything else, a ConfigError included, is logged without values or secrets and answered
 * with a generic 500, so a misconfiguration never leaks which secret is missing to callers.
 */
function toHttpResponse(error: unknown, context: InvocationContext): HttpResponseInit {
  if (isAppError(error)) {
    if (error.status >= 500) {
      context.warn(
        `${context.functionName}: ${error.name} (${error.code}): ${redact(error.message)}`,
      );
    }
    return appErrorResponse(error);
  }
  context.error(`${context.functionName}: unexpected ${describeUnknown(error)}`);
  return internalErrorResponse(context.invocationId);
}

/** Wraps a handler so that nothing it throws escapes to the host. */
export function withErrors(handler: Handler): Handler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error: unknown) {
      return toHttpResponse(error, context);
    }
  };
}

function describeUnknown(error: unknown): string {
  if (error instanceof Error) {
    const stack = error.stack?.split('\n').slice(1, 4).join(' | ').trim();
    return `${error.name}: ${redact(error.message)}${stack ? ` at ${stack}` : ''}`;
  }
  return `non-Error value of type ${typeof error}`;
}

/**
 * Best-effort scrub for text that may come from an SDK (URLs with signatures, auth headers, JWTs,
 * connection strings). Our own messages never contain secrets; this guards third-party ones.
 */
export function redact(text: string): string {
  return text
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[jwt]')
    .replace(/\b(Bearer|Basic|HMAC-SHA256)\s+\S+/gi, '$1 [redacted]')
    .replace(
      /\b(accesskey|authtoken|auth_token|password|secret|signature|sig|code|token|key)=([^;&\s"']+)/gi,
      '$1=[redacted]',
    )
    .replace(/(https?:\/\/)[^/@\s]+@/gi, '$1[redacted]@');
}
