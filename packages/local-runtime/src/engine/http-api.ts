/**
 * The Durable Functions HTTP management API (`/runtime/webhooks/durabletask/...`), also served on the
 * engine's local RPC listener (`/durabletask/...`) that `durable-functions`' DurableClient calls.
 * Routes, query parameters, status codes and payloads follow the extension's HttpApiHandler.
 * Error bodies are `application/problem+json`, carrying the extension's `Message` /
 * `ExceptionMessage` members as extensions.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { RuntimeHttpRequest, RuntimeHttpResponse } from '../contracts';
import {
  RUNTIME_STATUSES,
  TERMINAL_STATUSES,
  type InstanceRow,
  type RuntimeStatus,
} from '../store/sqlite-store';
import type { Delivery, EngineClient } from './engine-client';
import { InstanceExistsError, InvalidInstanceStateError } from './engine-errors';
import { NotFailedError } from './rewind';
import { toStatusObject } from './status';

export const WEBHOOK_PATH = '/runtime/webhooks/durabletask';
export const DEFAULT_CONNECTION_NAME = 'Storage';

export interface ApiContext {
  /** The engine's operations; the API never reaches the store. */
  engine: EngineClient;
  taskHubName: string;
  /** Keys accepted in `code` / `x-functions-key` on the webhook path (system key, master key). */
  acceptedKeys: readonly string[];
  /** Key embedded in the URLs handed out. */
  systemKey: string;
  /** Names of registered orchestrator functions. */
  orchestratorNames: () => readonly string[];
  log: (line: string) => void;
  /** The longest a `?timeout=` wait holds a request (ms); longer timeouts are cut to it. */
  maxWaitMs: number;
  /** The entity routes (`/entities/...`), served by the entity feature. */
  entities?: (req: RuntimeHttpRequest, q: Query, segments: string[]) => RuntimeHttpResponse;
}

export class BadRequest extends Error {}

/**
 * Default bound of a `?timeout=` wait: Azure's front end drops a request after 230 s, so no longer wait can be
 * answered there either. It also keeps `setTimeout` below 2^31-1 ms, past which Node fires it after 1 ms.
 */
export const DEFAULT_MAX_WAIT_MS = 230_000;

const ACTIVE_STATUSES: ReadonlySet<RuntimeStatus> = new Set([
  'Running',
  'Pending',
  'ContinuedAsNew',
  'Suspended',
]);

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): RuntimeHttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): RuntimeHttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    body: JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }),
  };
}

function badRequest(detail: string): RuntimeHttpResponse {
  return problem(400, 'Bad Request', detail, {
    Message: 'One or more of the arguments submitted is incorrect',
    ExceptionMessage: detail,
  });
}

function invalidState(detail: string): RuntimeHttpResponse {
  return problem(500, 'Internal Server Error', detail, {
    Message: 'Something went wrong while processing your request',
    ExceptionMessage: detail,
  });
}

export function notFound(
  detail = 'No orchestration instance or route matches this request.',
): RuntimeHttpResponse {
  return problem(404, 'Not Found', detail);
}

/** Query access with case-insensitive names, like the extension's GetQueryNameValuePairs. */
export class Query {
  private readonly map = new Map<string, string[]>();
  constructor(q: URLSearchParams) {
    for (const [k, v] of q) {
      const key = k.toLowerCase();
      const list = this.map.get(key) ?? [];
      list.push(v);
      this.map.set(key, list);
    }
  }
  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.[0];
  }
  all(name: string): string[] {
    return this.map.get(name.toLowerCase()) ?? [];
  }
  bool(name: string, fallback: boolean): boolean {
    const v = this.get(name)?.toLowerCase();
    return v === 'true' ? true : v === 'false' ? false : fallback;
  }
  date(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || v === '') return undefined;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new BadRequest(`'${name}' is not a valid date`);
    return t;
  }
  seconds(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new BadRequest(`'${name}' must be a non-negative number of seconds`);
    return n;
  }
  statuses(): RuntimeStatus[] {
    const out: RuntimeStatus[] = [];
    for (const v of this.all('runtimeStatus')) {
      for (const part of v.split(',')) {
        const s = part.trim();
        if ((RUNTIME_STATUSES as readonly string[]).includes(s)) out.push(s as RuntimeStatus);
      }
    }
    return out;
  }
}

