import type { HttpResponseInit } from '@azure/functions';
import { VerifyApiError, invalidParameter, verifyJson } from './errors';
import { pageMeta, toAttemptResource, verifyBaseUrl, type ResourceContext } from './resources';
import { ListAttemptsQuery, SummaryQuery, parseParams } from './schemas';
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

const DEFAULT_PAGE_SIZE = 50;
/** The summary reads at most this many rows: bounded memory and time, documented. */
export const SUMMARY_MAX_ROWS = 10_000;

function parsed<T>(result: T | { readonly invalid: string; readonly why: string }): T {
  if (typeof result === 'object' && result !== null && 'invalid' in result) {
    throw invalidParameter(result.invalid, result.why);
  }
  return result;
}

export function createAttemptsApi(deps: AttemptsApiDeps) {
  return {
    list: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const q = parsed(parseParams(ListAttemptsQuery, call.params));
      const filter: AttemptFilter = {
        ...optional('serviceSid', q.VerifyServiceSid),
        ...optional('verificationSid', q.VerificationSid),
        ...optional('channel', q.Channel),
        ...optional('country', q.Country),
        ...optional('status', q.Status),
        ...optional('after', q.DateCreatedAfter),
        ...optional('before', q.DateCreatedBefore),
      };
      const pageSize = q.PageSize ?? DEFAULT_PAGE_SIZE;
      const result = await deps.store().listAttempts(filter, pageSize, q.PageToken);
      const ctx = deps.resources();
      return verifyJson(200, {
        attempts: result.items.map((a) => toAttemptResource(ctx, a)),
        meta: pageMeta(
          `${verifyBaseUrl(ctx.origin)}/v2/Attempts`,
          'attempts',
          q.Page ?? 0,
          pageSize,
          result.nextToken,
        ),
      });
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const sid = call.routeParam('Sid');
      const found = /^VL[0-9a-f]{32}$/.test(sid) ? await deps.store().getAttempt(sid) : undefined;
      if (found === undefined) throw new VerifyApiError('notFound');
      return verifyJson(200, toAttemptResource(deps.resources(), found));
    },

    summary: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const q = parsed(parseParams(SummaryQuery, call.params));
      const filter: AttemptFilter = {
        ...optional('serviceSid', q.VerifyServiceSid),
        ...optional('channel', q.Channel),
        ...optional('country', q.Country),
        ...optional('prefix', q.DestinationPrefix),
        ...optional('after', q.DateCreatedAfter),
        ...optional('before', q.DateCreatedBefore),
      };
      let total = 0;
      let converted = 0;
      let token: string | undefined;
      do {
        const page = await deps.store().listAttempts(filter, 1000, token);
        total += page.items.length;
        converted += page.items.filter((a) => a.conversionStatus === 'converted').length;
        token = page.nextToken;
      } while (token !== undefined && total < SUMMARY_MAX_ROWS);
      return verifyJson(200, {
        total_attempts: total,
        total_converted: converted,
        total_unconverted: total - converted,
        conversion_rate_percentage: total === 0 ? '0' : ((100 * converted) / total).toFixed(2),
        url: `${verifyBaseUrl(deps.resources().origin)}/v2/Attempts/Summary`,
      });
    },
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
