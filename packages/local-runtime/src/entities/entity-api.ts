/**
 * The extension's entity routes of the HTTP API (`/runtime/webhooks/durabletask/entities/...`, also on the
 * RPC listener the DurableClient calls):
 * - `POST entities/{name}/{key}?op=<operation>` with the operation input as body: signal, 202 once queued;
 * - `DELETE entities/{name}/{key}`: signals the `delete` operation, 202 once queued;
 * - `GET entities/{name}/{key}`: the entity's state (200) or 404 when it does not exist;
 * - `GET entities/{name}` and `GET entities`: existing entities (`fetchState` adds their state), `top`
 *   per page, the next page via the `x-ms-continuation-token` header.
 */
import type { RuntimeHttpRequest, RuntimeHttpResponse } from '../contracts';
import {
  BadRequest,
  MAX_PAGE_SIZE,
  decodeToken,
  encodeToken,
  json,
  notFound,
  type Query,
} from '../engine/http-api';
import type { EntityStore } from './entity-store';
import type { EntityScheduler } from './entity-scheduler';
import { schedulerIdOf } from './messages';

const DEFAULT_PAGE_SIZE = 100;
/** Entity names and keys longer than this are refused (a key is part of every message and row). */
const MAX_ID_PART_LENGTH = 256;

function idPart(value: string, what: string): string {
  if (value === '') throw new BadRequest(`The entity ${what} must not be empty.`);
  if (value.length > MAX_ID_PART_LENGTH) {
    throw new BadRequest(
      `The entity ${what} must not be longer than ${MAX_ID_PART_LENGTH} characters.`,
    );
  }
  if (what === 'name' && value.includes('@')) {
    throw new BadRequest("The entity name must not contain '@'.");
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) {
    throw new BadRequest(`The entity ${what} must not contain control characters.`);
  }
  return value;
}

/** The operation input: JSON bodies as they are, other text as a JSON string (as the extension does). */
function operationInput(req: RuntimeHttpRequest): string | null {
  const text = req.body.toString('utf8');
  if (text.trim() === '') return null;
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    if (contentType.includes('json')) throw new BadRequest('Invalid JSON content');
    return JSON.stringify(text);
  }
}

export class EntityApi {
  constructor(
    private readonly store: EntityStore,
    private readonly scheduler: EntityScheduler,
  ) {}

  handle(req: RuntimeHttpRequest, q: Query, seg: string[]): RuntimeHttpResponse {
    const method = req.method.toUpperCase();
    const [rawName, rawKey] = seg;
    if (seg.length > 2) return notFound();
    if (rawKey === undefined) {
      if (method !== 'GET') return notFound();
      return this.list(req, q, rawName === undefined ? undefined : idPart(rawName, 'name'));
    }
    const entityId = schedulerIdOf({ name: idPart(rawName!, 'name'), key: idPart(rawKey, 'key') });
    if (method === 'POST') {
      this.scheduler.signal(entityId, q.get('op') ?? '', operationInput(req));
      return { status: 202 };
    }
    // As the extension's HandlePostEntityOperationRequestAsync: DELETE signals the `delete` operation.
    if (method === 'DELETE') {
      this.scheduler.signal(entityId, 'delete', operationInput(req));
      return { status: 202 };
    }
    if (method === 'GET') {
      const row = this.store.get(entityId);
      if (!row || row.state === null) return notFound(`No entity with ID '${entityId}' found.`);
      return {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: row.state,
      };
    }
    return notFound();
  }

  private list(req: RuntimeHttpRequest, q: Query, name: string | undefined): RuntimeHttpResponse {
    const topRaw = q.get('top');
    const top = topRaw === undefined || topRaw === '' ? DEFAULT_PAGE_SIZE : Number(topRaw);
    if (!Number.isInteger(top) || top <= 0 || top > MAX_PAGE_SIZE)
      throw new BadRequest(`'top' must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    const offset = decodeToken(req.headers['x-ms-continuation-token']);
    const fetchState = q.bool('fetchState', false);
    const rows = this.store.list({
      ...(name !== undefined ? { name: name.toLowerCase() } : {}),
      offset,
      limit: top + 1,
    });
    const body = rows.slice(0, top).map((r) => ({
      entityId: { name: r.name, key: r.key },
      lastOperationTime: new Date(r.lastModified).toISOString(),
      ...(fetchState && r.state !== null ? { state: JSON.parse(r.state) as unknown } : {}),
    }));
    return json(
      200,
      body,
      rows.length > top ? { 'x-ms-continuation-token': encodeToken(offset + top) } : {},
    );
  }
}
