/**
 * `npm start`: serves the app in the current directory on http://localhost:7071 the way `func start` would,
 * on the local Durable engine, with embedded service emulators when no real credentials are configured.
 *
 * Options: --port <n> (or PORT, or local.settings.json Host.LocalHttpPort; default 7071), --host <interface>,
 * --app <dir>, --data <dir>, --database <file|:memory:>, --settings-file <file>, --no-settings-file,
 * --services <file> (the app's local services hook; default <app>/local.services.cjs),
 * --emulators auto|always|never, --clock system|manual, --clock-start <ISO> (manual clock; enables the
 * admin-only /admin/test/* endpoints), --ready-json (machine-readable ready line, for the child-process mode),
 * --verbose.
 */
import * as path from 'node:path';
import { parseArgs as parseArgv } from 'node:util';
import { ManualClock } from './clock';
import { consoleLog } from './host/logger';
import { READY_MARKER } from './host/process-host';
import type { LocalHost } from './index';
import { startLocalHost } from './index';
import { resolveSettings } from './settings';

interface CliArgs {
  port: number | undefined;
  host: string;
  app: string;
  data: string | undefined;
  database: string | undefined;
  settingsFile: string | false | undefined;
  servicesFile: string | undefined;
  emulators: 'auto' | 'always' | 'never';
  clock: 'system' | 'manual';
  clockStart: string | undefined;
  readyJson: boolean;
  verbose: boolean;
}

class UsageError extends Error {}

