import type { HttpResponseInit } from '@azure/functions';
import { json } from '../http/respond';
import { newSid } from './auth';
import { deleteBySid, findBySid } from './lookup';
import { DEFAULT_PAGE_SIZE, listAnswer } from './pages';
import { toServiceResource, type ResourceContext } from './resources';
import { SID_PATTERN } from './rules';
import { CreateServiceForm, ListQuery, UpdateServiceForm, parseParams, renamed } from './schemas';
import type { Page, ServiceRecord, VerifyStore } from './store';
import type { VerifyCall } from './router';

export interface ServicesApiDeps {
  readonly store: () => VerifyStore;
  readonly resources: () => ResourceContext;
  readonly now: () => Date;
}

/** Verify's defaults for a new service (as its API documents them). */
const SERVICE_DEFAULTS = {
  codeLength: 6,
  lookupEnabled: false,
  skipSmsToLandlines: false,
  dtmfInputRequired: true,
  ttsName: null,
  psd2Enabled: false,
  doNotShareWarningEnabled: false,
  customCodeEnabled: false,
  defaultTemplateSid: null,
  verifyEventSubscriptionEnabled: false,
} as const;

export function createServicesApi(deps: ServicesApiDeps) {
  const found = (sid: string): Promise<ServiceRecord> =>
    findBySid(SID_PATTERN.service, sid, (s) => deps.store().getService(s));

  return {
    create: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const form = parseParams(CreateServiceForm, call.params);
      const at = deps.now().toISOString();
      const service: ServiceRecord = {
        ...SERVICE_DEFAULTS,
        ...changes(form),
        sid: newSid('VA'),
        friendlyName: form.FriendlyName,
        dateCreated: at,
        dateUpdated: at,
      };
      await deps.store().createService(service);
      return json(201, toServiceResource(deps.resources(), service));
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      return json(200, toServiceResource(deps.resources(), await found(call.routeParam('Sid'))));
    },

    update: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const current = await found(call.routeParam('Sid'));
      const form = parseParams(UpdateServiceForm, call.params);
      const service: ServiceRecord = {
        ...current,
        ...changes(form),
        ...(form.FriendlyName === undefined ? {} : { friendlyName: form.FriendlyName }),
        dateUpdated: deps.now().toISOString(),
      };
      await deps.store().replaceService(service);
      return json(200, toServiceResource(deps.resources(), service));
    },

    /** Its rate limits and their buckets go with it. */
    remove: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const store = deps.store();
      return deleteBySid(SID_PATTERN.service, call.routeParam('Sid'), async (sid) => {
        await store.deleteRateLimits(sid);
        return store.deleteService(sid);
      });
    },

    list: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const query = parseParams(ListQuery, call.params);
      const pageSize = query.PageSize ?? DEFAULT_PAGE_SIZE;
      const result = await readPage(deps.store(), pageSize, query.Page ?? 0, query.PageToken);
      const ctx = deps.resources();
      return listAnswer(ctx, '/v2/Services', 'services', query, result, (s) =>
        toServiceResource(ctx, s),
      );
    },
  };
}
/**
 * Twilio pages by `PageToken` (what its `next_page_url` carries); a bare `Page=N` is honoured by
 * walking the table from the start.
 */
async function readPage(
  store: VerifyStore,
  pageSize: number,
  page: number,
  token: string | undefined,
): Promise<Page<ServiceRecord>> {
  if (token !== undefined || page === 0) return store.listServices(pageSize, token);
  let current = await store.listServices(pageSize, undefined);
  for (let i = 0; i < page; i++) {
    if (current.nextToken === undefined) return { items: [], nextToken: undefined };
    current = await store.listServices(pageSize, current.nextToken);
  }
  return current;
}

function changes(form: UpdateServiceForm): Partial<ServiceRecord> {
  return renamed<UpdateServiceForm, ServiceRecord>(form, [
    ['CodeLength', 'codeLength'],
    ['LookupEnabled', 'lookupEnabled'],
    ['SkipSmsToLandlines', 'skipSmsToLandlines'],
    ['DtmfInputRequired', 'dtmfInputRequired'],
    ['TtsName', 'ttsName'],
    ['Psd2Enabled', 'psd2Enabled'],
    ['DoNotShareWarningEnabled', 'doNotShareWarningEnabled'],
    ['CustomCodeEnabled', 'customCodeEnabled'],
    ['DefaultTemplateSid', 'defaultTemplateSid'],
    ['VerifyEventSubscriptionEnabled', 'verifyEventSubscriptionEnabled'],
  ]);
}
