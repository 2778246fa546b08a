import { z } from 'zod';
import { ValidationError, type FieldProblem } from '../errors';

/**
 * Request shapes are zod schemas (one per shape, declared in each feature's `schemas.ts`): the same
 * value validates the body, gives its TypeScript type (`z.infer`) and its OpenAPI schema. This
 * module turns zod's issues into the app's field problems, so a 400 reads as it always has, and
 * builds the field kinds whose messages the whole API shares.
 */

const MESSAGES = {
  required: 'required',
  notObject: 'must be a JSON object',
  unknownProperty: 'is not a known property',
  nonEmptyString: 'must be a non-empty string',
  invalidFormat: 'has an invalid format',
} as const;

/** Absent (missing key or `null`) reads `required`; any other wrong value reads `message`. */
export function requiredOr(message: string): (issue: { readonly input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined || issue.input === null ? MESSAGES.required : message;
}

/**
 * A string field: present, not blank, at most `maxLength` characters and, given a `pattern`, of
 * that form. Each check stops the field's checking, so a field reports one problem: the first.
 */
export function text({
  maxLength = 4096,
  pattern,
  patternMessage = MESSAGES.invalidFormat,
}: { maxLength?: number; pattern?: RegExp; patternMessage?: string } = {}) {
  const checked = z
    .string({ error: requiredOr(MESSAGES.nonEmptyString) })
    .min(1, { error: MESSAGES.nonEmptyString, abort: true })
    .refine((value) => value.trim() !== '', { error: MESSAGES.nonEmptyString, abort: true })
    .max(maxLength, { error: `must be at most ${maxLength} characters`, abort: true });
  return pattern === undefined ? checked : checked.regex(pattern, { error: patternMessage });
}

/** An ISO 8601 timestamp as `Date.prototype.toISOString` writes it (answers only). */
export const isoDateTime = z.iso.datetime({ offset: true });

/** An integer in `range`; anything else (a string of digits included) is the one problem. */
export function integerIn(range: { readonly min: number; readonly max: number }) {
  const error = `must be an integer in ${range.min}..${range.max}`;
  return z
    .int({ error })
    .min(range.min, { error, abort: true })
    .max(range.max, { error, abort: true });
}

/**
 * Validates `value` against `schema`: the parsed value, or one ValidationError listing every bad
 * field. Unknown properties come first (they are usually a typo of another field's name), then one
 * problem per field in the schema's order; a problem with the body itself names `body`.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(fieldProblems(result.error.issues));
}

/** zod's issues as the app's field problems (a non-problem+json API maps these onto its own shape). */
export function fieldProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const unknown: FieldProblem[] = issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: key, message: MESSAGES.unknownProperty }))
      : [],
  );
  const byField = new Map<string, string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const field = issue.path.length === 0 ? 'body' : String(issue.path[0]);
    if (!byField.has(field)) byField.set(field, issue.message);
  }
  return [...unknown, ...[...byField].map(([field, message]) => ({ field, message }))];
}

/** A JSON object with exactly these properties; anything else is `body: must be a JSON object`. */
export function bodyObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: MESSAGES.notObject });
}

/** The type of an answer body declared by `schema` (handlers build it `satisfies ResponseBody<...>`). */
export type ResponseBody<S extends z.ZodType> = z.input<S>;

/** One value (a route parameter, say) named `field`: the parsed value, or its first problem. */
export function parseField<S extends z.ZodType>(
  field: string,
  schema: S,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError({
    field,
    message: result.error.issues[0]?.message ?? MESSAGES.invalidFormat,
  });
}
