import type { ResponseBody } from '../http/schema';
import type { AcsIdentity as AcsIdentityAnswer, AcsToken as AcsTokenAnswer } from './schemas';

/** Token scopes ACS Identity accepts (CommunicationIdentityTokenScope). */
export const ACS_SCOPES = ['chat', 'voip', 'chat.join', 'chat.join.limited', 'voip.join'] as const;
export type AcsScope = (typeof ACS_SCOPES)[number];

/** ACS token lifetime bounds in minutes (service default 1440). */
export const TOKEN_MINUTES_RANGE = { min: 60, max: 1440 } as const;

/** `8:acs:<resource id>_<user id>`; the SDK does not check ids, so this app does before calling out. */
export const ACS_USER_ID_PATTERN = /^8:acs:[A-Za-z0-9-]{1,64}_[A-Za-z0-9-]{1,64}$/;

export function isAcsScope(value: unknown): value is AcsScope {
  return typeof value === 'string' && (ACS_SCOPES as readonly string[]).includes(value);
}

/** A token and its ISO-8601 expiry, as the routes answer it. */
export type AcsToken = ResponseBody<typeof AcsTokenAnswer>;

export interface AcsIdentity {
  readonly communicationUserId: string;
}

/** A new identity, with a token when scopes were asked for, as `POST /api/acs/identities` answers. */
export type AcsIdentityWithToken = ResponseBody<typeof AcsIdentityAnswer>;

export interface TeamsTokenRequest {
  readonly teamsUserAadToken: string;
  readonly clientId: string;
  readonly userObjectId: string;
}
