/**
 * Public API of the local runtime: a Functions host plus the Durable engine, in-process (`startLocalHost`)
 * or as a child process (`startLocalHostProcess`, in `host/process-host.ts`).
 *
 * ```ts
 * const clock = new ManualClock();
 * const host = await startLocalHost({ appDir, clock, databasePath: ':memory:', settingsFile: false, settings });
 * await fetch(`${host.url}/api/orchestrators/MyOrchestration`, { method: 'POST', body: '"some input"' });
 * await host.whenIdle();   // the engine ran everything runnable
 * clock.advance(90_000);   // durable timers fire
 * await host.stop();
 *
 * const child = await startLocalHostProcess({ appDir, clock: 'manual', databasePath: file, settings });
 * await child.advanceClock(90_000); await child.whenIdle(); child.kill('SIGKILL'); await child.exited;
 * ```
 *
 * One app per process (or per jest module registry): `@azure/functions` keeps its registrations in module
 * state, so a second `startLocalHost` in the same registry is rejected. Under jest, `jest.config.js` maps
 * `@azure/functions-core` to `host/core-api.ts` (Node's resolver hook is invisible to jest's registry).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputBindings, SUPPORTED_OUTPUT_BINDING_TYPES } from './bindings';
import { ManualClock, SystemClock } from './clock';
import type {
  Clock,
  DurableExtension,
  FunctionInvoker,
  RuntimeHttpRequest,
  RuntimeHttpResponse,
} from './contracts';
import type { DurableEngine, DurableEngineOptions } from './engine';
import { createDurableEngine } from './engine';
import { ActivityWindows } from './dashboard/activity-windows';
import { createDashboard, DASHBOARD_PATH } from './dashboard/server';
import type { LoadedApp } from './host/app-loader';
import { loadApp, terminateApp } from './host/app-loader';
import { localHostRegistry } from './host/core-api';
import type { LocalServices, StartedEmbeddedServices } from './host/local-services';
import { lacksAnyService, loadLocalServices, startEmbeddedServices } from './host/local-services';
import { FrontDoor } from './host/front-door';
import { FunctionHost } from './host/function-host';
import type { HostJsonSettings } from './host/host-json';
import { readHostJson } from './host/host-json';
import type { HostLog } from './host/logger';
import { consoleLog, silentLog } from './host/logger';
import { TimerTriggers } from './host/timer-triggers';
import { LocalWorker } from './host/worker';
import type { HostKeys } from './keys';
import { loadOrCreateKeys } from './keys';
import { generatedSecretsFor, readDeclaredSecrets } from './generated-secrets';
import type { ResolvedSettings } from './settings';
import { applyToProcessEnv, resolveSettings } from './settings';
import { json, problem } from './http/problem';

export type { HostKeys } from './keys';
export type { HostLog, HostLogLevel } from './host/logger';
export { ManualClock, SystemClock } from './clock';
export { startLocalHostProcess } from './host/process-host';
export type { LocalHostProcess, LocalHostProcessOptions } from './host/process-host';

export type LocalDurableEngine = DurableExtension &
  Partial<Pick<DurableEngine, 'whenIdle' | 'history' | 'rpcBaseUrl'>>;

export type EngineFactory = (options: DurableEngineOptions) => LocalDurableEngine;
export type { DurableEngine, DurableEngineOptions } from './engine';

/** The app's embedded services (its `local.services.cjs`), started in-process when its settings lack them. */
export type EmbeddedEmulators = StartedEmbeddedServices;
export type {
  DashboardConfig,
  DashboardService,
  EmbeddedService,
  EmbeddedServiceContext,
  LocalServices,
  OutboxPanel,
  FaultSwitchPanel,
  RedactionRules,
  StartedEmbeddedService,
} from './host/local-services';
export type { GeneratedSecretSpec } from './generated-secrets';
export {
  DEFAULT_REDACTION,
  LOCAL_SERVICES_FILE,
  startEmbeddedServices,
} from './host/local-services';

