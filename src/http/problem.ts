import type { HttpResponseInit } from '@azure/functions';
import type { AppError } from '../errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem document. `code` mirrors the error's stable machine-readable code. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code?: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

/** Problem type URIs are stable identifiers, not links (RFC 9457 §3.1.1 allows non-resolvable URIs). */
export function problemType(code: string): string {
  return `urn:sms-verification:problem:${code.replace(/_/g, '-')}`;
}

export function problemResponse(
  problem: ProblemDocument,
  headers: Readonly<Record<string, string>> = {},
): HttpResponseInit {
  return {
    status: problem.status,
    headers: { ...headers, 'Content-Type': PROBLEM_CONTENT_TYPE, 'Cache-Control': 'no-store' },
    jsonBody: problem,
  };
}

/** Maps an AppError to its problem response. Only safe fields of the error are used. */
export function appErrorResponse(error: AppError, instance?: string): HttpResponseInit {
  const extensions = error.extensions();
  return problemResponse(
    {
      ...extensions,
      type: problemType(error.code),
      title: error.title,
      status: error.status,
      detail: error.message,
      code: error.code,
      ...(instance === undefined ? {} : { instance }),
    },
    error.headers,
  );
}

/** The one answer for anything unexpected (including a misconfigured server): no internals. */
export function internalErrorResponse(invocationId?: string): HttpResponseInit {
  return problemResponse({
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: 'An unexpected error occurred.',
    ...(invocationId === undefined ? {} : { invocationId }),
  });
}
