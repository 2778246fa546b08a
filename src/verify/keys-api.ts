import type { HttpResponseInit } from '@azure/functions';
import { hashSecret, newApiKeySecret, newSid } from './auth';
import { VerifyApiError, invalidParameter, verifyJson } from './errors';
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
  const found = async (sid: string): Promise<ApiKeyRecord> => {
    const key = SID_PATTERN.apiKey.test(sid) ? await deps.store().getKey(sid) : undefined;
    if (key === undefined) throw new VerifyApiError('notFound');
    return key;
  };

  return {
    create: async (call: VerifyCall): Promise<HttpResponseInit> => {
      authorise(call);
      const form = parseParams(CreateKeyForm, call.params);
      if ('invalid' in form) throw invalidParameter(form.invalid, form.why);
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
      return verifyJson(201, toApiKeyResource(key, secret));
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      authorise(call);
      return verifyJson(200, toApiKeyResource(await found(call.routeParam('Sid'))));
    },

    remove: async (call: VerifyCall): Promise<HttpResponseInit> => {
      authorise(call);
      const sid = call.routeParam('Sid');
      if (!SID_PATTERN.apiKey.test(sid) || !(await deps.store().deleteKey(sid))) {
        throw new VerifyApiError('notFound');
      }
      return { status: 204, headers: { 'Cache-Control': 'no-store' } };
    },
  };
}
