import type { HttpResponseInit } from '@azure/functions';
import { json, noContent } from '../http/respond';
import { newSid } from './auth';
import { VerifyApiError } from './errors';
import { findBySid } from './lookup';
import { listAnswer, pageOfList } from './pages';
import {
  MAX_BUCKETS_PER_RATE_LIMIT,
  MAX_RATE_LIMITS_PER_SERVICE,
  UNIQUE_NAME_PATTERN,
} from './rate-limits';
import { toBucketResource, toRateLimitResource, type ResourceContext } from './resources';
import type { VerifyCall } from './router';
import { SID_PATTERN } from './rules';
import {
  CreateBucketForm,
  CreateRateLimitForm,
  ListQuery,
  UpdateBucketForm,
  UpdateRateLimitForm,
  parseParams,
} from './schemas';
import type { BucketRecord, RateLimitRecord, VerifyStore } from './store';

/**
 * Verify's programmable rate limits (`/v2/Services/{ServiceSid}/RateLimits`) and their buckets
 * (`.../RateLimits/{RateLimitSid}/Buckets`), as Twilio validates them: `UniqueName` of letters,
 * digits, `-`, `_`, `.` (60209) and unique in its service (60208), at most
 * {@link MAX_RATE_LIMITS_PER_SERVICE} a service (60207) and {@link MAX_BUCKETS_PER_RATE_LIMIT}
 * buckets a rate limit (60210), one bucket an `Interval` (60211). A service's set is one row,
 * changed ETag-conditionally, so these rules hold across instances. `rate-limits.ts` applies them.
 */
export interface RateLimitsApiDeps {
  readonly store: () => VerifyStore;
  readonly resources: () => ResourceContext;
  readonly now: () => Date;
}

/** Concurrent changes of one service's set retried before answering 503. */
const MAX_TRIES = 5;

type RateLimits = readonly RateLimitRecord[];

