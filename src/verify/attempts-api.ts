import type { HttpResponseInit } from '@azure/functions';
import { json } from '../http/respond';
import { VerifyApiError } from './errors';
import { DEFAULT_PAGE_SIZE, listAnswer } from './pages';
import { toAttemptResource, verifyBaseUrl, type ResourceContext } from './resources';
import { ListAttemptsQuery, SummaryQuery, parseParams, renamed } from './schemas';
import type { AttemptFilter, VerifyStore } from './store';
import type { VerifyCall } from './router';

/**
 * Verify's VerificationAttempts (`/v2/Attempts`, `/v2/Attempts/Summary`): one row per code sent,
 * written by the create path, converted when the verification is approved. Numbers are masked;
 * the summary counts conversion for the filters Verify has (service, channel, country,
 * destination prefix, dates).
 */
export interface AttemptsApiDeps {
  readonly store: () => VerifyStore;
  readonly resources: () => ResourceContext;
}

/** The summary reads at most this many rows: bounded memory and time, documented. */
export const SUMMARY_MAX_ROWS = 10_000;

export function createAttemptsApi(deps: AttemptsApiDeps) {
  return {
    list: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const q = parseParams(ListAttemptsQuery, call.params);
      const pageSize = q.PageSize ?? DEFAULT_PAGE_SIZE;
      const result = await deps.store().listAttempts(filterOf(q), pageSize, q.PageToken);
      const ctx = deps.resources();
      return listAnswer(ctx, '/v2/Attempts', 'attempts', q, result, (a) =>
        toAttemptResource(ctx, a),
      );
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const sid = call.routeParam('Sid');
      const found = /^VL[0-9a-f]{32}$/.test(sid) ? await deps.store().getAttempt(sid) : undefined;
      if (found === undefined) throw new VerifyApiError('notFound');
      return json(200, toAttemptResource(deps.resources(), found));
    },

    summary: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const filter = filterOf(parseParams(SummaryQuery, call.params));
      let total = 0;
      let converted = 0;
      let token: string | undefined;
      do {
        const page = await deps.store().listAttempts(filter, 1000, token);
        total += page.items.length;
        converted += page.items.filter((a) => a.conversionStatus === 'converted').length;
        token = page.nextToken;
      } while (token !== undefined && total < SUMMARY_MAX_ROWS);
      return json(200, {
        total_attempts: total,
        total_converted: converted,
        total_unconverted: total - converted,
        conversion_rate_percentage: total === 0 ? '0' : ((100 * converted) / total).toFixed(2),
        url: `${verifyBaseUrl(deps.resources().origin)}/v2/Attempts/Summary`,
      });
    },
  };
}

/** The query parameters of `/Attempts` and `/Attempts/Summary` as the store's filter. */
function filterOf(q: {
  readonly VerifyServiceSid?: string;
  readonly VerificationSid?: string;
  readonly Channel?: string;
  readonly Country?: string;
  readonly Status?: 'converted' | 'unconverted';
  readonly DestinationPrefix?: string;
  readonly DateCreatedAfter?: string;
  readonly DateCreatedBefore?: string;
}): AttemptFilter {
  return renamed<typeof q, AttemptFilter>(q, [
    ['VerifyServiceSid', 'serviceSid'],
    ['VerificationSid', 'verificationSid'],
    ['Channel', 'channel'],
    ['Country', 'country'],
    ['Status', 'status'],
    ['DestinationPrefix', 'prefix'],
    ['DateCreatedAfter', 'after'],
    ['DateCreatedBefore', 'before'],
  ]);
}
