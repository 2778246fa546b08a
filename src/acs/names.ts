/** The names and routes (below the host's `routePrefix`, `api`) of the ACS functions. */
export const ACS_FUNCTIONS = {
  createAcsIdentity: { route: 'acs/identities', method: 'POST' },
  issueAcsToken: { route: 'acs/identities/{communicationUserId}/token', method: 'POST' },
  revokeAcsTokens: { route: 'acs/identities/{communicationUserId}/revoke', method: 'POST' },
  deleteAcsIdentity: { route: 'acs/identities/{communicationUserId}', method: 'DELETE' },
  exchangeTeamsToken: { route: 'acs/teams-token', method: 'POST' },
} as const;