export interface StartLocalHostOptions {
  /** The app directory (with `package.json`, `host.json`, `local.settings.json`). Default: the current directory. */
  readonly appDir?: string;
  /** Default 0 (any free port); the CLI uses 7071. */
  readonly port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly hostname?: string;
  /** `'system'` (default), `'manual'` (a new ManualClock starting now) or a clock instance. */
  readonly clock?: 'system' | 'manual' | Clock;
  /** SQLite file or `':memory:'`. Default `<dataDir>/durable.sqlite`. */
  readonly databasePath?: string;
  /** Settings that win over `local.settings.json` and the environment. */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * The settings file, relative to `appDir`, or `false` for none. Default `local.settings.json`, created from
   * `local.settings.sample.json` when missing.
   */
  readonly settingsFile?: string | false;
  /** Local data (keys, database). Default `<appDir>/.data`. */
  readonly dataDir?: string;
  /** `'silent'` (default), `'console'`, or a sink. */
  readonly log?: HostLog | 'console' | 'silent';
  /** Request body limit. Default: setting `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`, else 100 MiB like the host. */
  readonly maxRequestBodyBytes?: number;
  /** The durable engine. Default: `createDurableEngine` from `engine/index.ts`; `false` runs without one. */
  readonly engine?: EngineFactory | false;
  /** Serve `/admin/test/*` (clock control, idle wait). Only honoured with a ManualClock. */
  readonly testEndpoints?: boolean;
  /**
   * Start the app's embedded services (`services`) in-process when its settings lack them (`'auto'`), always
   * (`true`) or never (`false`, the default here; the CLI uses `'auto'`).
   */
  readonly emulators?: boolean | 'auto';
  /** How long stopping waits for in-flight requests before cutting them. Default 5 s. */
  readonly shutdownDrainMs?: number;
  /**
   * The app's local services: embedded services and dashboard configuration. Default: the app directory's
   * `local.services.cjs` (see `host/local-services.ts`), or none.
   */
  readonly services?: LocalServices;
  /** Where to load `services` from when it is not given. Default `<appDir>/local.services.cjs`. */
  readonly servicesFile?: string;
}

