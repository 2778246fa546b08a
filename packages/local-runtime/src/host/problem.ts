/** RFC 9457 problem responses of the host itself (not of the app, which writes its own). */
import type * as http from 'node:http';

export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type?: string;
  readonly [extension: string]: unknown;
}

export function problemBody(problem: Problem): string {
  return JSON.stringify({ type: problem.type ?? 'about:blank', ...problem });
}

export function sendProblem(
  res: http.ServerResponse,
  problem: Problem,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(problem);
  res.writeHead(problem.status, {
    ...headers,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
