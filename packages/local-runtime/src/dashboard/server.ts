/**
 * The local runtime's dashboard at `/_dashboard`: static pages plus a small same-origin API under
 * `/_dashboard/api/`. Every instance operation goes through the Durable management API; the dashboard adds
 * the system key on the server, so the browser never holds it, and strips the key-bearing URLs from what
 * the management API answers. See `access.ts` for who may call it and `redact.ts` for what it never shows.
 */
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import type { DurableExtension } from '../contracts';
import { RUNTIME_STATUSES } from '../store/sqlite-store';
import { decideAccess } from './access';
import { mentions, type ActivityWindows } from './activity-windows';
import type { DashboardConfig } from '../host/local-services';
import { FaultSwitchError, ServiceInspector, type FaultToArm } from './local-services';
import { answerOrThrow, ManagementClient, ManagementError } from './management-client';
import { createRedactor } from './redact';
import { PayloadTooLargeError, readLimitedBody } from '../http/body';
import { problemBody } from '../http/problem';
import { buildTimeline } from './timeline';

export const DASHBOARD_PATH = '/_dashboard';
const API = `${DASHBOARD_PATH}/api`;
/** Request bodies of the dashboard API are small forms. */
const MAX_BODY_BYTES = 64 * 1024;
/** Instances read per management API page while counting or filtering by name. */
const PAGE = 500;
/** Counting and name filtering stop here, so a huge store cannot keep one request busy. */
const MAX_COUNTED = 100_000;
const CONTROL_OPERATIONS = ['terminate', 'suspend', 'resume', 'restart', 'rewind'] as const;

export interface DashboardOptions {
  readonly engine: DurableExtension | undefined;
  readonly systemKey: string;
  readonly masterKey: string;
  readonly taskHubName: string;
  /** The app's resolved settings: where its local services are, `LOCAL_DASHBOARD_ALLOW_REMOTE`, `_TRUST_PROXY`. */
  readonly settings: Readonly<Record<string, string>>;
  readonly activityWindows: ActivityWindows;
  /** The app's dashboard hook (`local.services.cjs`): its local services and redaction rules. */
  readonly config: DashboardConfig;
}

export type DashboardHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
) => Promise<void>;

class DashboardError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const ASSET_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * `assets/` sits next to this file in the package's sources (`src/dashboard/`); the tsc build does not copy
 * it, and `dist/dashboard/` is as deep in the package as `src/dashboard/`, so one path serves both.
 */
function loadAssets(): Map<string, Asset> {
  const dir = path.resolve(__dirname, '..', '..', 'src', 'dashboard', 'assets');
  const assets = new Map<string, Asset>();
  if (!fs.existsSync(path.join(dir, 'index.html'))) return assets;
  for (const name of fs.readdirSync(dir)) {
    const type = ASSET_TYPES[path.extname(name)];
    if (type) assets.set(name, { type, body: fs.readFileSync(path.join(dir, name)) });
  }
  return assets;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': buffer.length,
  });
  res.end(buffer);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function sendProblem(res: http.ServerResponse, status: number, detail: string): void {
  const title = status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Error';
  // The dashboard's own headers (no caching, no framing) around the runtime's one problem shape.
  send(res, status, 'application/problem+json', problemBody({ status, title, detail }));
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  try {
    return await readLimitedBody(req, { limit: MAX_BODY_BYTES });
  } catch (e) {
    if (e instanceof PayloadTooLargeError)
      throw new DashboardError(413, 'The request body is too large.');
    throw e;
  }
}

