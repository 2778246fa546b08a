import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { redact, type Handler } from '../http/respond';

/**
 * The Verify API's errors, in Twilio's own shape `{code, message, more_info, status}` with
 * Twilio's error codes, so the `twilio` SDK raises its `RestException` with the same `code` and
 * `status` a team's code already handles. Messages are fixed texts: never an input, a secret or a
 * stack.
 */
export const VERIFY_ERROR = {
  authenticate: { code: 20003, status: 401, message: 'Authenticate' },
  notFound: {
    code: 20404,
    status: 404,
    message: 'The requested resource was not found',
  },
  methodNotAllowed: { code: 20004, status: 405, message: 'Method not allowed' },
  tooManyRequests: { code: 20429, status: 429, message: 'Too many requests' },
  internal: { code: 20500, status: 500, message: 'Internal Server Error' },
  unavailable: { code: 20503, status: 503, message: 'Service unavailable' },
  invalidParameter: { code: 60200, status: 400, message: 'Invalid parameter' },
  maxCheckAttempts: { code: 60202, status: 429, message: 'Max check attempts reached' },
  maxSendAttempts: { code: 60203, status: 429, message: 'Max send attempts reached' },
  landline: { code: 60205, status: 403, message: 'SMS is not supported by landline phone number' },
  missingToOrSid: {
    code: 60221,
    status: 400,
    message: 'Either a To or VerificationSid parameter must be provided',
  },
  channelDisabled: { code: 60223, status: 400, message: 'Delivery channel disabled' },
  blockedByGuard: {
    code: 60605,
    status: 403,
    message: 'Verification delivery attempt blocked',
  },
} as const;

export type VerifyErrorKind = keyof typeof VERIFY_ERROR;

export class VerifyApiError extends Error {
  readonly code: number;
  readonly status: number;

  constructor(
    readonly kind: VerifyErrorKind,
    /** A fixed, safe detail appended to Twilio's message, e.g. the parameter's name. */
    detail?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    const base = VERIFY_ERROR[kind];
    super(detail === undefined ? base.message : `${base.message}: ${detail}`);
    this.name = 'VerifyApiError';
    this.code = base.code;
    this.status = base.status;
  }
}

export function invalidParameter(name: string, why: string): VerifyApiError {
  return new VerifyApiError('invalidParameter', `${name} ${why}`);
}

export interface TwilioErrorBody {
  readonly code: number;
  readonly message: string;
  readonly more_info: string;
  readonly status: number;
}

export function twilioErrorBody(code: number, status: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

export function verifyJson(
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

export function errorResponse(error: VerifyApiError): HttpResponseInit {
  const headers: Record<string, string> = { ...error.headers };
  if (error.status === 401) headers['WWW-Authenticate'] = 'Basic realm="Twilio API"';
  return verifyJson(
    error.status,
    twilioErrorBody(error.code, error.status, error.message),
    headers,
  );
}

/**
 * Nothing a Verify handler throws reaches the host: a VerifyApiError is answered in Twilio's
 * shape, anything else is logged by type only and answered 20500 without internals.
 */
export function withVerifyErrors(handler: Handler): Handler {
  return async (request, context: InvocationContext) => {
    try {
      return await handler(request, context);
    } catch (error: unknown) {
      if (error instanceof VerifyApiError) return errorResponse(error);
      const what =
        error instanceof Error ? `${error.name}: ${redact(error.message)}` : typeof error;
      context.error(`${context.functionName}: unexpected ${what}`);
      return errorResponse(new VerifyApiError('internal'));
    }
  };
}
