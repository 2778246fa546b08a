import { app, type HttpRequest } from '@azure/functions';
import { getAcsIdentityService } from '../composition';
import { parseCommunicationUserId } from '../http/acs-input';
import { routeParam } from '../http/parse';
import { noContent, withErrors, type Handler } from '../http/respond';
import { FUNCTION, ROUTE } from '../names';
import type { AcsDeps } from './acs-create-identity';

/** `DELETE /api/acs/identities/{communicationUserId}` → 204 (also revokes its tokens). */
export function createDeleteAcsIdentity(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    const communicationUserId = parseCommunicationUserId(
      routeParam(request, 'communicationUserId'),
    );
    await deps.acs().deleteIdentity(communicationUserId);
    return noContent();
  };
}

export const deleteAcsIdentity = withErrors(
  createDeleteAcsIdentity({ acs: getAcsIdentityService }),
);

app.http(FUNCTION.deleteAcsIdentity, {
  route: ROUTE.deleteAcsIdentity,
  methods: ['DELETE'],
  authLevel: 'function',
  handler: deleteAcsIdentity,
});
