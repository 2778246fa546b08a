import type { HttpResponseInit } from '@azure/functions';
import { json } from '../http/respond';
import { pageMeta, verifyBaseUrl, type ResourceContext } from './resources';
import type { ListQuery } from './schemas';
import type { Page } from './store';

/** Twilio's default `PageSize`. */
export const DEFAULT_PAGE_SIZE = 50;

/** A list answer as Twilio's: `{"<key>": [...], "meta": {...}}`, `path` below the API's base. */
export function listAnswer<R>(
  ctx: ResourceContext,
  path: string,
  key: string,
  query: ListQuery,
  result: Page<R>,
  toResource: (record: R) => unknown,
): HttpResponseInit {
  const pageSize = query.PageSize ?? DEFAULT_PAGE_SIZE;
  return json(200, {
    [key]: result.items.map(toResource),
    meta: pageMeta(
      `${verifyBaseUrl(ctx.origin)}${path}`,
      key,
      query.Page ?? 0,
      pageSize,
      result.nextToken,
    ),
  });
}

/**
 * A page of a list held in memory (a service's rate limits and buckets): the `PageToken` of
 * `next_page_url` carries the offset, in the same base64 JSON form as the table's tokens.
 */
export function pageOfList<T>(items: readonly T[], query: ListQuery): Page<T> {
  const pageSize = query.PageSize ?? DEFAULT_PAGE_SIZE;
  const offset = offsetIn(query.PageToken) ?? (query.Page ?? 0) * pageSize;
  const end = offset + pageSize;
  return {
    items: items.slice(offset, end),
    nextToken:
      end < items.length
        ? Buffer.from(JSON.stringify({ offset: end })).toString('base64')
        : undefined,
  };
}

function offsetIn(token: string | undefined): number | undefined {
  if (token === undefined) return undefined;
  const { offset } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
    offset?: unknown;
  };
  return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : 0;
}
