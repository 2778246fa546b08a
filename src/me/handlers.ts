import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import { ACS_KEYS } from '../acs/settings';

import { withAuthenticatedCaller } from './authenticated-caller';
import type { AuthenticatedCaller } from './authenticated-caller';
import type { MeServices } from './services';
import { DownstreamApiError, SidecarClientError, splitAuthorizationHeader } from './sidecar';
import { ForbiddenError, NotFoundError, RateLimitedError, UnauthenticatedError } from '../errors';
import { parseTokenRequest } from '../acs/schemas';
import {
  parseSendMail,
  type MyAcsRevoked,
  type MyAcsToken,
  type SendMailAccepted,
} from './schemas';
import type { ResponseBody } from '../http/schema';
import { readJson } from '../http/parse';
import { json, noContent } from '../http/respond';
import type { Handler } from '../http/respond';

/** Scopes of the Entra token that `getTokenForTeamsUser` exchanges (audience: ACS's first-party app). */
export const ACS_TEAMS_SCOPES = [
  'https://auth.msft.communication.azure.com/Teams.ManageCalls',
  'https://auth.msft.communication.azure.com/Teams.ManageChats',
] as const;

/**
 * Sidecar API name used for the Teams OBO header. The scopes are always sent as an override, so a sidecar
 * without a `DownstreamApis__acs-teams` section still works (it only needs scopes, which the override gives).
 */
export const ACS_TEAMS_SIDECAR_API = 'acs-teams';

/** Revocation takes up to 15 minutes to reach every ACS service (identity-model docs). */
const REVOCATION_NOTE =
  'Existing tokens can stay usable for up to 15 minutes while revocation propagates.';
/**
 * Self-service tokens default to one hour (ACS's minimum) rather than ACS's 24 h: least privilege for tokens
 * handed straight to end-user devices; callers can still ask for up to 1440 minutes.
 */
export const SELF_SERVICE_DEFAULT_TOKEN_MINUTES = 60;

export interface MeHandlers {
  readonly getMe: Handler;
  readonly listMyMessages: Handler;
  readonly sendMyMail: Handler;
  readonly issueMyAcsToken: Handler;
  readonly revokeMyAcsTokens: Handler;
  readonly deleteMyAcsIdentity: Handler;
  readonly exchangeMyTeamsToken: Handler;
}

/**
 * The `/api/me...` routes (profile and mail through the sidecar) and the self-service ACS endpoints. Every handler runs behind
 * `withAuthenticatedCaller`, and the ACS ones act only on the identity mapped to the caller's tid/oid: no route
 * takes an identity id as input, so there is nothing to point at someone else's identity.
 */
export function createMeHandlers(services: () => MeServices): MeHandlers {
  const sidecar = (): MeServices['sidecar'] => services().sidecar;
  let teamsDisabledReported = false;
  const auth = (
    handler: (request: HttpRequest, caller: AuthenticatedCaller) => Promise<HttpResponseInit>,
  ): Handler =>
    withAuthenticatedCaller((request, _context, caller) => handler(request, caller), sidecar);

  return {
    getMe: auth(async (_request, caller) => {
      const s = services();
      const me = await graph(() =>
        s.sidecar.callDownstreamApi(caller.authorization, s.graphApiName, 'me'),
      );
      return json(200, me);
    }),

    listMyMessages: auth(async (_request, caller) => {
      const s = services();
      const messages = await graph(() =>
        s.sidecar.callDownstreamApi(caller.authorization, s.graphApiName, 'me/messages?$top=10'),
      );
      return json(200, messages);
    }),

    sendMyMail: auth(async (request, caller) => {
      const mail = parseSendMail(await readJson(request));
      const s = services();
      await graph(() =>
        s.sidecar.callDownstreamApi(caller.authorization, s.graphApiName, 'me/sendMail', {
          method: 'POST',
          body: {
            message: {
              subject: mail.subject,
              body: { contentType: mail.contentType, content: mail.body },
              toRecipients: mail.to.map((address) => ({ emailAddress: { address } })),
            },
            saveToSentItems: mail.saveToSentItems,
          },
        }),
      );
      return json(202, {
        status: 'accepted',
        recipients: mail.to.length,
      } satisfies ResponseBody<typeof SendMailAccepted>);
    }),

    issueMyAcsToken: auth(async (request, caller) => {
      const { scopes, expiresInMinutes = SELF_SERVICE_DEFAULT_TOKEN_MINUTES } = parseTokenRequest(
        await readJson(request),
      );
      const token = await services().identities.issueToken(caller, scopes, expiresInMinutes);
      return json(200, {
        communicationUserId: token.communicationUserId,
        token: token.token,
        expiresOn: token.expiresOn,
        identityCreated: token.created,
      } satisfies ResponseBody<typeof MyAcsToken>);
    }),

    revokeMyAcsTokens: auth(async (_request, caller) => {
      const mapping = await services().identities.revokeTokens(caller);
      return json(200, {
        communicationUserId: mapping.communicationUserId,
        revoked: true,
        note: REVOCATION_NOTE,
      } satisfies ResponseBody<typeof MyAcsRevoked>);
    }),

    deleteMyAcsIdentity: auth(async (_request, caller) => {
      await services().identities.deleteIdentity(caller);
      return noContent();
    }),

    exchangeMyTeamsToken: withAuthenticatedCaller(async (_request, context, caller) => {
      const s = services();
      if (s.teamsClientId === undefined) {
        // Disabled on purpose (the key is optional): a 404 problem, not an error, and one warning per process.
        if (!teamsDisabledReported) {
          teamsDisabledReported = true;
          context.warn(
            `${context.functionName}: the Teams token exchange is disabled (${ACS_KEYS.teamsClientId} is not set); it answers 404.`,
          );
        }
        throw new NotFoundError('The Teams token exchange is not enabled on this deployment.');
      }
      const header = await obo(() =>
        s.sidecar.getAuthorizationHeader(caller.authorization, ACS_TEAMS_SIDECAR_API, {
          scopes: ACS_TEAMS_SCOPES,
        }),
      );
      const token = await s.acs.exchangeTeamsToken({
        teamsUserAadToken: splitAuthorizationHeader(header).token,
        clientId: s.teamsClientId,
        userObjectId: caller.objectId,
      });
      return json(200, { token: token.token, expiresOn: token.expiresOn });
    }, sidecar),
  };
}

/** Maps what the sidecar reports about a Graph call to an answer for our caller (never Graph's text). */
async function graph<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await obo(call);
  } catch (error) {
    if (error instanceof DownstreamApiError) {
      if (error.downstreamStatus === 403) {
        throw new ForbiddenError('Microsoft Graph refused the request: a permission is missing.', {
          cause: error,
        });
      }
      if (error.downstreamStatus === 404)
        throw new NotFoundError('Microsoft Graph found nothing there.');
      if (error.downstreamStatus === 429) {
        throw new RateLimitedError('Microsoft Graph is throttling requests; retry later.', 30, {
          cause: error,
        });
      }
    }
    throw error;
  }
}

/**
 * A sidecar 401 on an OBO call either rejects the caller's token (no problem body) or carries an MSAL challenge
 * such as consent or MFA required (problem body): the first is the caller's problem, the second a refusal.
 */
async function obo<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof SidecarClientError && error.upstreamStatus === 401) {
      if (error.problemTitle === undefined) {
        throw new UnauthenticatedError('The bearer token is invalid or expired.', { cause: error });
      }
      throw new ForbiddenError(
        'Microsoft Entra ID refused to act on your behalf (consent or multi-factor authentication may be required).',
        { cause: error },
      );
    }
    throw error;
  }
}
