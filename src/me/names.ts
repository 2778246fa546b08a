import type { MeHandlers } from './handlers';

/** The names and routes (below the host's `routePrefix`, `api`) of the `/api/me` functions. */
export const ME_FUNCTIONS = {
  getMe: { route: 'me', method: 'GET' },
  listMyMessages: { route: 'me/messages', method: 'GET' },
  sendMyMail: { route: 'me/messages/send', method: 'POST' },
  issueMyAcsToken: { route: 'me/acs/token', method: 'POST' },
  revokeMyAcsTokens: { route: 'me/acs/revoke', method: 'POST' },
  deleteMyAcsIdentity: { route: 'me/acs/identity', method: 'DELETE' },
  exchangeMyTeamsToken: { route: 'me/acs/teams-token', method: 'POST' },
} as const satisfies Record<keyof MeHandlers, { route: string; method: string }>;
