import { app } from '@azure/functions';

import { getMeServices } from '../composition';
import { createMeHandlers } from './me-handlers';

/**
 * The bearer token is the authentication of these routes, so they are `anonymous` at the Functions level:
 * a function key would be a shared secret in every client and prove nothing about the user.
 */
const handlers = createMeHandlers(getMeServices);

export const {
  getMe,
  listMyMessages,
  sendMyMail,
  issueMyAcsToken,
  revokeMyAcsTokens,
  deleteMyAcsIdentity,
  exchangeMyTeamsToken,
} = handlers;

app.http('getMe', { route: 'me', methods: ['GET'], authLevel: 'anonymous', handler: getMe });
app.http('listMyMessages', {
  route: 'me/messages',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: listMyMessages,
});
app.http('sendMyMail', {
  route: 'me/messages/send',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: sendMyMail,
});
app.http('issueMyAcsToken', {
  route: 'me/acs/token',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: issueMyAcsToken,
});
app.http('revokeMyAcsTokens', {
  route: 'me/acs/revoke',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: revokeMyAcsTokens,
});
app.http('deleteMyAcsIdentity', {
  route: 'me/acs/identity',
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: deleteMyAcsIdentity,
});
app.http('exchangeMyTeamsToken', {
  route: 'me/acs/teams-token',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: exchangeMyTeamsToken,
});
