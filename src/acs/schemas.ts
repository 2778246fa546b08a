import { z } from 'zod';
import {
  bodyObject,
  isoDateTime,
  integerIn,
  parseField,
  parseWith,
  requiredOr,
  text,
} from '../http/schema';
import {
  ACS_SCOPES,
  ACS_USER_ID_PATTERN,
  TOKEN_MINUTES_RANGE,
  type AcsScope,
  type TeamsTokenRequest as TeamsTokenExchange,
} from './model';

/**
 * The request and response shapes of the ACS routes (and of `/api/me/acs/token`, which takes the
 * same token request), one zod schema each: the handlers parse with them, their types are
 * `z.infer` of them, and `openapi.ts` documents them.
 */

const SCOPES_MESSAGE = `must be a non-empty array of: ${ACS_SCOPES.join(', ')}`;

/** A non-empty list of known ACS scopes without duplicates. */
const AcsScopes = z
  .array(z.enum(ACS_SCOPES, { error: `each scope must be one of: ${ACS_SCOPES.join(', ')}` }), {
    error: requiredOr(SCOPES_MESSAGE),
  })
  .min(1, { error: SCOPES_MESSAGE, abort: true })
  .refine((scopes) => new Set(scopes).size === scopes.length, {
    error: 'must not contain duplicates',
  })
  .meta({ uniqueItems: true });

/** Absent or null: the endpoint's default lifetime. */
const ExpiresInMinutes = integerIn(TOKEN_MINUTES_RANGE).nullish();

const JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const Guid = text({ pattern: GUID, patternMessage: 'must be a GUID' }).meta({ format: 'uuid' });

export const CommunicationUserId = z
  .string()
  .max(200, { error: 'must be an ACS identity id (8:acs:<resource>_<user>)', abort: true })
  .regex(ACS_USER_ID_PATTERN, { error: 'must be an ACS identity id (8:acs:<resource>_<user>)' })
  .meta({
    examples: ['8:acs:00000000-0000-4000-8000-00000000ac50_00000001-aaaa-bbbb-cccc-0123456789ab'],
  });

/** The `{communicationUserId}` route parameter. */
export const AcsIdentityParams = z.object({ communicationUserId: CommunicationUserId });

export function parseCommunicationUserId(raw: string): string {
  return parseField('communicationUserId', CommunicationUserId, raw);
}

/** `{ scopes, expiresInMinutes? }`: the body of `/acs/identities/{id}/token` and `/me/acs/token`. */
export const IssueAcsTokenRequest = bodyObject({
  scopes: AcsScopes,
  expiresInMinutes: ExpiresInMinutes,
}).meta({ id: 'IssueAcsTokenRequest' });

export interface TokenRequest {
  readonly scopes: readonly AcsScope[];
  /** Undefined: the endpoint's default lifetime. */
  readonly expiresInMinutes: number | undefined;
}

export function parseTokenRequest(value: unknown): TokenRequest {
  const { scopes, expiresInMinutes } = parseWith(IssueAcsTokenRequest, value);
  return { scopes, expiresInMinutes: expiresInMinutes ?? undefined };
}

/** `{ scopes?, expiresInMinutes? }`, or no body: the body of `POST /acs/identities`. */
export const CreateAcsIdentityRequest = bodyObject({
  scopes: AcsScopes.nullish(),
  expiresInMinutes: ExpiresInMinutes,
})
  .refine((body) => !(body.scopes === undefined && typeof body.expiresInMinutes === 'number'), {
    error: 'only applies together with scopes',
    path: ['expiresInMinutes'],
    // Checked beside an unknown property too, like every other field rule.
    when: (payload) =>
      payload.issues.every(
        (issue) => issue.code === 'unrecognized_keys' || issue.path?.[0] === 'scopes',
      ),
  })
  .meta({ id: 'CreateAcsIdentityRequest' });

export interface CreateIdentityRequest {
  readonly scopes?: readonly AcsScope[];
  readonly expiresInMinutes?: number;
}

export function parseCreateIdentityRequest(value: unknown): CreateIdentityRequest {
  const { scopes, expiresInMinutes } = parseWith(CreateAcsIdentityRequest, value ?? {});
  return {
    ...(scopes === undefined || scopes === null ? {} : { scopes }),
    ...(expiresInMinutes === undefined || expiresInMinutes === null ? {} : { expiresInMinutes }),
  };
}

function teamsTokenRequest<ClientId extends z.ZodType<string | undefined>>(clientId: ClientId) {
  return bodyObject({
    teamsUserAadToken: text({
      maxLength: 8192,
      pattern: JWT,
      patternMessage: 'must be an Entra ID access token (JWT)',
    }),
    clientId,
    userObjectId: Guid,
  });
}

/** `{ teamsUserAadToken, clientId?, userObjectId }`: `clientId` may be left to the setting. */
export const TeamsTokenRequest = teamsTokenRequest(
  Guid.optional().meta({ description: 'Defaults to the ACS_TEAMS_CLIENT_ID setting.' }),
).meta({ id: 'TeamsTokenRequest' });
const TeamsTokenRequestWithClientId = teamsTokenRequest(Guid);

export function parseTeamsTokenRequest(
  value: unknown,
  defaultClientId: string | undefined,
): TeamsTokenExchange {
  if (defaultClientId === undefined) return parseWith(TeamsTokenRequestWithClientId, value);
  const {
    teamsUserAadToken,
    clientId = defaultClientId,
    userObjectId,
  } = parseWith(TeamsTokenRequest, value);
  return { teamsUserAadToken, clientId, userObjectId };
}

export const Jwt = z.string().regex(JWT);

export const AcsIdentity = z
  .strictObject({
    communicationUserId: CommunicationUserId,
    token: Jwt.optional().meta({ description: 'Only when scopes were requested.' }),
    expiresOn: isoDateTime.optional(),
  })
  .meta({ id: 'AcsIdentity' });

export const AcsToken = z
  .strictObject({ token: Jwt, expiresOn: isoDateTime })
  .meta({ id: 'AcsToken' });
