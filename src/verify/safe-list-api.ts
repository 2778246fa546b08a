import type { HttpResponseInit } from '@azure/functions';
import type { SafeListedNumbers } from '../verification/guard/safe-list';
import { json } from '../http/respond';
import { VerifyApiError } from './errors';
import { deleteBySid } from './lookup';
import { toSafeListResource, type ResourceContext } from './resources';
import { CreateSafeListForm, E164_NUMBER, parseParams } from './schemas';
import type { VerifyCall } from './router';

/**
 * Verify's SafeList (`/v2/SafeList/Numbers`): numbers exempt from the fraud guard's conversion
 * block. The guard keeps them (keyed by an HMAC of the number); answers echo the number the
 * caller gave, as Twilio's do, since it is never stored in clear.
 */
export interface SafeListApiDeps {
  readonly safeList: () => SafeListedNumbers;
  readonly resources: () => ResourceContext;
}

export function createSafeListApi(deps: SafeListApiDeps) {
  const numberIn = (call: VerifyCall): string => {
    const number = call.routeParam('PhoneNumber');
    // Not a number, so not on the list: Twilio answers 404 for a path it cannot match.
    if (!E164_NUMBER.test(number)) throw new VerifyApiError('notFound');
    return number;
  };

  return {
    create: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const form = parseParams(CreateSafeListForm, call.params);
      const entry = await deps.safeList().add(form.PhoneNumber);
      return json(201, toSafeListResource(deps.resources(), entry.sid, form.PhoneNumber));
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const number = numberIn(call);
      const entry = await deps.safeList().find(number);
      if (entry === undefined) throw new VerifyApiError('notFound');
      return json(200, toSafeListResource(deps.resources(), entry.sid, number));
    },

    remove: async (call: VerifyCall): Promise<HttpResponseInit> => {
      return deleteBySid(E164_NUMBER, call.routeParam('PhoneNumber'), (number) =>
        deps.safeList().remove(number),
      );
    },
  };
}
