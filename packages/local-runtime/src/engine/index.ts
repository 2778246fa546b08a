/**
 * `createDurableEngine`: the Durable extension's behaviour for the local runtime.
 *
 * The host calls `start()` after loading the app, routes everything under
 * `/runtime/webhooks/durabletask/` to `handleHttp`, hands `clientBinding(origin)` to every
 * `durableClient` input, and calls `stop()` on shutdown.
 *
 * Like the real extension, the engine also listens on a loopback-only RPC port (`rpcBaseUrl` in the
 * client binding) which `durable-functions`' DurableClient uses for every call; it serves the same
 * routes without a key, exactly as the extension's local RPC endpoint does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  Clock,
  DurableExtension,
  FunctionInvoker,
  RuntimeHttpRequest,
  RuntimeHttpResponse,
} from '../contracts';
import type { SqliteStore } from '../store/sqlite-store';
import { EntityApi } from '../entities/entity-api';
import { EntityScheduler } from '../entities/entity-scheduler';
import { EntityStore } from '../entities/entity-store';
import { DurableEngineCore } from './engine';
import { EngineClient } from './engine-client';
import { registerInProcessRpc } from './in-process-client';
import type { HistoryEvent } from './history';
import {
  DEFAULT_CONNECTION_NAME,
  DEFAULT_MAX_WAIT_MS,
  ManagementApi,
  WEBHOOK_PATH,
  managementLinks,
} from './http-api';

export { formatTimeSpan, activityInputString, InstanceExistsError } from './engine';
export type { HistoryEvent } from './history';
export { managementLinks, validateInstanceId, WEBHOOK_PATH } from './http-api';

const DAY_MS = 86_400_000;
/** Upper bound of a request body on the RPC listener (the front door enforces its own limit). */
const RPC_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface DurableEngineOptions {
  invoker: FunctionInvoker;
  clock: Clock;
  /** A file path (created with its folder) or `':memory:'`. */
  databasePath: string;
  /** `host.json` `extensions.durableTask.hubName`. */
  taskHubName: string;
  /** The `durabletask_extension` system key: put in every URL handed out, required on the webhook path. */
  systemKey: string;
  /** Also accepted on the webhook path (the host's master key is valid for every system route). */
  masterKey?: string;
  /** `host.json` `extensions.durableTask.maxConcurrentActivityFunctions` (default 10). */
  maxConcurrentActivityFunctions?: number;
  /** `host.json` `extensions.durableTask.maxConcurrentOrchestratorFunctions` (default 10). */
  maxConcurrentOrchestratorFunctions?: number;
  log?: (line: string) => void;
  /** Port of the loopback RPC listener: 0 (default) = any free port, `false` = no listener. */
  rpcPort?: number | false;
  /** How long `stop()` waits for running activities before leaving them persisted for the next start (default 10 s). */
  stopGraceMs?: number;
  /** Extension defaults: 6 days / 3 days (Azure Storage provider). */
  maximumShortTimerMs?: number;
  longRunningTimerIntervalMs?: number;
  /** Opens the store (tests inject one that fails on commit); default: SQLite at `databasePath`. */
  openStore?: (databasePath: string) => SqliteStore;
  /** Deliveries of one activity before it fails into history as a poison activity (default 5). */
  maxActivityDequeueCount?: number;
  /** `host.json` `extensions.durableTask.maxConcurrentEntityFunctions`: entities running a batch at once (default 10). */
  maxConcurrentEntityFunctions?: number;
  /** `host.json` `extensions.durableTask.maxEntityOperationBatchSize`: operations per entity invocation (default 50). */
  maxEntityOperationBatchSize?: number;
  /**
   * Answer the DurableClient's RPC calls in-process instead of over the loopback listener (default true; the
   * listener keeps running for clients the shortcut cannot reach). See `in-process-client.ts`.
   */
  inProcessClient?: boolean;
  /**
   * The origin the host serves on, for the check-status links of calls that came through the RPC listener
   * (which has no public `Host` of its own). Read at each call: the host knows it only once it listens.
   * Default `http://localhost:7071`.
   */
  publicOrigin?: () => string;
  /** The longest a `?timeout=` wait holds a request, ms (default 230 s, Azure's front-end limit). */
  maxHttpWaitMs?: number;
}