export function createRateLimitsApi(deps: RateLimitsApiDeps) {
  const serviceSid = async (call: VerifyCall): Promise<string> =>
    (
      await findBySid(SID_PATTERN.service, call.routeParam('ServiceSid'), (sid) =>
        deps.store().getService(sid),
      )
    ).sid;
  const read = async (call: VerifyCall): Promise<{ service: string; limits: RateLimits }> => {
    const service = await serviceSid(call);
    return { service, limits: (await deps.store().getRateLimits(service)).rateLimits };
  };
  /** Applies `edit` to the service's current set and writes it, again if another request won. */
  const change = async <T>(
    service: string,
    edit: (limits: RateLimits) => { readonly limits: RateLimits; readonly result: T },
  ): Promise<T> => {
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const current = await deps.store().getRateLimits(service);
      const { limits, result } = edit(current.rateLimits);
      if (await deps.store().replaceRateLimits(service, limits, current.etag)) return result;
    }
    throw new VerifyApiError('unavailable');
  };
  const rateLimitAnswer = (status: number, service: string, r: RateLimitRecord) =>
    json(status, toRateLimitResource(deps.resources(), service, r));
  const bucketAnswer = (status: number, service: string, rateLimit: string, b: BucketRecord) =>
    json(status, toBucketResource(deps.resources(), service, rateLimit, b));

  return {
    create: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const service = await serviceSid(call);
      const form = parseParams(CreateRateLimitForm, call.params);
      if (!UNIQUE_NAME_PATTERN.test(form.UniqueName)) throw new VerifyApiError('uniqueNameFormat');
      const at = deps.now().toISOString();
      const created: RateLimitRecord = {
        sid: newSid('RK'),
        uniqueName: form.UniqueName,
        description: form.Description ?? null,
        dateCreated: at,
        dateUpdated: at,
        buckets: [],
      };
      await change(service, (limits) => {
        if (limits.some((r) => r.uniqueName === created.uniqueName)) {
          throw new VerifyApiError('rateLimitExists');
        }
        if (limits.length >= MAX_RATE_LIMITS_PER_SERVICE) throw new VerifyApiError('maxRateLimits');
        return { limits: [...limits, created], result: created };
      });
      return rateLimitAnswer(201, service, created);
    },

    list: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const { service, limits } = await read(call);
      const query = parseParams(ListQuery, call.params);
      const ctx = deps.resources();
      return listAnswer(
        ctx,
        `/v2/Services/${service}/RateLimits`,
        'rate_limits',
        query,
        pageOfList(limits, query),
        (r) => toRateLimitResource(ctx, service, r),
      );
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const { service, limits } = await read(call);
      return rateLimitAnswer(200, service, rateLimitIn(limits, call.routeParam('Sid')));
    },

    update: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const service = await serviceSid(call);
      const form = parseParams(UpdateRateLimitForm, call.params);
      const sid = call.routeParam('Sid');
      const updated = await change(service, (limits) =>
        replacing(limits, rateLimitIn(limits, sid), (r) => ({
          ...r,
          ...(form.Description === undefined ? {} : { description: form.Description }),
          dateUpdated: deps.now().toISOString(),
        })),
      );
      return rateLimitAnswer(200, service, updated);
    },

    /** Its buckets go with it; their counters are never read again and expire. */
    remove: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const service = await serviceSid(call);
      const sid = call.routeParam('Sid');
      await change(service, (limits) => {
        const gone = rateLimitIn(limits, sid);
        return { limits: limits.filter((r) => r !== gone), result: gone };
      });
      return noContent();
    },

    buckets: {
      create: async (call: VerifyCall): Promise<HttpResponseInit> => {
        const service = await serviceSid(call);
        const form = parseParams(CreateBucketForm, call.params);
        const rateLimitSid = call.routeParam('RateLimitSid');
        const at = deps.now().toISOString();
        const created: BucketRecord = {
          sid: newSid('BL'),
          max: form.Max,
          interval: form.Interval,
          dateCreated: at,
          dateUpdated: at,
        };
        await change(service, (limits) =>
          replacing(limits, rateLimitIn(limits, rateLimitSid), (r) => {
            if (r.buckets.length >= MAX_BUCKETS_PER_RATE_LIMIT) {
              throw new VerifyApiError('maxBuckets');
            }
            return { ...r, buckets: withUniqueIntervals([...r.buckets, created]) };
          }),
        );
        return bucketAnswer(201, service, rateLimitSid, created);
      },

      list: async (call: VerifyCall): Promise<HttpResponseInit> => {
        const { service, limits } = await read(call);
        const query = parseParams(ListQuery, call.params);
        const rateLimit = rateLimitIn(limits, call.routeParam('RateLimitSid'));
        const ctx = deps.resources();
        return listAnswer(
          ctx,
          `/v2/Services/${service}/RateLimits/${rateLimit.sid}/Buckets`,
          'buckets',
          query,
          pageOfList(rateLimit.buckets, query),
          (b) => toBucketResource(ctx, service, rateLimit.sid, b),
        );
      },

      fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
        const { service, limits } = await read(call);
        const rateLimit = rateLimitIn(limits, call.routeParam('RateLimitSid'));
        const bucket = bucketIn(rateLimit, call.routeParam('Sid'));
        return bucketAnswer(200, service, rateLimit.sid, bucket);
      },

      update: async (call: VerifyCall): Promise<HttpResponseInit> => {
        const service = await serviceSid(call);
        const form = parseParams(UpdateBucketForm, call.params);
        const rateLimitSid = call.routeParam('RateLimitSid');
        const sid = call.routeParam('Sid');
        const updated = await change(service, (limits) => {
          const rateLimit = rateLimitIn(limits, rateLimitSid);
          const bucket = bucketIn(rateLimit, sid);
          const changed: BucketRecord = {
            ...bucket,
            ...(form.Max === undefined ? {} : { max: form.Max }),
            ...(form.Interval === undefined ? {} : { interval: form.Interval }),
            dateUpdated: deps.now().toISOString(),
          };
          const next = replacing(limits, rateLimit, (r) => ({
            ...r,
            buckets: withUniqueIntervals(r.buckets.map((b) => (b === bucket ? changed : b))),
          }));
          return { limits: next.limits, result: changed };
        });
        return bucketAnswer(200, service, rateLimitSid, updated);
      },

      remove: async (call: VerifyCall): Promise<HttpResponseInit> => {
        const service = await serviceSid(call);
        const rateLimitSid = call.routeParam('RateLimitSid');
        const sid = call.routeParam('Sid');
        await change(service, (limits) =>
          replacing(limits, rateLimitIn(limits, rateLimitSid), (r) => {
            const gone = bucketIn(r, sid);
            return { ...r, buckets: r.buckets.filter((b) => b !== gone) };
          }),
        );
        return noContent();
      },
    },
  };
}

function rateLimitIn(limits: RateLimits, sid: string): RateLimitRecord {
  const found = SID_PATTERN.rateLimit.test(sid) ? limits.find((r) => r.sid === sid) : undefined;
  if (found === undefined) throw new VerifyApiError('notFound');
  return found;
}

function bucketIn(rateLimit: RateLimitRecord, sid: string): BucketRecord {
  const found = SID_PATTERN.bucket.test(sid)
    ? rateLimit.buckets.find((b) => b.sid === sid)
    : undefined;
  if (found === undefined) throw new VerifyApiError('notFound');
  return found;
}

/** The set with `rateLimit` changed by `update`, and the changed one. */
function replacing(
  limits: RateLimits,
  rateLimit: RateLimitRecord,
  update: (r: RateLimitRecord) => RateLimitRecord,
): { limits: RateLimits; result: RateLimitRecord } {
  const result = update(rateLimit);
  return { limits: limits.map((r) => (r === rateLimit ? result : r)), result };
}

/** One bucket an interval (60211): two would only make the smaller `Max` count. */
function withUniqueIntervals(buckets: readonly BucketRecord[]): readonly BucketRecord[] {
  if (new Set(buckets.map((b) => b.interval)).size !== buckets.length) {
    throw new VerifyApiError('bucketExists');
  }
  return buckets;
}
