import { app, type HttpRequest } from '@azure/functions';
import { getAcsIdentityService } from '../composition';
import { parseCommunicationUserId } from '../http/acs-input';
import { routeParam } from '../http/parse';
import { noContent, withErrors, type Handler } from '../http/respond';
import { FUNCTION, ROUTE } from '../names';
import type { AcsDeps } from './acs-create-identity';

/** `POST /api/acs/identities/{communicationUserId}/revoke` → 204. ACS may take minutes to propagate. */
export function createRevokeAcsTokens(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    const communicationUserId = parseCommunicationUserId(
      routeParam(request, 'communicationUserId'),
    );
    await deps.acs().revokeTokens(communicationUserId);
    return noContent();
  };
}

export const revokeAcsTokens = withErrors(createRevokeAcsTokens({ acs: getAcsIdentityService }));

app.http(FUNCTION.revokeAcsTokens, {
  route: ROUTE.revokeAcsTokens,
  methods: ['POST'],
  authLevel: 'function',
  handler: revokeAcsTokens,
});