/** The CLI's options, parsed by Node's `util.parseArgs` (`--flag value` or `--flag=value`). */
const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  app: { type: 'string' },
  data: { type: 'string' },
  database: { type: 'string' },
  'settings-file': { type: 'string' },
  'no-settings-file': { type: 'boolean' },
  services: { type: 'string' },
  emulators: { type: 'string' },
  clock: { type: 'string' },
  'clock-start': { type: 'string' },
  'ready-json': { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function tokenize(argv: readonly string[]) {
  try {
    return parseArgv({ args: [...argv], options: OPTIONS, strict: true, tokens: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

function parseArgs(argv: readonly string[]): CliArgs {
  const { values, tokens } = tokenize(argv);
  if (values.help === true) throw new UsageError('');
  // Of --settings-file and --no-settings-file, the last one given wins.
  const settingsFlag = tokens
    .filter((t) => t.kind === 'option' && t.name.endsWith('settings-file'))
    .at(-1);
  return {
    port: values.port === undefined ? undefined : portOf(values.port),
    host: values.host ?? '127.0.0.1',
    app: values.app === undefined ? process.cwd() : path.resolve(values.app),
    data: values.data,
    database: values.database,
    settingsFile:
      settingsFlag?.kind === 'option' && settingsFlag.name === 'no-settings-file'
        ? false
        : values['settings-file'],
    servicesFile: values.services === undefined ? undefined : path.resolve(values.services),
    emulators: oneOf('--emulators', values.emulators ?? 'auto', ['auto', 'always', 'never']),
    clock: oneOf('--clock', values.clock ?? 'system', ['system', 'manual']),
    clockStart: values['clock-start'],
    readyJson: values['ready-json'] ?? false,
    verbose: values.verbose ?? false,
  };
}

function portOf(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError('--port must be 0..65535');
  return port;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`);
  return value as T;
}

function envSettings(): Record<string, string> {
  const raw = process.env.LOCAL_RUNTIME_SETTINGS;
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null)
    throw new UsageError('LOCAL_RUNTIME_SETTINGS must be a JSON object');
  const result: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'string') result[k] = v;
  }
  return result;
}

function printBanner(host: LocalHost): void {
  const lines: string[] = [
    '',
    'Azure Functions local runtime (Node.js v4 programming model, Durable engine on SQLite)',
    '',
  ];
  if (host.emulators && host.emulators.banner.length > 0) {
    lines.push('Embedded defaults (no real credentials configured):');
    for (const line of host.emulators.banner) lines.push(`        ${line}`);
    lines.push('');
  }
  lines.push('Functions:', '');
  const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
  const httpNames = new Set(host.httpFunctions.map((f) => f.name));
  for (const f of [...host.httpFunctions].sort(byName)) {
    lines.push(
      `        ${f.name}: [${f.methods.join(',')}] ${f.url}${f.authLevel === 'anonymous' ? '' : ` (authLevel ${f.authLevel})`}`,
    );
    lines.push('');
  }
  const others = host.app.functions
    .filter(
      (fn) => !httpNames.has(fn.metadata.name) && !host.disabledFunctions.has(fn.metadata.name),
    )
    .map((fn) => ({
      name: fn.metadata.name,
      trigger: Object.values(fn.metadata.bindings).find((b) => /trigger$/i.test(b.type)),
    }));
  for (const fn of others.sort(byName)) {
    lines.push(`        ${fn.name}: ${fn.trigger?.type ?? 'unknown'}`);
    lines.push('');
  }
  for (const name of [...host.disabledFunctions].sort()) {
    lines.push(`        ${name}: disabled`, '');
  }
  lines.push(
    `Durable management API: ${host.url}/runtime/webhooks/durabletask (task hub ${host.hostJson.hubName})`,
  );
  lines.push(`Dashboard: ${host.dashboardUrl} (this machine only)`);
  lines.push(
    `Data: ${host.dataDir} (database ${host.databasePath}, keys ${path.join(host.dataDir, 'host-keys.json')})`,
  );
  lines.push(
    `Settings: ${host.settingsFile ?? '(none)'}${host.settingsCreatedFromSample ? ' (created from local.settings.sample.json)' : ''}, overridden by the environment`,
  );
  lines.push('Keys:');
  lines.push(`        function (default): ${host.keys.functionKey}`);
  lines.push(`        master:             ${host.keys.masterKey}`);
  lines.push(`        system (durabletask_extension): ${host.keys.systemKey}`);
  const generated = Object.entries(host.generatedSecrets);
  if (generated.length > 0) {
    lines.push(
      `Generated secrets (app-declared, kept in ${path.join(host.dataDir, 'generated-secrets.json')}; set them to override):`,
    );
    for (const [name, value] of generated) lines.push(`        ${name}: ${value}`);
  }
  if (host.clock instanceof ManualClock) {
    lines.push(
      `Manual clock at ${host.clock.now().toISOString()}: POST /admin/test/clock/advance?ms=N (master key)`,
    );
  }
  lines.push('', 'Press Ctrl+C to stop.', '');
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = consoleLog(args.verbose ? 'debug' : 'info');
  // Only a peek for Host.LocalHttpPort: creating the file from the sample is the host's job (and banner line).
  const fileSettings = resolveSettings({
    appDir: args.app,
    file: args.settingsFile,
    createFromSample: false,
  });
  const envPort = process.env.PORT ? Number(process.env.PORT) : undefined;
  const port =
    args.port ??
    (Number.isInteger(envPort) ? envPort : undefined) ??
    fileSettings.host.localHttpPort ??
    7071;
  const manual = args.clock === 'manual';
  const host = await startLocalHost({
    appDir: args.app,
    port,
    hostname: args.host,
    clock: manual
      ? new ManualClock(args.clockStart ? new Date(args.clockStart) : new Date())
      : 'system',
    databasePath: args.database,
    dataDir: args.data,
    settings: envSettings(),
    settingsFile: args.settingsFile,
    servicesFile: args.servicesFile,
    log,
    emulators: args.emulators === 'always' ? true : args.emulators === 'auto' ? 'auto' : false,
    testEndpoints: manual,
  });
  printBanner(host);
  if (args.readyJson) {
    console.log(`${READY_MARKER}${JSON.stringify({ url: host.url, keys: host.keys })}`);
  }

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log(
        'warn',
        `Second ${signal}: exiting without waiting (persisted work resumes on the next start).`,
      );
      process.exit(130);
    }
    log(
      'info',
      `${signal} received: stopping (waiting for in-flight work; press Ctrl+C again to force).`,
    );
    host.stop().then(
      () => {
        log('info', 'Stopped.');
        process.exit(0);
      },
      (e: unknown) => {
        log('error', `Shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  reportMemoryOnSignal(log);
  // A stray promise or callback in app code must not take the whole host (and every other instance) down.
  process.on('unhandledRejection', (reason: unknown) => {
    log(
      'error',
      `Unhandled promise rejection in app code: ${reason instanceof Error ? reason.message : String(reason)}`,
    );
  });
  process.on('uncaughtException', (error: Error) => {
    log('error', `Uncaught exception in app code: ${error.message}`);
  });
}

/**
 * Started with `--expose-gc` (the benchmark does), SIGUSR2 runs a full GC and logs one
 * `[memory] {...}` line: what the host keeps after its garbage is gone, not just its current RSS.
 */
function reportMemoryOnSignal(log: (level: 'info', line: string) => void): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  process.on('SIGUSR2', () => {
    gc();
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    log('info', `[memory] ${JSON.stringify({ rss, heapUsed, heapTotal, external })}`);
  });
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    if (e.message) console.error(e.message);
    console.error(
      'Usage: node packages/local-runtime/dist/cli.js [--port 7071] [--host 127.0.0.1] [--app DIR] [--data DIR] [--database FILE|:memory:]\n' +
        '       [--settings-file FILE | --no-settings-file] [--services FILE] [--emulators auto|always|never] [--clock system|manual] [--clock-start ISO]\n' +
        '       [--ready-json] [--verbose]',
    );
    process.exit(2);
  }
  console.error(`The local host could not start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
