/**
 * `BuiltIn::HttpActivity`: the activity the extension runs for `callHttp` (the engine schedules it like any
 * activity; `replay.ts` handles the 202 + Location polling around it). Token sources (managed identity) plug in
 * here, before the request goes out.
 */
import { tokenSourceHeaders } from '../managed-identity/token-source';

/** The extension's built-in activity behind `callHttp`: one HTTP request, answered as DurableHttpResponse. */
export async function runHttpActivity(inputText: string | null): Promise<unknown> {
  const req: unknown = inputText ? JSON.parse(inputText) : undefined;
  if (typeof req !== 'object' || req === null) throw new Error('callHttp: missing request');
  const r = req as { method?: unknown; uri?: unknown; content?: unknown; headers?: unknown };
  if (typeof r.uri !== 'string') throw new Error('callHttp: missing uri');
  const headers: Record<string, string> = {};
  if (typeof r.headers === 'object' && r.headers !== null) {
    for (const [k, v] of Object.entries(r.headers as Record<string, unknown>)) {
      headers[k] = Array.isArray(v) ? v.map(String).join(', ') : String(v);
    }
  }
  const method = typeof r.method === 'string' ? r.method.toUpperCase() : 'GET';
  // A tokenSource (managed identity) adds Authorization, or fails the call: it never goes out unauthenticated.
  Object.assign(headers, await tokenSourceHeaders((req as { tokenSource?: unknown }).tokenSource));
  const res = await fetch(r.uri, {
    method,
    headers,
    ...(typeof r.content === 'string' && method !== 'GET' && method !== 'HEAD'
      ? { body: r.content }
      : {}),
    signal: AbortSignal.timeout(100_000),
  });
  const outHeaders: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    outHeaders[k] = v;
  });
  return { statusCode: res.status, headers: outHeaders, content: await res.text() };
}
