import { app, type HttpRequest } from '@azure/functions';
import type { AcsIdentityService } from '../clients/acs-identity';
import { getAcsIdentityService } from '../composition';
import { readExpiresInMinutes, readScopes } from '../http/acs-input';
import { Fields, readJson } from '../http/parse';
import { json, withErrors, type Handler } from '../http/respond';
import { FUNCTION, ROUTE } from '../names';

export interface AcsDeps {
  readonly acs: () => AcsIdentityService;
}

/** `POST /api/acs/identities` `{ scopes?, expiresInMinutes? }` → 201 `{ communicationUserId, token?, expiresOn? }`. */
export function createCreateAcsIdentity(deps: AcsDeps): Handler {
  return async (request: HttpRequest) => {
    const fields = new Fields();
    const body = fields.object((await readJson(request, { required: false })) ?? {});
    fields.noUnknown(body, ['scopes', 'expiresInMinutes']);
    const scopes = readScopes(fields, body, { required: false });
    const expiresInMinutes = readExpiresInMinutes(fields, body);
    if (expiresInMinutes !== undefined && body.scopes === undefined) {
      fields.add('expiresInMinutes', 'only applies together with scopes');
    }
    fields.throwIfAny();

    const created = await deps.acs().createIdentity({
      ...(scopes === undefined ? {} : { scopes }),
      ...(expiresInMinutes === undefined ? {} : { expiresInMinutes }),
    });
    return json(201, created);
  };
}

export const createAcsIdentity = withErrors(
  createCreateAcsIdentity({ acs: getAcsIdentityService }),
);

app.http(FUNCTION.createAcsIdentity, {
  route: ROUTE.createAcsIdentity,
  methods: ['POST'],
  authLevel: 'function',
  handler: createAcsIdentity,
});
