import type { HttpRequest } from '@azure/functions';
import { PayloadTooLargeError, ValidationError } from '../errors';

/** Bodies of this API are tiny; anything larger is refused before parsing. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads the request body as JSON. `required: false` turns an empty body into `undefined`.
 * The content type is not enforced, so `curl -d` without a header works. `maxBytes` (default
 * {@link MAX_BODY_BYTES}) bounds the body: larger is 413 before parsing.
 */
export async function readJson(
  request: HttpRequest,
  { required = true, maxBytes = MAX_BODY_BYTES }: { required?: boolean; maxBytes?: number } = {},
): Promise<unknown> {
  const text = await readText(request, maxBytes);
  if (text.trim() === '') {
    if (!required) return undefined;
    throw new ValidationError({ field: 'body', message: 'a JSON body is required' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError({ field: 'body', message: 'must be valid JSON' });
  }
}

/** The body as text: 413 when it declares or turns out to be larger than `maxBytes`. */
export async function readText(request: HttpRequest, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = () =>
    new PayloadTooLargeError(`The request body must be at most ${maxBytes} bytes.`);
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  return readAtMost(request, maxBytes, tooLarge);
}

/**
 * The body as text, reading no more than `maxBytes` of it: the app streams its requests
 * (`enableHttpStream`), so what a handler does not read is never buffered, and a body that turns out larger
 * than declared (or chunked) stops being read at the limit.
 */
async function readAtMost(
  request: HttpRequest,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<string> {
  if (request.body === null) return '';
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Route parameters may arrive percent-encoded (`8%3Aacs%3A...`) depending on the client and host. */
export function routeParam(request: HttpRequest, name: string): string {
  const raw = request.params[name];
  if (raw === undefined || raw === '') {
    throw new ValidationError({ field: name, message: 'required' });
  }
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError({ field: name, message: 'is not a valid URL path segment' });
  }
}