export interface LocalHost {
  /** e.g. `http://127.0.0.1:53211` */
  readonly url: string;
  readonly port: number;
  readonly clock: Clock;
  readonly keys: HostKeys;
  /** The app-declared secrets this start generated or reused (see generated-secrets.ts), by setting name. */
  readonly generatedSecrets: Readonly<Record<string, string>>;
  readonly engine: LocalDurableEngine | undefined;
  /** Invokes the app's durable functions exactly as the engine does (for conformance tests and benches). */
  readonly invoker: FunctionInvoker;
  readonly app: LoadedApp;
  readonly hostJson: HostJsonSettings;
  readonly settings: Readonly<Record<string, string>>;
  readonly settingsFile: string | undefined;
  /** True when this start created `local.settings.json` from `local.settings.sample.json`. */
  readonly settingsCreatedFromSample: boolean;
  readonly dataDir: string;
  readonly databasePath: string;
  /** The local dashboard, e.g. `http://127.0.0.1:7071/_dashboard`. */
  readonly dashboardUrl: string;
  readonly emulators: EmbeddedEmulators | undefined;
  /** Functions disabled through `AzureWebJobs.<name>.Disabled`. */
  readonly disabledFunctions: ReadonlySet<string>;
  /** One line per HTTP function: name, methods, URL. */
  readonly httpFunctions: readonly {
    name: string;
    methods: readonly string[];
    url: string;
    authLevel: string;
  }[];
  /** Resolves once the engine has no runnable work (only future timers and event waits remain). */
  whenIdle(): Promise<void>;
  /** Stops accepting requests, lets in-flight work finish (or stay persisted), runs appTerminate hooks. */
  stop(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 100 * 1024 * 1024;

function resolveLog(log: StartLocalHostOptions['log']): HostLog {
  if (typeof log === 'function') return log;
  return log === 'console' ? consoleLog() : silentLog;
}

function makeClock(option: StartLocalHostOptions['clock']): Clock {
  if (option === 'manual') return new ManualClock(new Date());
  if (option === undefined || option === 'system') return new SystemClock();
  return option;
}

function adminEndpoints(
  clock: Clock,
  engine: LocalDurableEngine | undefined,
  timers: () => TimerTriggers | undefined,
  testEndpointsEnabled: boolean,
) {
  return async (request: RuntimeHttpRequest): Promise<RuntimeHttpResponse | undefined> => {
    const p = request.path.toLowerCase();
    const invoke = /^\/admin\/functions\/([^/]+)$/.exec(request.path);
    if (invoke && request.method === 'POST') {
      // As `func start`: run a non-HTTP function on demand (locally: timer functions).
      const name = decodeURIComponent(invoke[1]!);
      const result = await timers()?.runNow(name);
      if (!result) {
        return problem(
          404,
          'Not Found',
          `No timer-triggered function named '${name}' is running here.`,
        );
      }
      return { status: 202 };
    }
    if (!testEndpointsEnabled || !(clock instanceof ManualClock)) return undefined;
    if (p === '/admin/test/clock' && request.method === 'GET') {
      return json(200, { now: clock.now().toISOString() });
    }
    if (p === '/admin/test/clock/advance' && request.method === 'POST') {
      const ms = Number(request.query.get('ms'));
      if (!Number.isFinite(ms) || ms < 0) {
        return problem(400, 'Bad Request', 'ms must be a non-negative number.');
      }
      clock.advance(ms);
      return json(200, { now: clock.now().toISOString() });
    }
    if (p === '/admin/test/idle' && request.method === 'POST') {
      await engine?.whenIdle?.();
      return json(200, { now: clock.now().toISOString() });
    }
    return undefined;
  };
}

const SUPPORTED_TRIGGERS = new Set([
  'httptrigger',
  'orchestrationtrigger',
  'activitytrigger',
  'timertrigger',
]);
const SUPPORTED_BINDINGS = new Set(['http', 'durableclient', 'orchestrationclient']);

/** The local host runs a subset of the Functions bindings; say so instead of silently not running a function. */
function warnAboutUnsupported(app: LoadedApp, log: HostLog): void {
  for (const fn of app.functions) {
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      const type = binding.type.toLowerCase();
      if (/trigger$/.test(type)) {
        if (!SUPPORTED_TRIGGERS.has(type)) {
          log(
            'warn',
            `Function '${fn.metadata.name}': the local runtime does not run ${binding.type} functions.`,
          );
        }
      } else if (
        !SUPPORTED_BINDINGS.has(type) &&
        !(binding.direction === 'out' && SUPPORTED_OUTPUT_BINDING_TYPES.includes(type))
      ) {
        log(
          'warn',
          `Function '${fn.metadata.name}': the ${binding.type} binding '${name}' is not supported locally and stays empty.`,
        );
      }
    }
  }
}

/** `AzureWebJobs.<FunctionName>.Disabled` = true (setting or environment) disables a trigger, as in the host. */
function findDisabled(app: LoadedApp, values: Readonly<Record<string, string>>): Set<string> {
  const disabled = new Set<string>();
  for (const fn of app.functions) {
    const key = `AzureWebJobs.${fn.metadata.name}.Disabled`;
    const value = values[key] ?? process.env[key] ?? process.env[key.replace(/\./g, '__')];
    if (value !== undefined && /^(true|1)$/i.test(value.trim())) disabled.add(fn.metadata.name);
  }
  return disabled;
}

export async function startLocalHost(options: StartLocalHostOptions = {}): Promise<LocalHost> {
  const appDir = path.resolve(options.appDir ?? process.cwd());
  const dataDir = path.resolve(appDir, options.dataDir ?? '.data');
  const log = resolveLog(options.log);
  const hostJson = readHostJson(appDir);
  fs.mkdirSync(dataDir, { recursive: true });

  let settings: ResolvedSettings = resolveSettings({
    appDir,
    file: options.settingsFile,
    overrides: options.settings,
  });
  const settingsCreatedFromSample = settings.createdFromSample;
  // Made first so the embedded services (an emulator's message lifecycle) run on the runtime's clock too.
  const clock = makeClock(options.clock);
  const services = options.services ?? loadLocalServices(appDir, options.servicesFile);
  let emulators: EmbeddedEmulators | undefined;
  if (
    options.emulators === true ||
    (options.emulators === 'auto' && lacksAnyService(services, settings.values))
  ) {
    emulators = await startEmbeddedServices(services, {
      settings: settings.values,
      force: options.emulators === true,
      dataDir,
      clock,
      log,
    });
    if (emulators.banner.length === 0) {
      // Everything the settings point at is already running: nothing embedded to mention or close.
      await emulators.close();
      emulators = undefined;
    }
    if (emulators) {
      settings = resolveSettings({
        appDir,
        file: options.settingsFile,
        overrides: { ...emulators.appSettings(), ...(options.settings ?? {}) },
      });
    }
  }

  // Secrets the app declares (its hook's `generatedSecrets`) and the settings leave blank.
  const generated = generatedSecretsFor(dataDir, readDeclaredSecrets(services), settings.values);
  if (Object.keys(generated.values).length > 0) {
    settings = resolveSettings({
      appDir,
      file: options.settingsFile,
      overrides: {
        ...generated.values,
        ...(emulators?.appSettings() ?? {}),
        ...(options.settings ?? {}),
      },
    });
  }

  const { keys } = loadOrCreateKeys(dataDir);
  const databasePath =
    options.databasePath === ':memory:'
      ? ':memory:'
      : path.resolve(dataDir, options.databasePath ?? 'durable.sqlite');
  const bodyLimitSetting = Number(settings.values.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT);
  const maxRequestBodyBytes =
    options.maxRequestBodyBytes ??
    (Number.isInteger(bodyLimitSetting) && bodyLimitSetting > 0
      ? bodyLimitSetting
      : DEFAULT_BODY_LIMIT);

  const restoreEnv = applyToProcessEnv(settings.values);
  const registry = localHostRegistry;
  registry.logSink = (level, category, message) => {
    if (level === 'error' || level === 'critical') log('error', `[${category}] ${message}`);
    else if (level === 'warning') log('warn', `[${category}] ${message}`);
    else log('debug', `[${category}] ${message}`);
  };
  const worker = new LocalWorker(registry, log);
  let frontDoor: FrontDoor | undefined;
  let engine: LocalDurableEngine | undefined;
  let restoreHostname: (() => void) | undefined;
  let app: LoadedApp | undefined;
  let timers: TimerTriggers | undefined;
  try {
    app = await loadApp(appDir, registry, worker.appHookData);
    const functionHost = new FunctionHost(app.functions, worker);
    functionHost.httpStreamUri = app.capabilities.HttpUri;
    const appSettings = settings.values;
    functionHost.outputBindings = new OutputBindings(
      () => appSettings,
      () => clock.now(),
    );
    const disabledFunctions = findDisabled(app, settings.values);
    for (const name of disabledFunctions)
      log('info', `Function '${name}' is disabled (AzureWebJobs.${name}.Disabled).`);
    warnAboutUnsupported(app, log);
    const factory = options.engine === false ? undefined : (options.engine ?? createDurableEngine);
    // The host's clock, which the embedded emulators also stamp their messages with.
    const activityWindows = new ActivityWindows(() => clock.now().getTime());
    engine = factory?.({
      invoker: activityWindows.observe(functionHost),
      clock,
      databasePath,
      taskHubName: hostJson.hubName,
      systemKey: keys.systemKey,
      masterKey: keys.masterKey,
      maxConcurrentActivityFunctions: hostJson.maxConcurrentActivityFunctions,
      maxConcurrentOrchestratorFunctions: hostJson.maxConcurrentOrchestratorFunctions,
      maxConcurrentEntityFunctions: hostJson.maxConcurrentEntityFunctions,
      maxEntityOperationBatchSize: hostJson.maxEntityOperationBatchSize,
      // The engine only reports its own failures.
      log: (line: string) => log('error', line),
      // Set below, once the front door listens.
      publicOrigin: () => functionHost.origin,
    });
    if (engine) {
      const durable = engine;
      functionHost.clientBinding = (origin) => durable.clientBinding(origin);
    }
    frontDoor = new FrontDoor({
      host: functionHost,
      engine,
      keys,
      routePrefix: hostJson.routePrefix,
      cors: { origins: settings.host.cors, credentials: settings.host.corsCredentials },
      maxRequestBodyBytes,
      shutdownDrainMs: options.shutdownDrainMs,
      disabledFunctions,
      maxConcurrentRequests: hostJson.maxConcurrentRequests,
      maxOutstandingRequests: hostJson.maxOutstandingRequests,
      log,
      hostStatus: () => ({
        id: 'local-runtime',
        state: 'Running',
        version: '4.1037.0',
        versionDetails: 'local-runtime (Node.js worker emulation)',
        platformVersion: '',
        instanceId: `local-${process.pid}`,
        computerName: 'localhost',
        processUptime: Math.round(process.uptime() * 1000),
        functionAppContentEditingState: 'NotAllowed',
        extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: 'local' },
      }),
      adminExtras: adminEndpoints(clock, engine, () => timers, options.testEndpoints === true),
      routeHandlers: [
        {
          prefix: DASHBOARD_PATH,
          handle: createDashboard({
            engine,
            systemKey: keys.systemKey,
            masterKey: keys.masterKey,
            taskHubName: hostJson.hubName,
            settings: settings.values,
            activityWindows,
            config: services.dashboard ?? {},
          }),
        },
      ],
    });
    const hostname = options.hostname ?? '127.0.0.1';
    const port = await frontDoor.listen(options.port ?? 0, hostname);
    const displayHost = hostname === '0.0.0.0' || hostname === '::' ? 'localhost' : hostname;
    const url = `http://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}`;
    functionHost.origin = url;
    // durable-functions rewrites every management URL to localhost:7071 unless WEBSITE_HOSTNAME is set.
    restoreHostname = applyToProcessEnv({ WEBSITE_HOSTNAME: url.replace(/^http:\/\//, '') });
    await engine?.start();
    timers = new TimerTriggers(functionHost, clock, log, settings.values, disabledFunctions);
    timers.start();
    const timerTriggers = timers;

    const door = frontDoor;
    const durable = engine;
    let stopping: Promise<void> | undefined;
    const loadedApp = app;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        await door.close();
        await timerTriggers.stop();
        await functionHost.whenNoInvocations();
        await durable?.stop();
        try {
          await terminateApp(registry, worker.appHookData, loadedApp);
        } catch (e) {
          log('error', `appTerminate hook failed: ${e instanceof Error ? e.message : String(e)}`);
        }
        restoreHostname?.();
        restoreEnv();
        await emulators?.close();
      })();
      return stopping;
    };
    return {
      url,
      port,
      clock,
      keys,
      generatedSecrets: generated.values,
      engine,
      invoker: functionHost,
      disabledFunctions,
      app: loadedApp,
      hostJson,
      settings: settings.values,
      settingsFile: settings.file,
      settingsCreatedFromSample,
      dataDir,
      databasePath,
      dashboardUrl: `${url}${DASHBOARD_PATH}`,
      emulators,
      httpFunctions: door.routes.map((r) => ({
        name: r.fn.metadata.name,
        methods: r.methods ?? ['*'],
        authLevel: r.authLevel,
        url: `${url}/${[hostJson.routePrefix, r.route.template].filter((s) => s.length > 0).join('/')}`,
      })),
      whenIdle: async () => {
        await durable?.whenIdle?.();
      },
      stop,
    };
  } catch (e) {
    await timers?.stop().catch(() => undefined);
    await frontDoor?.close().catch(() => undefined);
    await engine?.stop().catch(() => undefined);
    restoreHostname?.();
    restoreEnv();
    await emulators?.close().catch(() => undefined);
    throw e;
  }
}
