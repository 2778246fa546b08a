import type { HttpResponseInit } from '@azure/functions';
import { noContent } from '../http/respond';
import { VerifyApiError } from './errors';

/**
 * Finding and deleting a record by the sid in its path, as every Verify resource does: a sid of
 * the wrong form is not looked up, and anything not found answers 20404.
 */
export async function findBySid<T>(
  pattern: RegExp,
  sid: string,
  find: (sid: string) => Promise<T | undefined>,
): Promise<T> {
  const found = pattern.test(sid) ? await find(sid) : undefined;
  if (found === undefined) throw new VerifyApiError('notFound');
  return found;
}

/** 204 once deleted; 20404 when there was nothing to delete. */
export async function deleteBySid(
  pattern: RegExp,
  sid: string,
  remove: (sid: string) => Promise<boolean>,
): Promise<HttpResponseInit> {
  if (!pattern.test(sid) || !(await remove(sid))) throw new VerifyApiError('notFound');
  return noContent();
}
