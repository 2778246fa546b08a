import { Fields, isRecord } from '../http/parse';
import { ValidationError } from '../errors';
import { isWellFormedCode, type WellFormedCode } from './codes';
import { CODE_LENGTH_RANGE } from './rules';
import { parseLocale } from './sms-templates';

/**
 * The request bodies of the verification endpoints, one parser per shape. Each throws one
 * ValidationError listing every problem, or returns a typed value. The phone number itself is
 * judged by the guard's phone policy (libphonenumber-js), not here.
 */

export interface StartRequest {
  readonly phoneNumber: unknown;
  readonly locale: string | undefined;
}

/** `"+14255550100"` (the seed sends the bare string) or `{"phoneNumber": "...", "locale": "ko"}`. */
export function parseStartRequest(body: unknown): StartRequest {
  if (!isRecord(body)) return { phoneNumber: body, locale: undefined };
  const fields = new Fields();
  fields.noUnknown(body, ['phoneNumber', 'locale']);
  fields.throwIfAny();
  return { phoneNumber: body.phoneNumber, locale: parseLocale(body.locale) };
}

const CODE_MESSAGE = `must be a string of ${CODE_LENGTH_RANGE.min}-${CODE_LENGTH_RANGE.max} digits or a non-negative integer`;

/** `{"code": "012345"}` or `{"code": 12345}`. */
export function parseCodeSubmission(value: unknown): WellFormedCode {
  const fields = new Fields();
  const body = fields.object(value);
  fields.noUnknown(body, ['code']);
  const code = body.code;
  if (isWellFormedCode(code)) {
    fields.throwIfAny();
    return code;
  }
  fields.add('code', code === undefined || code === null ? 'required' : CODE_MESSAGE);
  throw new ValidationError(fields.problems);
}

/** The bare body of `sendEventPostUri`: `2168` or `"002168"`, as the seed sends it. */
export function parseEventAnswer(value: unknown): WellFormedCode {
  if (isWellFormedCode(value)) return value;
  throw new ValidationError({ field: 'body', message: CODE_MESSAGE });
}
