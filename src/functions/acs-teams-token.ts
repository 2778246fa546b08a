import { app, type HttpRequest } from '@azure/functions';
import type { AcsIdentityService } from '../clients/acs-identity';
import { getAcsConfig, getAcsIdentityService } from '../composition';
import { Fields, readJson } from '../http/parse';
import { json, withErrors, type Handler } from '../http/respond';
import { FUNCTION, ROUTE } from '../names';

export interface TeamsTokenDeps {
  readonly acs: () => AcsIdentityService;
  /** ACS_TEAMS_CLIENT_ID: used when the body has no clientId. */
  readonly defaultClientId: () => string | undefined;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** `POST /api/acs/teams-token` `{ teamsUserAadToken, clientId, userObjectId }` → 200 `{ token, expiresOn }`. */
export function createExchangeTeamsToken(deps: TeamsTokenDeps): Handler {
  return async (request: HttpRequest) => {
    const fields = new Fields();
    const body = fields.object(await readJson(request));
    fields.noUnknown(body, ['teamsUserAadToken', 'clientId', 'userObjectId']);
    const teamsUserAadToken = fields.requiredString(body, 'teamsUserAadToken', {
      maxLength: 8192,
      pattern: JWT,
      patternMessage: 'must be an Entra ID access token (JWT)',
    });
    const guid = { pattern: GUID, patternMessage: 'must be a GUID' };
    const clientId =
      body.clientId === undefined && deps.defaultClientId() !== undefined
        ? deps.defaultClientId()
        : fields.requiredString(body, 'clientId', guid);
    const userObjectId = fields.requiredString(body, 'userObjectId', guid);
    fields.throwIfAny();
    if (teamsUserAadToken === undefined || clientId === undefined || userObjectId === undefined) {
      return fields.unreachable();
    }

    return json(
      200,
      await deps.acs().exchangeTeamsToken({ teamsUserAadToken, clientId, userObjectId }),
    );
  };
}

export const exchangeTeamsToken = withErrors(
  createExchangeTeamsToken({
    acs: getAcsIdentityService,
    defaultClientId: () => getAcsConfig().teamsClientId,
  }),
);

app.http(FUNCTION.exchangeTeamsToken, {
  route: ROUTE.exchangeTeamsToken,
  methods: ['POST'],
  authLevel: 'function',
  handler: exchangeTeamsToken,
});
