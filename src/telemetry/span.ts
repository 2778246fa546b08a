import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

/** The tracer every client span comes from; a no-op until {@link startTelemetry} registers a provider. */
export const TRACER_NAME = 'sms-verification-functions';

/**
 * Attribute values a client span may carry: operation names, counts, statuses. Callers never pass
 * phone numbers, codes, tokens, identity ids or keys; as a second line of defence any string that
 * holds a run of 4 or more digits (a phone number, a code: 4..10 digits) is replaced before it is recorded.
 */
export type SpanAttributes = Readonly<
  Record<string, string | number | boolean | readonly string[]>
>;

const DIGIT_RUN = /\d{4,}/;
const REDACTED = '[redacted]';

/**
 * Runs one outgoing call in a client span named `name`. A failure marks the span as an error with
 * the error's class name only: SDK messages can quote the request (Twilio's quote the number).
 */
export async function withSpan<T>(
  name: string,
  attributes: SpanAttributes,
  run: () => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  return tracer.startActiveSpan(
    name,
    { kind: SpanKind.CLIENT, attributes: scrub(attributes) },
    async (span) => {
      try {
        return await run();
      } catch (error: unknown) {
        const status = statusOf(error);
        span.setAttributes({
          'error.type': errorType(error),
          ...(status === undefined ? {} : { 'http.response.status_code': status }),
        });
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

function scrub(attributes: SpanAttributes): Attributes {
  const clean: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') clean[key] = redact(value);
    else if (typeof value === 'number' || typeof value === 'boolean') clean[key] = value;
    else clean[key] = value.map(redact);
  }
  return clean;
}

function redact(value: string): string {
  return DIGIT_RUN.test(value) ? REDACTED : value;
}

function errorType(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor.name;
  return typeof error;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof statusCode === 'number' ? statusCode : status;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