async function readForm(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DashboardError(400, 'The body must be JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DashboardError(400, 'The body must be a JSON object.');
  return value as Record<string, unknown>;
}

const optionalText = (form: Record<string, unknown>, name: string): string | undefined => {
  const v = form[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new DashboardError(400, `'${name}' must be a string.`);
  return v;
};

/** Bounds of what the dashboard arms: a demo of a failover, not a load generator. */
const MAX_FAULT_COUNT = 100;

const integerIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** `{count, status}` (the next `count` sends fail with `status`) or `{count, hang: true}`. */
function parseFaultToArm(form: Record<string, unknown>): FaultToArm {
  const { count, status, hang } = form;
  if (!integerIn(count, 1, MAX_FAULT_COUNT))
    throw new DashboardError(400, `'count' must be an integer 1..${MAX_FAULT_COUNT}.`);
  if (hang !== undefined && typeof hang !== 'boolean')
    throw new DashboardError(400, "'hang' must be a boolean.");
  if (hang === true) {
    if (status !== undefined) throw new DashboardError(400, "Give 'status' or 'hang', not both.");
    return { count, hang: true };
  }
  if (!integerIn(status, 400, 599))
    throw new DashboardError(400, "'status' must be an integer 400..599 (or 'hang': true).");
  return { count, hang: false, status };
}

export function createDashboard(options: DashboardOptions): DashboardHandler {
  const assets = loadAssets();
  const services = new ServiceInspector(options.config.services?.(options.settings) ?? []);
  const redact = createRedactor(options.config.redaction);
  const allowRemote = /^(true|1)$/i.test(options.settings.LOCAL_DASHBOARD_ALLOW_REMOTE ?? '');
  const trustProxy = /^(true|1)$/i.test(options.settings.LOCAL_DASHBOARD_TRUST_PROXY ?? '');

  const client = new ManagementClient(options);
  const management = client.call.bind(client);

  const instancePath = (id: string): string => `/instances/${encodeURIComponent(id)}`;

  const summary = (s: Record<string, unknown>): Record<string, unknown> => ({
    instanceId: s.instanceId,
    name: s.name,
    runtimeStatus: s.runtimeStatus,
    createdTime: s.createdTime,
    lastUpdatedTime: s.lastUpdatedTime,
    customStatus: redact.value(s.customStatus),
  });

  const listInstances = async (q: URLSearchParams): Promise<unknown> => {
    const top = Math.min(Math.max(Number(q.get('top') ?? '20') || 20, 1), 200);
    const name = q.get('name')?.trim().toLowerCase() ?? '';
    const filter: Record<string, string | string[]> = {
      showInput: 'false',
      top: String(name ? PAGE : top),
    };
    const statuses = q.getAll('status').filter((s) => s !== '');
    if (statuses.length > 0) filter.runtimeStatus = statuses.join(',');
    for (const [param, target] of [
      ['from', 'createdTimeFrom'],
      ['to', 'createdTimeTo'],
      ['prefix', 'instanceIdPrefix'],
    ] as const) {
      const v = q.get(param);
      if (v) filter[target] = v;
    }
    let token = q.get('continuationToken') ?? undefined;
    const found: Record<string, unknown>[] = [];
    let scanned = 0;
    // Without a name filter one page is one page; with one, pages are read until `top` match.
    do {
      const answer = await management('GET', '/instances', filter, undefined, token);
      if (answer.status !== 200) return answerOrThrow(answer);
      const page = Array.isArray(answer.body) ? (answer.body as Record<string, unknown>[]) : [];
      found.push(...page.filter((s) => !name || String(s.name).toLowerCase() === name));
      scanned += page.length;
      token = answer.continuationToken;
    } while (name && token && found.length < top && scanned < MAX_COUNTED);
    return { instances: found.slice(0, top).map(summary), continuationToken: token ?? null };
  };

  const countByStatus = async (): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {};
    let token: string | undefined;
    let seen = 0;
    do {
      const answer = await management(
        'GET',
        '/instances',
        { showInput: 'false', top: String(PAGE) },
        undefined,
        token,
      );
      if (answer.status !== 200) break;
      const page = Array.isArray(answer.body) ? (answer.body as Record<string, unknown>[]) : [];
      for (const s of page)
        counts[String(s.runtimeStatus)] = (counts[String(s.runtimeStatus)] ?? 0) + 1;
      seen += page.length;
      token = answer.continuationToken;
    } while (token && seen < MAX_COUNTED);
    return counts;
  };

  const instanceDetail = async (id: string): Promise<unknown> => {
    const answer = await management('GET', instancePath(id), {
      showHistory: 'true',
      showHistoryOutput: 'true',
      showInput: 'true',
    });
    if (answer.status !== 200 && answer.status !== 202) return answerOrThrow(answer);
    const s = answer.body as Record<string, unknown>;
    const history = Array.isArray(s.historyEvents)
      ? (s.historyEvents as Record<string, unknown>[])
      : [];
    return {
      ...summary(s),
      input: redact.value(s.input),
      output: redact.value(s.output),
      history: history.map((e) => redact.historyEvent(e)),
      timeline: buildTimeline(history),
    };
  };

  const entityPath = (...parts: string[]): string =>
    ['/entities', ...parts.map(encodeURIComponent)].join('/');

  /** One page of entities (all, or one entity name's), without their state: that is one click away. */
  const listEntities = async (q: URLSearchParams): Promise<unknown> => {
    const top = Math.min(Math.max(Number(q.get('top') ?? '20') || 20, 1), 200);
    const name = q.get('name')?.trim() ?? '';
    const answer = await management(
      'GET',
      name ? entityPath(name) : '/entities',
      { fetchState: 'false', top: String(top) },
      undefined,
      q.get('continuationToken') ?? undefined,
    );
    const page = answerOrThrow(answer);
    const rows = Array.isArray(page) ? (page as Record<string, unknown>[]) : [];
    return {
      entities: rows.map((r) => {
        const entityId = (r.entityId ?? {}) as Record<string, unknown>;
        return {
          name: entityId.name,
          key: entityId.key,
          lastOperationTime: r.lastOperationTime,
        };
      }),
      continuationToken: answer.continuationToken ?? null,
    };
  };

  const entityState = async (name: string, key: string): Promise<unknown> => {
    const state = answerOrThrow(await management('GET', entityPath(name, key)));
    return { name, key, state: redact.value(state) };
  };

  /**
   * Every outbox, items newest first, each with the instances it belongs to (see activity-windows.ts):
   * recipients masked and codes in the texts masked by the app's redaction rules.
   */
  const outboxesWithInstances = async (): Promise<unknown[]> => {
    const inputs = new Map<string, unknown>();
    const inputOf = async (id: string): Promise<unknown> => {
      if (!inputs.has(id)) {
        const answer = await management('GET', instancePath(id), { showInput: 'true' });
        inputs.set(
          id,
          answer.status < 300 ? (answer.body as Record<string, unknown>).input : undefined,
        );
      }
      return inputs.get(id);
    };
    const out = [];
    for (const { panel, items } of await services.outboxes()) {
      const shown = [];
      for (const m of items ?? []) {
        // `whatsapp:+1…`: the instance's input names the number without the channel's scheme.
        const [, scheme = '', address = m.recipient] = /^([a-z]+:)?(.*)$/.exec(m.recipient) ?? [];
        const candidates = options.activityWindows.instancesActiveAt(Date.parse(m.time));
        const instances: string[] = [];
        for (const id of candidates) if (mentions(await inputOf(id), address)) instances.push(id);
        shown.push({
          id: m.id,
          recipient: `${scheme}${redact.mask(address)}`,
          time: m.time,
          text: redact.maskDigits(m.text),
          status: m.status,
          instances,
        });
      }
      out.push({
        id: panel.id,
        title: panel.title,
        textLabel: panel.textLabel,
        items: items === null ? null : shown,
      });
    }
    return out;
  };

  const api = async (req: http.IncomingMessage, url: URL): Promise<unknown> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const route = url.pathname.slice(API.length).replace(/\/+$/, '');
    const segments = route
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const [head, id, op, arg] = segments;
    if (head === 'instances' && id === undefined && method === 'GET')
      return listInstances(url.searchParams);
    if (head === 'counts' && method === 'GET')
      return { statuses: RUNTIME_STATUSES, counts: await countByStatus() };
    if (head === 'instances' && id !== undefined && op === undefined) {
      if (method === 'GET') return instanceDetail(id);
      if (method === 'DELETE') return answerOrThrow(await management('DELETE', instancePath(id)));
    }
    if (head === 'instances' && id !== undefined && method === 'POST') {
      const form = await readForm(req);
      if (op === 'raise-event' && arg === undefined) {
        const eventName = optionalText(form, 'eventName');
        if (!eventName || !/^[\w.-]{1,100}$/.test(eventName))
          throw new DashboardError(400, 'eventName: 1-100 letters, digits, _ . or -');
        return answerOrThrow(
          await management(
            'POST',
            `${instancePath(id)}/raiseEvent/${encodeURIComponent(eventName)}`,
            {},
            form.data ?? null,
          ),
        );
      }
      const control = CONTROL_OPERATIONS.find((c) => c === op);
      if (control && arg === undefined) {
        const reason = optionalText(form, 'reason');
        const answer = await management(
          'POST',
          `${instancePath(id)}/${control}`,
          reason ? { reason } : {},
        );
        return answerOrThrow(answer);
      }
    }
    if (head === 'purge' && id === undefined && method === 'POST') {
      const form = await readForm(req);
      const from = optionalText(form, 'from');
      if (!from)
        throw new DashboardError(400, "'from' (created from) is required to purge by filter.");
      const to = optionalText(form, 'to');
      const statuses = Array.isArray(form.statuses) ? form.statuses.map(String) : [];
      const answer = await management('DELETE', '/instances', {
        createdTimeFrom: from,
        ...(to ? { createdTimeTo: to } : {}),
        ...(statuses.length > 0 ? { runtimeStatus: statuses.join(',') } : {}),
      });
      // The API answers 404 when nothing matched: for a filter that is simply zero.
      return answer.status === 404 ? { instancesDeleted: 0 } : answerOrThrow(answer);
    }
    if (head === 'entities' && method === 'GET' && arg === undefined) {
      if (id === undefined) return listEntities(url.searchParams);
      if (op !== undefined) return entityState(id, op);
    }
    if (head === 'services' && id === undefined && method === 'GET') {
      const [health, outboxes, identities, faultSwitches] = await Promise.all([
        services.health(),
        outboxesWithInstances(),
        services.acsIdentities().catch(() => undefined),
        services.faultSwitches(),
      ]);
      return { health, outboxes, acsIdentities: identities ?? null, faultSwitches };
    }
    if (head === 'faults' && id !== undefined && arg === undefined && method === 'POST') {
      const form = await readForm(req);
      if (op === 'arm') await services.setFault(id, parseFaultToArm(form));
      else if (op === 'clear') await services.setFault(id, undefined);
      else throw new DashboardError(404, `No dashboard API at ${method} ${url.pathname}.`);
      const switches = await services.faultSwitches();
      return switches.find((s) => s.id === id);
    }
    throw new DashboardError(404, `No dashboard API at ${method} ${url.pathname}.`);
  };

  return async (req, res, url) => {
    const isApi = url.pathname.toLowerCase().startsWith(`${API}/`);
    const access = decideAccess(req, isApi, {
      allowRemote,
      trustProxy,
      masterKey: options.masterKey,
    });
    if (!access.allowed) {
      req.resume();
      sendProblem(res, access.status, access.detail);
      return;
    }
    if (!isApi) {
      const rest = url.pathname.slice(DASHBOARD_PATH.length).replace(/^\/+/, '');
      const name = rest === '' ? 'index.html' : rest.replace(/^assets\//, '');
      const asset = assets.get(name);
      if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
        sendProblem(
          res,
          404,
          assets.size === 0 ? 'The dashboard assets are missing.' : 'No such page.',
        );
        return;
      }
      send(res, 200, asset.type, asset.body);
      return;
    }
    try {
      sendJson(res, 200, await api(req, url));
    } catch (e) {
      if (e instanceof ManagementError) {
        send(res, e.status, 'application/problem+json', JSON.stringify(e.body));
      } else if (e instanceof DashboardError || e instanceof FaultSwitchError) {
        sendProblem(res, e.status, e.message);
      } else if (e instanceof URIError) {
        sendProblem(res, 400, 'Malformed URL encoding.');
      } else {
        sendProblem(res, 500, 'The dashboard could not answer.');
      }
    }
  };
}
