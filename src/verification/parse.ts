import { Fields, isRecord } from '../http/parse';
import { ValidationError } from '../errors';
import { isWellFormedCode, type WellFormedCode } from './codes';
import { CODE_LENGTH_RANGE, E164_PATTERN } from './rules';

/**
 * The request bodies of the verification endpoints, one parser per shape. Each throws one
 * ValidationError listing every problem, or returns a typed, valid value.
 */

/** `"+14255550100"` or `{"phoneNumber": "+14255550100"}` (the seed sends the bare string). */
export function parsePhoneNumber(body: unknown): string {
  const value = isRecord(body) ? body.phoneNumber : body;
  if (typeof value !== 'string') {
    throw new ValidationError({
      field: 'phoneNumber',
      message: 'send the number as a JSON string or as {"phoneNumber": "..."}',
    });
  }
  const phoneNumber = value.trim();
  if (!E164_PATTERN.test(phoneNumber)) {
    throw new ValidationError({
      field: 'phoneNumber',
      message: 'must be E.164: + and 8-15 digits',
    });
  }
  return phoneNumber;
}

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
  fields.add(
    'code',
    code === undefined || code === null
      ? 'required'
      : `must be a string of ${CODE_LENGTH_RANGE.min}-${CODE_LENGTH_RANGE.max} digits or a non-negative integer`,
  );
  throw new ValidationError(fields.problems);
}