export function validateInstanceId(id: string): string | undefined {
  if (id.length === 0) return 'Instance ID must not be empty.';
  if (id.length > 256) return 'Instance ID must not be longer than 256 characters.';
  if (id.startsWith('@')) return "Instance ID must not start with '@'.";
  // eslint-disable-next-line no-control-regex
  if (/[/\\?#\u0000-\u001f\u007f-\u009f]/.test(id)) {
    return "Instance ID must not contain '/', '\\', '?', '#' or control characters.";
  }
  return undefined;
}

/** Task hub names are case-insensitive (they name Azure Storage queues, tables and containers). */
function sameTaskHub(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function keyMatches(candidate: string | undefined, accepted: readonly string[]): boolean {
  if (!candidate) return false;
  const c = Buffer.from(candidate);
  return accepted.some((k) => {
    const b = Buffer.from(k);
    return b.length === c.length && timingSafeEqual(b, c);
  });
}

/** URLs of the check-status payload for one instance (EXT HttpApiHandler.GetClientResponseLinks). */
export function managementLinks(
  origin: string,
  taskHubName: string,
  systemKey: string,
  instanceId: string,
  extraQuery = '',
): Record<string, string> {
  const instance = `${origin}${WEBHOOK_PATH}/instances/${encodeURIComponent(instanceId)}`;
  const q = `taskHub=${encodeURIComponent(taskHubName)}&connection=${DEFAULT_CONNECTION_NAME}&code=${encodeURIComponent(systemKey)}${extraQuery}`;
  return {
    id: instanceId,
    statusQueryGetUri: `${instance}?${q}`,
    sendEventPostUri: `${instance}/raiseEvent/{eventName}?${q}`,
    terminatePostUri: `${instance}/terminate?reason={text}&${q}`,
    purgeHistoryDeleteUri: `${instance}?${q}`,
    restartPostUri: `${instance}/restart?${q}`,
    suspendPostUri: `${instance}/suspend?reason={text}&${q}`,
    resumePostUri: `${instance}/resume?reason={text}&${q}`,
  };
}

/** The largest `top` (a .NET int in the extension); beyond it SQLite could not bind the limit. */
export const MAX_PAGE_SIZE = 2_147_483_647;

export function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64');
}

export function decodeToken(token: string | undefined): number {
  if (!token) return 0;
  try {
    const v: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    const o = (v as { o?: unknown }).o;
    if (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) return o;
  } catch {
    // fall through
  }
  throw new BadRequest('Invalid x-ms-continuation-token');
}

function parseJsonBody(body: Buffer): string | null {
  const text = body.toString('utf8');
  if (text.trim() === '') return null;
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    throw new BadRequest('Invalid JSON content');
  }
}

export class ManagementApi {
  constructor(private readonly context: ApiContext) {}

  /** `requireKey` is false only for the engine's loopback RPC listener, as in the extension. */
  async handle(req: RuntimeHttpRequest, requireKey: boolean): Promise<RuntimeHttpResponse> {
    try {
      const query = new Query(req.query);
      if (
        requireKey &&
        !keyMatches(query.get('code') ?? req.headers['x-functions-key'], this.context.acceptedKeys)
      ) {
        return problem(
          401,
          'Unauthorized',
          'A valid system key is required (x-functions-key header or code query parameter).',
        );
      }
      const at = req.path.toLowerCase().indexOf('durabletask');
      const rest = at >= 0 ? req.path.slice(at + 'durabletask'.length) : req.path;
      const segments = rest
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
      // The extension opens a client on the hub the query names: this runtime serves one hub, so any other
      // holds nothing (404), as the extension answers for an instance that is not in that hub.
      const hub = query.get('taskHub');
      if (hub !== undefined && hub !== '' && !sameTaskHub(hub, this.context.taskHubName)) {
        return notFound(
          `This runtime serves task hub '${this.context.taskHubName}', not '${hub}'.`,
        );
      }
      // Links point at the public webhook path even when the call came through the RPC listener.
      const canonical = { ...req, path: `${WEBHOOK_PATH}${rest.replace(/\/+$/, '')}` };
      return await this.route(canonical, query, segments);
    } catch (e) {
      if (e instanceof BadRequest) return badRequest(e.message);
      if (e instanceof URIError) return badRequest('Malformed URL encoding');
      this.context.log(
        `[durable] management API error: ${e instanceof Error ? e.message : String(e)}`,
      );
      return problem(
        500,
        'Internal Server Error',
        'Something went wrong while processing your request.',
      );
    }
  }

