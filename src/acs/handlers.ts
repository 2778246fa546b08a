import type { HttpRequest } from '@azure/functions';
import { readJson, routeParam } from '../http/parse';
import { json, noContent, type Handler } from '../http/respond';
import type { AcsIdentityService } from './identity-service';
import {
  parseCommunicationUserId,
  parseCreateIdentityRequest,
  parseTeamsTokenRequest,
  parseTokenRequest,
} from './schemas';

/**
 * The `/api/acs/...` handlers (function key): parse, one ACS call, map. The service is resolved per
 * call so registration needs no settings at import time.
 */
export interface AcsDeps {
  readonly acs: () => AcsIdentityService;
}

export interface TeamsTokenDeps extends AcsDeps {
  /** ACS_TEAMS_CLIENT_ID: used when the body has no clientId. */
  readonly defaultClientId: () => string | undefined;
}

/** `POST /api/acs/identities` `{ scopes?, expiresInMinutes? }` → 201 `{ communicationUserId, token?, expiresOn? }`. */
export function createAcsIdentityHandler(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    const body = parseCreateIdentityRequest(await readJson(request, { required: false }));
    return json(201, await deps.acs().createIdentity(body));
  };
}

/** `POST /api/acs/identities/{communicationUserId}/token` `{ scopes, expiresInMinutes? }` → 200 `{ token, expiresOn }`. */
export function issueAcsTokenHandler(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    const communicationUserId = userIdOf(request);
    const { scopes, expiresInMinutes } = parseTokenRequest(await readJson(request));
    return json(200, await deps.acs().issueToken(communicationUserId, scopes, expiresInMinutes));
  };
}

/** `POST /api/acs/identities/{communicationUserId}/revoke` → 204. ACS may take minutes to propagate. */
export function revokeAcsTokensHandler(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    await deps.acs().revokeTokens(userIdOf(request));
    return noContent();
  };
}

/** `DELETE /api/acs/identities/{communicationUserId}` → 204 (also revokes its tokens). */
export function deleteAcsIdentityHandler(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    await deps.acs().deleteIdentity(userIdOf(request));
    return noContent();
  };
}

/** `POST /api/acs/teams-token` `{ teamsUserAadToken, clientId, userObjectId }` → 200 `{ token, expiresOn }`. */
export function exchangeTeamsTokenHandler(deps: TeamsTokenDeps): Handler {
  return async (request: HttpRequest) => {
    const exchange = parseTeamsTokenRequest(await readJson(request), deps.defaultClientId());
    return json(200, await deps.acs().exchangeTeamsToken(exchange));
  };
}

function userIdOf(request: HttpRequest): string {
  return parseCommunicationUserId(routeParam(request, 'communicationUserId'));
}
