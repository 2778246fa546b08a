/**
 * RFC 9457 problem answers of the runtime itself (front door, management API, dashboard, admin endpoints; not
 * of the app, which writes its own): one shape, built here, written as a response object or to a socket.
 */
import type * as http from 'node:http';
import type { RuntimeHttpResponse } from '../contracts';

export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type?: string;
  readonly [extension: string]: unknown;
}

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemBody(problem: Problem): string {
  return JSON.stringify({ type: problem.type ?? 'about:blank', ...problem });
}

/** A problem answer as a response object (the management API and admin endpoints return these). */
export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): RuntimeHttpResponse {
  return json(
    status,
    { ...extra, type: extra.type ?? 'about:blank', status, title, detail },
    {
      'content-type': PROBLEM_CONTENT_TYPE,
    },
  );
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): RuntimeHttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** Writes a problem answer; after the headers went out the only honest signal left is a reset. */
export function sendProblem(
  res: http.ServerResponse,
  problem: Problem,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(problem);
  res.writeHead(problem.status, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
