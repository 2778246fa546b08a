import { app } from '@azure/functions';
import { getAcsConfig, getAcsIdentityService } from '../composition';
import { withErrors, type Handler } from '../http/respond';
import {
  createAcsIdentityHandler,
  deleteAcsIdentityHandler,
  exchangeTeamsTokenHandler,
  issueAcsTokenHandler,
  revokeAcsTokensHandler,
} from './handlers';
import { ACS_FUNCTIONS } from './names';

const deps = { acs: getAcsIdentityService };

const HANDLERS: { readonly [Name in keyof typeof ACS_FUNCTIONS]: Handler } = {
  createAcsIdentity: createAcsIdentityHandler(deps),
  issueAcsToken: issueAcsTokenHandler(deps),
  revokeAcsTokens: revokeAcsTokensHandler(deps),
  deleteAcsIdentity: deleteAcsIdentityHandler(deps),
  exchangeTeamsToken: exchangeTeamsTokenHandler({
    ...deps,
    defaultClientId: () => getAcsConfig().teamsClientId,
  }),
};

// Server-to-server endpoints: a function key guards them (ACS identities are not per end user here).
for (const name of Object.keys(ACS_FUNCTIONS) as (keyof typeof ACS_FUNCTIONS)[]) {
  const { route, method } = ACS_FUNCTIONS[name];
  app.http(name, {
    route,
    methods: [method],
    authLevel: 'function',
    handler: withErrors(HANDLERS[name]),
  });
}
