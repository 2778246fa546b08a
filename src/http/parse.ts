import type { HttpRequest } from '@azure/functions';
import { PayloadTooLargeError, ValidationError, type FieldProblem } from '../errors';

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
  const tooLarge = () =>
    new PayloadTooLargeError(`The request body must be at most ${maxBytes} bytes.`);
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const text = await request.text();
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw tooLarge();
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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Collects field problems so one response lists all of them: the building block of the body
 * parsers (`parseX(value): X`). Usage: `const f = new Fields(); const x = f.requiredString(...);
 * f.throwIfAny(); return { x };`. A required field that fails reads as `''` after recording its
 * problem, so `throwIfAny()` always throws before such a placeholder could be used.
 */
export class Fields {
  readonly problems: FieldProblem[] = [];

  add(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  throwIfAny(): void {
    if (this.problems.length > 0) throw new ValidationError(this.problems);
  }

  /** Fails with the body as the field when the body is not a JSON object. */
  object(value: unknown, field = 'body'): Record<string, unknown> {
    if (!isRecord(value)) {
      throw new ValidationError({ field, message: 'must be a JSON object' });
    }
    return value;
  }

  requiredString(
    source: Record<string, unknown>,
    field: string,
    opts: { maxLength?: number; pattern?: RegExp; patternMessage?: string } = {},
  ): string {
    const value = source[field];
    if (value === undefined || value === null) {
      this.add(field, 'required');
      return '';
    }
    return this.checkString(value, field, opts) ?? '';
  }

  optionalString(
    source: Record<string, unknown>,
    field: string,
    opts: { maxLength?: number; pattern?: RegExp; patternMessage?: string } = {},
  ): string | undefined {
    const value = source[field];
    if (value === undefined || value === null) return undefined;
    return this.checkString(value, field, opts);
  }

  optionalInteger(
    source: Record<string, unknown>,
    field: string,
    range: { min: number; max: number },
  ): number | undefined {
    const value = source[field];
    if (value === undefined || value === null) return undefined;
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < range.min ||
      value > range.max
    ) {
      this.add(field, `must be an integer in ${range.min}..${range.max}`);
      return undefined;
    }
    return value;
  }

  /** Rejects properties the endpoint does not know, which catches typos such as `scope`. */
  noUnknown(source: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(source)) {
      if (!allowed.includes(key)) this.add(key, 'is not a known property');
    }
  }

  private checkString(
    value: unknown,
    field: string,
    {
      maxLength = 4096,
      pattern,
      patternMessage = 'has an invalid format',
    }: {
      maxLength?: number;
      pattern?: RegExp;
      patternMessage?: string;
    },
  ): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') {
      this.add(field, 'must be a non-empty string');
      return undefined;
    }
    if (value.length > maxLength) {
      this.add(field, `must be at most ${maxLength} characters`);
      return undefined;
    }
    if (pattern !== undefined && !pattern.test(value)) {
      this.add(field, patternMessage);
      return undefined;
    }
    return value;
  }
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