  private async route(
    req: RuntimeHttpRequest,
    q: Query,
    seg: string[],
  ): Promise<RuntimeHttpResponse> {
    const method = req.method.toUpperCase();
    const [first, id, op, arg] = seg;
    const head = first?.toLowerCase();
    if (head === 'orchestrators' && method === 'POST' && id !== undefined && seg.length <= 3) {
      return this.start(req, q, id, op);
    }
    if (head === 'instances') {
      if (id === undefined) {
        if (method === 'GET') return this.list(req, q);
        if (method === 'DELETE') return this.purgeBy(q);
        return notFound();
      }
      if (op === undefined) {
        if (method === 'GET') return this.status(req, q, id);
        if (method === 'DELETE') return this.purge(id);
        return notFound();
      }
      if (method !== 'POST') return notFound();
      const opName = op.toLowerCase();
      if (opName === 'raiseevent' && arg !== undefined && seg.length === 4)
        return this.raise(req, id, arg);
      if (seg.length !== 3) return notFound();
      if (opName === 'terminate' || opName === 'suspend' || opName === 'resume') {
        return this.control(opName, id, q.get('reason') ?? null);
      }
      if (opName === 'rewind') return this.rewind(id, q.get('reason') ?? null);
      if (opName === 'restart') return this.restart(req, q, id);
      return notFound();
    }
    if (head === 'entities') {
      if (this.context.entities) return this.context.entities(req, q, seg.slice(1));
      return problem(
        501,
        'Not Implemented',
        'Durable entities are not supported by the local runtime.',
      );
    }
    if (head === 'makeprimary' && method === 'POST' && seg.length === 1) return { status: 200 };
    return notFound();
  }

  private checkStatusResponse(origin: string, instanceId: string): RuntimeHttpResponse {
    const links = managementLinks(
      origin,
      this.context.taskHubName,
      this.context.systemKey,
      instanceId,
    );
    const body = {
      id: instanceId,
      statusQueryGetUri: links.statusQueryGetUri,
      sendEventPostUri: links.sendEventPostUri,
      terminatePostUri: links.terminatePostUri,
      purgeHistoryDeleteUri: links.purgeHistoryDeleteUri,
      restartPostUri: links.restartPostUri,
      suspendPostUri: links.suspendPostUri,
      resumePostUri: links.resumePostUri,
    };
    return json(202, body, { location: links.statusQueryGetUri!, 'retry-after': '10' });
  }

  private startInstance(
    name: string,
    instanceId: string,
    inputText: string | null,
    version?: string,
  ): RuntimeHttpResponse | undefined {
    try {
      this.context.engine.startNew({
        name,
        instanceId,
        inputText,
        ...(version ? { version } : {}),
      });
      return undefined;
    } catch (e) {
      if (e instanceof InstanceExistsError) return invalidState(e.message);
      throw e;
    }
  }

  private async start(
    req: RuntimeHttpRequest,
    q: Query,
    functionName: string,
    instanceIdArg?: string,
  ): Promise<RuntimeHttpResponse> {
    const name = this.context
      .orchestratorNames()
      .find((n) => n.toLowerCase() === functionName.toLowerCase());
    if (!name)
      return badRequest(
        `The function '${functionName}' doesn't exist, is disabled, or is not an orchestrator function.`,
      );
    const instanceId = instanceIdArg ?? randomUUID().replace(/-/g, '');
    const invalid = validateInstanceId(instanceId);
    if (invalid) return badRequest(invalid);
    const inputText = parseJsonBody(req.body);
    const timeout = q.seconds('timeout');
    const polling = q.seconds('pollingInterval');
    const failed = this.startInstance(name, instanceId, inputText, q.get('version'));
    if (failed) return failed;
    if (timeout !== undefined && polling !== undefined)
      return this.waitResponse(req, instanceId, timeout);
    return this.checkStatusResponse(req.origin, instanceId);
  }

