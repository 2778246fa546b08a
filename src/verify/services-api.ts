import type { HttpResponseInit } from '@azure/functions';
import { VerifyApiError, invalidParameter, verifyJson } from './errors';
import { newSid } from './auth';
import { pageMeta, toServiceResource, verifyBaseUrl, type ResourceContext } from './resources';
import { SID_PATTERN } from './rules';
import { CreateServiceForm, ListQuery, UpdateServiceForm, parseParams } from './schemas';
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

export const DEFAULT_PAGE_SIZE = 50;

export function createServicesApi(deps: ServicesApiDeps) {
  const parse = <T>(parsed: T | { readonly invalid: string; readonly why: string }): T => {
    if (typeof parsed === 'object' && parsed !== null && 'invalid' in parsed) {
      throw invalidParameter(parsed.invalid, parsed.why);
    }
    return parsed;
  };
  const found = async (sid: string): Promise<ServiceRecord> => {
    const service = SID_PATTERN.service.test(sid) ? await deps.store().getService(sid) : undefined;
    if (service === undefined) throw new VerifyApiError('notFound');
    return service;
  };

  return {
    create: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const form = parse(parseParams(CreateServiceForm, call.params));
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
      return verifyJson(201, toServiceResource(deps.resources(), service));
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      return verifyJson(
        200,
        toServiceResource(deps.resources(), await found(call.routeParam('Sid'))),
      );
    },

    update: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const current = await found(call.routeParam('Sid'));
      const form = parse(parseParams(UpdateServiceForm, call.params));
      const service: ServiceRecord = {
        ...current,
        ...changes(form),
        ...(form.FriendlyName === undefined ? {} : { friendlyName: form.FriendlyName }),
        dateUpdated: deps.now().toISOString(),
      };
      await deps.store().replaceService(service);
      return verifyJson(200, toServiceResource(deps.resources(), service));
    },

    remove: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const sid = call.routeParam('Sid');
      if (!SID_PATTERN.service.test(sid) || !(await deps.store().deleteService(sid))) {
        throw new VerifyApiError('notFound');
      }
      return { status: 204, headers: { 'Cache-Control': 'no-store' } };
    },

    list: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const query = parse(parseParams(ListQuery, call.params));
      const pageSize = query.PageSize ?? DEFAULT_PAGE_SIZE;
      const page = query.Page ?? 0;
      const result = await readPage(deps.store(), pageSize, page, query.PageToken);
      const ctx = deps.resources();
      return verifyJson(200, {
        services: result.items.map((s) => toServiceResource(ctx, s)),
        meta: pageMeta(
          `${verifyBaseUrl(ctx.origin)}/v2/Services`,
          'services',
          page,
          pageSize,
          result.nextToken,
        ),
      });
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
  const out: Record<string, unknown> = {};
  const map: readonly [keyof UpdateServiceForm, keyof ServiceRecord][] = [
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
  ];
  for (const [param, field] of map) if (form[param] !== undefined) out[field] = form[param];
  return out;
}
