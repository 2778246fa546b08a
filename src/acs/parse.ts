import { Fields } from '../http/parse';
import { ValidationError } from '../errors';
import {
  ACS_SCOPES,
  ACS_USER_ID_PATTERN,
  TOKEN_MINUTES_RANGE,
  isAcsScope,
  type AcsScope,
  type TeamsTokenRequest,
} from './model';

/**
 * The request bodies of the ACS endpoints, one parser per shape. Each throws one ValidationError
 * listing every problem, or returns a typed, valid value.
 */

/** `{ scopes, expiresInMinutes? }`: the body of `/acs/identities/{id}/token` and `/me/acs/token`. */
export interface TokenRequest {
  readonly scopes: readonly AcsScope[];
  /** Undefined: the endpoint's default lifetime. */
  readonly expiresInMinutes: number | undefined;
}

export function parseTokenRequest(value: unknown): TokenRequest {
  const fields = new Fields();
  const body = fields.object(value);
  fields.noUnknown(body, ['scopes', 'expiresInMinutes']);
  if (body.scopes === undefined || body.scopes === null) fields.add('scopes', 'required');
  // Absent or invalid scopes are reported above, so `[]` never survives `throwIfAny()`.
  const scopes = readScopes(fields, body.scopes) ?? [];
  const expiresInMinutes = fields.optionalInteger(body, 'expiresInMinutes', TOKEN_MINUTES_RANGE);
  fields.throwIfAny();
  return { scopes, expiresInMinutes };
}

/** `{ scopes?, expiresInMinutes? }`, or no body: the body of `POST /acs/identities`. */
export interface CreateIdentityRequest {
  readonly scopes?: readonly AcsScope[];
  readonly expiresInMinutes?: number;
}

export function parseCreateIdentityRequest(value: unknown): CreateIdentityRequest {
  const fields = new Fields();
  const body = fields.object(value ?? {});
  fields.noUnknown(body, ['scopes', 'expiresInMinutes']);
  const scopes = readScopes(fields, body.scopes);
  const expiresInMinutes = fields.optionalInteger(body, 'expiresInMinutes', TOKEN_MINUTES_RANGE);
  if (expiresInMinutes !== undefined && body.scopes === undefined) {
    fields.add('expiresInMinutes', 'only applies together with scopes');
  }
  fields.throwIfAny();
  return {
    ...(scopes === undefined ? {} : { scopes }),
    ...(expiresInMinutes === undefined ? {} : { expiresInMinutes }),
  };
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** `{ teamsUserAadToken, clientId, userObjectId }`; `clientId` may be left to `defaultClientId`. */
export function parseTeamsTokenRequest(
  value: unknown,
  defaultClientId: string | undefined,
): TeamsTokenRequest {
  const fields = new Fields();
  const body = fields.object(value);
  fields.noUnknown(body, ['teamsUserAadToken', 'clientId', 'userObjectId']);
  const teamsUserAadToken = fields.requiredString(body, 'teamsUserAadToken', {
    maxLength: 8192,
    pattern: JWT,
    patternMessage: 'must be an Entra ID access token (JWT)',
  });
  const guid = { pattern: GUID, patternMessage: 'must be a GUID' };
  const clientId =
    body.clientId === undefined && defaultClientId !== undefined
      ? defaultClientId
      : fields.requiredString(body, 'clientId', guid);
  const userObjectId = fields.requiredString(body, 'userObjectId', guid);
  fields.throwIfAny();
  return { teamsUserAadToken, clientId, userObjectId };
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

/** A non-empty list of known ACS scopes without duplicates; undefined when absent or invalid. */
function readScopes(fields: Fields, value: unknown): AcsScope[] | undefined {
  if (value === undefined || value === null) return undefined;
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