export interface DurableEngine extends DurableExtension {
  /** Resolves once no work is runnable: only future timers and external-event waits remain. */
  whenIdle(): Promise<void>;
  /** The loopback RPC base URL (ends with `/`), once `start()` resolved; undefined without a listener. */
  readonly rpcBaseUrl: string | undefined;
  readonly taskHubName: string;
  /** The raw history of an instance's current execution (diagnostics and tests). */
  history(instanceId: string): HistoryEvent[];
}

export function createDurableEngine(options: DurableEngineOptions): DurableEngine {
  const log = options.log ?? (() => undefined);
  const positive = (v: number | undefined, fallback: number): number =>
    v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
  const core = new DurableEngineCore({
    invoker: options.invoker,
    clock: options.clock,
    databasePath: options.databasePath,
    taskHubName: options.taskHubName,
    maxConcurrentActivityFunctions: positive(options.maxConcurrentActivityFunctions, 10),
    maxConcurrentOrchestratorFunctions: positive(options.maxConcurrentOrchestratorFunctions, 10),
    maximumShortTimerMs: options.maximumShortTimerMs ?? 6 * DAY_MS,
    longRunningTimerIntervalMs: options.longRunningTimerIntervalMs ?? 3 * DAY_MS,
    log,
    ...(options.openStore ? { openStore: options.openStore } : {}),
    ...(options.maxActivityDequeueCount !== undefined
      ? { maxActivityDequeueCount: options.maxActivityDequeueCount }
      : {}),
  });
  const entityStore = new EntityStore(core.store.database);
  const entities = new EntityScheduler({
    core,
    store: entityStore,
    invoker: options.invoker,
    maxConcurrentEntities: positive(options.maxConcurrentEntityFunctions, 10),
    maxBatchSize: positive(options.maxEntityOperationBatchSize, 50),
    log,
  });
  core.attachEntities(entities);
  const entityApi = new EntityApi(entityStore, entities);
  const client = new EngineClient(core);
  const api = new ManagementApi({
    engine: client,
    taskHubName: options.taskHubName,
    acceptedKeys: [options.systemKey, ...(options.masterKey ? [options.masterKey] : [])],
    systemKey: options.systemKey,
    orchestratorNames: () =>
      options.invoker
        .functions()
        .filter((f) => f.triggerType.toLowerCase() === 'orchestrationtrigger')
        .map((f) => f.name),
    log,
    maxWaitMs: positive(options.maxHttpWaitMs, DEFAULT_MAX_WAIT_MS),
    entities: (req, q, segments) => entityApi.handle(req, q, segments),
  });

  let rpcServer: http.Server | undefined;
  let rpcBaseUrl: string | undefined;
  /**
   * Client bindings by public origin: every invocation with a durable client input asks for one, and
   * they change only with the origin or the RPC listener's URL (then the map is cleared).
   */
  const bindingsByOrigin = new Map<string, Readonly<Record<string, unknown>>>();
  // The origin clients see; RPC-created check-status URLs point there so they work from outside. Never taken
  // from a request: concurrent requests through other names (or a forged Host) would hand out each other's.
  const publicOrigin = (): string =>
    (options.publicOrigin?.() ?? 'http://localhost:7071').replace(/\/+$/, '');
  let stopped = false;
  let unregisterInProcess: (() => void) | undefined;

  const serveRpc = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > RPC_MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const send = (r: RuntimeHttpResponse): void => {
        try {
          res.writeHead(r.status, { ...(r.headers ?? {}) });
          res.end(r.body ?? '');
        } catch {
          res.destroy(); // the client went away; nothing else to do
        }
      };
      if (tooLarge) {
        send({
          status: 413,
          headers: { 'content-type': 'application/problem+json' },
          body: JSON.stringify({
            type: 'about:blank',
            title: 'Payload Too Large',
            status: 413,
            detail: 'Request body too large',
          }),
        });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      }
      const request: RuntimeHttpRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers,
        body: Buffer.concat(chunks),
        origin: publicOrigin(),
      };
      if (!url.pathname.toLowerCase().startsWith('/durabletask')) {
        send({ status: 404 });
        return;
      }
      api.handle(request, false).then(send, () => send({ status: 500 }));
    });
    req.on('error', () => res.destroy());
  };

  const engine: DurableEngine = {
    get rpcBaseUrl() {
      return rpcBaseUrl;
    },
    taskHubName: options.taskHubName,

    clientBinding(requestOrigin: string): Readonly<Record<string, unknown>> {
      const origin = requestOrigin.replace(/\/+$/, '');
      const cached = bindingsByOrigin.get(origin);
      if (cached) return cached;
      const base = `${origin}${WEBHOOK_PATH}`;
      const code = encodeURIComponent(options.systemKey);
      const links = managementLinks(origin, options.taskHubName, options.systemKey, 'INSTANCEID');
      // The templates keep the literal INSTANCEID placeholder that the JS client substitutes.
      const managementUrls: Record<string, string> = { ...links };
      const rewindQuery = `taskHub=${encodeURIComponent(options.taskHubName)}&connection=${DEFAULT_CONNECTION_NAME}&code=${code}`;
      managementUrls.rewindPostUri = `${base}/instances/INSTANCEID/rewind?reason={text}&${rewindQuery}`;
      const binding = deepFreeze({
        taskHubName: options.taskHubName,
        creationUrls: {
          createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?code=${code}`,
          createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${code}`,
        },
        managementUrls,
        baseUrl: base,
        requiredQueryStringParameters: `code=${code}`,
        ...(rpcBaseUrl ? { rpcBaseUrl } : {}),
      });
      // A handful of origins at most (the configured public host, loopback names); never unbounded.
      if (bindingsByOrigin.size >= MAX_CACHED_BINDINGS) bindingsByOrigin.clear();
      bindingsByOrigin.set(origin, binding);
      return binding;
    },

    handleHttp(request: RuntimeHttpRequest): Promise<RuntimeHttpResponse> {
      if (stopped) return Promise.resolve({ status: 503 });
      return api.handle(request, true);
    },

    async start(): Promise<void> {
      if (options.rpcPort !== false && !rpcServer) {
        const server = http.createServer(serveRpc);
        rpcServer = server;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(options.rpcPort === false ? 0 : (options.rpcPort ?? 0), '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        const { port } = server.address() as AddressInfo;
        rpcBaseUrl = `http://127.0.0.1:${port}/durabletask/`;
        bindingsByOrigin.clear();
        if (options.inProcessClient !== false) {
          unregisterInProcess = registerInProcessRpc(rpcBaseUrl, (request) =>
            api.handle({ ...request, origin: publicOrigin() }, false),
          );
        }
      }
      core.start();
      entities.start();
    },

    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      unregisterInProcess?.();
      const server = rpcServer;
      rpcServer = undefined;
      if (server) {
        server.closeIdleConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      entities.stop();
      await core.stop(options.stopGraceMs ?? 10_000);
    },

    whenIdle(): Promise<void> {
      return core.whenIdle();
    },

    history(instanceId: string): HistoryEvent[] {
      return client.getHistory(instanceId);
    },
  };
  return engine;
}

const MAX_CACHED_BINDINGS = 16;

/** Cached bindings are shared by every invocation, so nothing may change them. */
function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) {
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  }
  return Object.freeze(value);
}