  private async waitResponse(
    req: RuntimeHttpRequest,
    instanceId: string,
    timeoutSeconds: number,
  ): Promise<RuntimeHttpResponse> {
    const waitMs = Math.min(timeoutSeconds * 1000, this.context.maxWaitMs);
    const row = await this.waitForTerminal(instanceId, waitMs);
    if (row?.runtimeStatus === 'Completed') {
      return {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: row.output ?? 'null',
      };
    }
    if (row && TERMINAL_STATUSES.has(row.runtimeStatus)) {
      return json(
        200,
        toStatusObject(row, { showInput: true, showHistory: false, showHistoryOutput: false }),
      );
    }
    return this.checkStatusResponse(req.origin, instanceId);
  }

  /**
   * Waits until the instance finishes or the timeout passes. The timeout is on the wall clock: it bounds how long
   * an HTTP request is held, which a paused (manual) engine clock must not stretch forever.
   */
  private waitForTerminal(instanceId: string, timeoutMs: number): Promise<InstanceRow | undefined> {
    const engine = this.context.engine;
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        unsubscribe();
        clearTimeout(timer);
        resolve(engine.getInstance(instanceId));
      };
      const unsubscribe = engine.onStatusChange(instanceId, () => {
        const row = engine.getInstance(instanceId);
        if (!row || TERMINAL_STATUSES.has(row.runtimeStatus)) finish();
      });
      const timer = setTimeout(finish, timeoutMs);
      const row = engine.getInstance(instanceId);
      if (!row || TERMINAL_STATUSES.has(row.runtimeStatus)) finish();
    });
  }

  private status(req: RuntimeHttpRequest, q: Query, instanceId: string): RuntimeHttpResponse {
    const row = this.context.engine.getInstance(instanceId);
    if (!row) return notFound(`No instance with ID '${instanceId}' found.`);
    const showHistory = q.bool('showHistory', false);
    const opts = {
      showHistory,
      showHistoryOutput: q.bool('showHistoryOutput', false),
      showInput: q.bool('showInput', true),
    };
    const history = showHistory ? this.context.engine.getHistory(instanceId) : undefined;
    const body = toStatusObject(row, opts, history);
    if (ACTIVE_STATUSES.has(row.runtimeStatus)) {
      const search = req.query.toString();
      return json(202, body, {
        location: `${req.origin}${req.path}${search ? `?${search}` : ''}`,
        'retry-after': '5',
      });
    }
    if (row.runtimeStatus === 'Failed' && q.bool('returnInternalServerErrorOnFailure', false))
      return json(500, body);
    return json(200, body);
  }

  private list(req: RuntimeHttpRequest, q: Query): RuntimeHttpResponse {
    const topRaw = q.get('top');
    const top = topRaw === undefined || topRaw === '' ? 100 : Number(topRaw);
    if (!Number.isInteger(top) || top <= 0 || top > MAX_PAGE_SIZE)
      throw new BadRequest(`'top' must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    const offset = decodeToken(req.headers['x-ms-continuation-token']);
    const createdTimeFrom = q.date('createdTimeFrom');
    const createdTimeTo = q.date('createdTimeTo');
    const prefix = q.get('instanceIdPrefix');
    const rows = this.context.engine.queryInstances({
      ...(createdTimeFrom !== undefined ? { createdTimeFrom } : {}),
      ...(createdTimeTo !== undefined ? { createdTimeTo } : {}),
      runtimeStatus: q.statuses(),
      ...(prefix ? { instanceIdPrefix: prefix } : {}),
      offset,
      limit: top + 1,
    });
    const page = rows.slice(0, top);
    const showInput = q.bool('showInput', true);
    const body = page.map((r) =>
      toStatusObject(r, { showInput, showHistory: false, showHistoryOutput: false }),
    );
    // The last page carries no token: the JS client loops while the header is non-empty.
    return json(
      200,
      body,
      rows.length > top ? { 'x-ms-continuation-token': encodeToken(offset + top) } : {},
    );
  }

  /** As the extension: 404 only when the instance does not exist; an unfinished one is kept (0 deleted). */
  private purge(instanceId: string): RuntimeHttpResponse {
    if (!this.context.engine.getInstance(instanceId))
      return notFound(`No instance with ID '${instanceId}' found.`);
    const deleted = this.context.engine.purge(instanceId);
    return json(200, { instancesDeleted: deleted ? 1 : 0 });
  }

  private purgeBy(q: Query): RuntimeHttpResponse {
    const from = q.date('createdTimeFrom');
    if (from === undefined)
      throw new BadRequest("Please provide value for 'createdTimeFrom' parameter.");
    const to = q.date('createdTimeTo') ?? this.context.engine.now().getTime();
    // Instances that are not finished are skipped, as the extension skips them.
    const count = this.context.engine.purgeBy({
      createdTimeFrom: from,
      createdTimeTo: to,
      runtimeStatus: q.statuses(),
    });
    if (count === 0) return notFound('No instances matched the filter.');
    return json(200, { instancesDeleted: count });
  }

  private raise(
    req: RuntimeHttpRequest,
    instanceId: string,
    eventName: string,
  ): RuntimeHttpResponse {
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.startsWith('application/json')) {
      return problem(400, 'Bad Request', 'Only application/json request content is supported', {
        Message: 'Only application/json request content is supported',
      });
    }
    const inputText = parseJsonBody(req.body);
    return deliveryResponse(
      instanceId,
      this.context.engine.raiseEvent(instanceId, eventName, inputText),
    );
  }

  private control(
    op: 'terminate' | 'suspend' | 'resume',
    instanceId: string,
    reason: string | null,
  ): RuntimeHttpResponse {
    try {
      return deliveryResponse(instanceId, this.context.engine.control(instanceId, op, reason));
    } catch (e) {
      if (e instanceof InvalidInstanceStateError) return invalidState(e.message);
      throw e;
    }
  }

  private rewind(instanceId: string, reason: string | null): RuntimeHttpResponse {
    try {
      const found = this.context.engine.rewind(instanceId, reason);
      if (!found) return notFound(`No instance with ID '${instanceId}' found.`);
      return { status: 202 };
    } catch (e) {
      if (e instanceof NotFailedError) {
        if (TERMINAL_STATUSES.has(e.status)) return problem(410, 'Gone', e.message);
        return invalidState(e.message);
      }
      throw e;
    }
  }

  private async restart(
    req: RuntimeHttpRequest,
    q: Query,
    instanceId: string,
  ): Promise<RuntimeHttpResponse> {
    const row = this.context.engine.getInstance(instanceId);
    if (!row) return badRequest('InstanceId does not match a valid orchestration instance.');
    const newId = q.bool('restartWithNewInstanceId', true)
      ? randomUUID().replace(/-/g, '')
      : instanceId;
    const timeout = q.seconds('timeout');
    const polling = q.seconds('pollingInterval');
    const failed = this.startInstance(row.name, newId, row.input, row.version ?? undefined);
    if (failed) return failed;
    if (timeout !== undefined && polling !== undefined)
      return this.waitResponse(req, newId, timeout);
    return this.checkStatusResponse(req.origin, newId);
  }
}

/** 202 once queued; 404 for an unknown instance; events and control operations on a finished one answer 410. */
function deliveryResponse(instanceId: string, delivery: Delivery): RuntimeHttpResponse {
  switch (delivery.kind) {
    case 'queued':
      return { status: 202 };
    case 'notFound':
      return notFound(`No instance with ID '${instanceId}' found.`);
    case 'finished':
      return problem(
        410,
        'Gone',
        `The instance '${instanceId}' has already finished (${delivery.status}).`,
      );
  }
}
