import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { json, redact, type Handler } from '../http/respond';

/**
 * The Verify API's errors, in Twilio's own shape `{code, message, more_info, status}` with
 * Twilio's error codes, so the `twilio` SDK raises its `RestException` with the same `code` and
 * `status` a team's code already handles. Messages are fixed texts: never an input, a secret or a
 * stack.
 */
const twilioError = <C extends number, S extends number>(code: C, status: S, message: string) =>
  ({ code, status, message }) as const;

export const VERIFY_ERROR = {
  authenticate: twilioError(20003, 401, 'Authenticate'),
  notFound: twilioError(20404, 404, 'The requested resource was not found'),
  methodNotAllowed: twilioError(20004, 405, 'Method not allowed'),
  tooManyRequests: twilioError(20429, 429, 'Too many requests'),
  internal: twilioError(20500, 500, 'Internal Server Error'),
  unavailable: twilioError(20503, 503, 'Service unavailable'),
  invalidParameter: twilioError(60200, 400, 'Invalid parameter'),
  maxCheckAttempts: twilioError(60202, 429, 'Max check attempts reached'),
  maxSendAttempts: twilioError(60203, 429, 'Max send attempts reached'),
  landline: twilioError(60205, 403, 'SMS is not supported by landline phone number'),
  maxRateLimits: twilioError(60207, 400, 'Max rate limits per service reached'),
  rateLimitExists: twilioError(60208, 400, 'Rate limit with that UniqueName already exists'),
  uniqueNameFormat: twilioError(60209, 400, 'UniqueName format is invalid'),
  maxBuckets: twilioError(60210, 400, 'Max Buckets per Rate limit reached'),
  bucketExists: twilioError(60211, 400, 'Bucket with the given Interval already exists'),
  missingToOrSid: twilioError(
    60221,
    400,
    'Either a To or VerificationSid parameter must be provided',
  ),
  channelDisabled: twilioError(60223, 400, 'Delivery channel disabled'),
  blockedByGuard: twilioError(60605, 403, 'Verification delivery attempt blocked'),
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

export function errorResponse(error: VerifyApiError): HttpResponseInit {
  const headers: Record<string, string> = { ...error.headers };
  if (error.status === 401) headers['WWW-Authenticate'] = 'Basic realm="Twilio API"';
  return json(error.status, twilioErrorBody(error.code, error.status, error.message), headers);
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
