import { ValidationError } from '../errors';
import {
  ACS_SCOPES,
  ACS_USER_ID_PATTERN,
  TOKEN_MINUTES_RANGE,
  isAcsScope,
  type AcsScope,
} from '../domain/acs';
import type { Fields } from './parse';

/** Scopes: a non-empty list of known ACS scopes without duplicates. Problems go to `fields`. */
export function readScopes(
  fields: Fields,
  source: Record<string, unknown>,
  { required }: { required: boolean },
): AcsScope[] | undefined {
  const value = source.scopes;
  if (value === undefined || value === null) {
    if (required) fields.add('scopes', 'required');
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) {
    fields.add('scopes', `must be a non-empty array of: ${ACS_SCOPES.join(', ')}`);
    return undefined;
  }
  const scopes: AcsScope[] = [];
  for (const item of value as unknown[]) {
    if (!isAcsScope(item)) {
      fields.add('scopes', `each scope must be one of: ${ACS_SCOPES.join(', ')}`);
      return undefined;
    }
    if (scopes.includes(item)) {
      fields.add('scopes', 'must not contain duplicates');
      return undefined;
    }
    scopes.push(item);
  }
  return scopes;
}

export function readExpiresInMinutes(
  fields: Fields,
  source: Record<string, unknown>,
): number | undefined {
  return fields.optionalInteger(source, 'expiresInMinutes', TOKEN_MINUTES_RANGE);
}

export function parseCommunicationUserId(raw: string): string {
  if (raw.length > 200 || !ACS_USER_ID_PATTERN.test(raw)) {
    throw new ValidationError({
      field: 'communicationUserId',
      message: 'must be an ACS identity id (8:acs:<resource>_<user>)',
    });
  }
  return raw;
}
