import type { HttpResponseInit } from '@azure/functions';
import { hashSecret, newApiKeySecret, newSid } from './auth';
import { json } from '../http/respond';
import { VerifyApiError } from './errors';
import { deleteBySid, findBySid } from './lookup';
import { toApiKeyResource } from './resources';
import { SID_PATTERN } from './rules';
import { CreateKeyForm, parseParams } from './schemas';
import type { ApiKeyRecord, VerifyStore } from './store';
import type { VerifyCall } from './router';

/**
 * API keys where Twilio keeps them: the 2010-04-01 Accounts API (`/Accounts/{AccountSid}/Keys`),
 * so `client.newKeys.create()` works after `client.api.baseUrl = <origin>/api/verify`. Only the
 * account's own credentials manage keys (a key cannot mint or revoke keys); the secret is answered
 * once, at creation, and stored as its SHA-256.
 */
export interface KeysApiDeps {
  readonly store: () => VerifyStore;
  readonly accountSid: () => string;
  readonly now: () => Date;
}

export function createKeysApi(deps: KeysApiDeps) {
  const authorise = (call: VerifyCall): void => {
    // A key authenticates the Verify API; managing keys takes the account's auth token.
    if (call.principal.kind !== 'account') throw new VerifyApiError('authenticate');
    if (call.routeParam('AccountSid') !== deps.accountSid()) throw new VerifyApiError('notFound');
  };
  const found = (sid: string): Promise<ApiKeyRecord> =>
    findBySid(SID_PATTERN.apiKey, sid, (s) => deps.store().getKey(s));

  return {
    create: async (call: VerifyCall): Promise<HttpResponseInit> => {
      authorise(call);
      const form = parseParams(CreateKeyForm, call.params);
      const secret = newApiKeySecret();
      const at = deps.now().toISOString();
      const key: ApiKeyRecord = {
        sid: newSid('SK'),
        friendlyName: form.FriendlyName ?? '',
        secretHash: hashSecret(secret),
        dateCreated: at,
        dateUpdated: at,
      };
      await deps.store().createKey(key);
      return json(201, toApiKeyResource(key, secret));
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      authorise(call);
      return json(200, toApiKeyResource(await found(call.routeParam('Sid'))));
    },

    remove: async (call: VerifyCall): Promise<HttpResponseInit> => {
      authorise(call);
      return deleteBySid(SID_PATTERN.apiKey, call.routeParam('Sid'), (s) =>
        deps.store().deleteKey(s),
      );
    },
  };
}
