import { app, type HttpRequest } from '@azure/functions';
import { getAcsIdentityService } from '../composition';
import { parseCommunicationUserId, readExpiresInMinutes, readScopes } from '../http/acs-input';
import { Fields, readJson, routeParam } from '../http/parse';
import { json, withErrors, type Handler } from '../http/respond';
import { FUNCTION, ROUTE } from '../names';
import type { AcsDeps } from './acs-create-identity';

/** `POST /api/acs/identities/{communicationUserId}/token` `{ scopes, expiresInMinutes? }` → 200 `{ token, expiresOn }`. */
export function createIssueAcsToken(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    const communicationUserId = parseCommunicationUserId(
      routeParam(request, 'communicationUserId'),
    );
    const fields = new Fields();
    const body = fields.object(await readJson(request));
    fields.noUnknown(body, ['scopes', 'expiresInMinutes']);
    const scopes = readScopes(fields, body, { required: true });
    const expiresInMinutes = readExpiresInMinutes(fields, body);
    fields.throwIfAny();
    if (scopes === undefined) return fields.unreachable();

    return json(200, await deps.acs().issueToken(communicationUserId, scopes, expiresInMinutes));
  };
}

export const issueAcsToken = withErrors(createIssueAcsToken({ acs: getAcsIdentityService }));

app.http(FUNCTION.issueAcsToken, {
  route: ROUTE.issueAcsToken,
  methods: ['POST'],
  authLevel: 'function',
  handler: issueAcsToken,
});
