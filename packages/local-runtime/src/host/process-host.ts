/**
 * Child-process mode: the host runs `cli.js` in its own Node process (the crash test kills it with SIGKILL),
 * and a test drives its manual clock through the admin-only `/admin/test/*` endpoints.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostKeys } from '../keys';

export const READY_MARKER = '@@local-runtime-ready ';
const MAX_KEPT_OUTPUT = 1024 * 1024;

export interface LocalHostProcessOptions {
  readonly appDir?: string;
  readonly port?: number;
  readonly clock?: 'system' | 'manual';
  /** Start time of the manual clock (ISO). Default: now. */
  readonly clockStart?: string;
  readonly databasePath?: string;
  readonly dataDir?: string;
  /** Settings that win over the settings file and the environment. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Settings file relative to `appDir`, or `false` for none. */
  readonly settingsFile?: string | false;
  /** The app's local services hook. Default: `<appDir>/local.services.cjs`. */
  readonly servicesFile?: string;
  /** Start the embedded emulators when settings are missing (default false in this mode). */
  readonly emulators?: boolean | 'auto';
  /** Options for the child's Node itself (e.g. `--cpu-prof`, which NODE_OPTIONS does not accept). */
  readonly nodeArgs?: readonly string[];
  /** Path of the compiled CLI. Default: this package's `dist/cli.js`. */
  readonly cliPath?: string;
  /** Milliseconds to wait for the ready line. Default 30 s. */
  readonly startTimeoutMs?: number;
  /** Receives every output line of the child. */
  readonly onOutput?: (line: string) => void;
}

export interface LocalHostProcess {
  readonly url: string;
  readonly keys: HostKeys;
  readonly pid: number;
  /** Moves the child's manual clock forward; resolves with its new time. */
  advanceClock(ms: number): Promise<Date>;
  /** Resolves once the child's engine has no runnable work left. */
  whenIdle(): Promise<void>;
  /** Sends a signal without waiting. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then waits for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the exit code (or null after a signal) once the child has exited. */
  readonly exited: Promise<number | null>;
  /** Everything the child printed so far. */
  output(): string;
}

/**
 * The package's compiled CLI, `dist/cli.js`. From the TypeScript sources (jest) too: `src/host/` and
 * `dist/host/` are equally deep, and `npm test` builds in `pretest`.
 */
function defaultCliPath(): string {
  return path.resolve(__dirname, '..', '..', 'dist', 'cli.js');
}

function isKeys(value: unknown): value is HostKeys {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.masterKey === 'string' &&
    typeof v.functionKey === 'string' &&
    typeof v.systemKey === 'string'
  );
}

export async function startLocalHostProcess(
  options: LocalHostProcessOptions = {},
): Promise<LocalHostProcess> {
  const cliPath = options.cliPath ?? defaultCliPath();
  if (!fs.existsSync(cliPath)) {
    throw new Error(`${cliPath} does not exist: run "npm run build" first.`);
  }
  const args = [
    ...(options.nodeArgs ?? []),
    cliPath,
    '--port',
    String(options.port ?? 0),
    '--ready-json',
  ];
  if (options.appDir) args.push('--app', path.resolve(options.appDir));
  if (options.clock) args.push('--clock', options.clock);
  if (options.clockStart) args.push('--clock-start', options.clockStart);
  if (options.databasePath) args.push('--database', options.databasePath);
  if (options.dataDir) args.push('--data', path.resolve(options.dataDir));
  if (options.settingsFile === false) args.push('--no-settings-file');
  else if (options.settingsFile) args.push('--settings-file', options.settingsFile);
  if (options.servicesFile) args.push('--services', options.servicesFile);
  const emulators = options.emulators ?? false;
  args.push('--emulators', emulators === true ? 'always' : emulators === 'auto' ? 'auto' : 'never');

  const child: ChildProcess = spawn(process.execPath, args, {
    // Settings travel in one variable so that they do not leak into unrelated environment names.
    env: { ...process.env, LOCAL_RUNTIME_SETTINGS: JSON.stringify(options.settings ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
  });

  const ready = new Promise<{ url: string; keys: HostKeys }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `The local host did not start within ${options.startTimeoutMs ?? 30000} ms.\n${output}`,
        ),
      );
    }, options.startTimeoutMs ?? 30000);
    let pending = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      // Long benchmarks print a lot; keep the most recent part for error messages.
      if (output.length > MAX_KEPT_OUTPUT) output = output.slice(-MAX_KEPT_OUTPUT / 2);
      pending += text;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline).replace(/\r$/, '');
        pending = pending.slice(newline + 1);
        options.onOutput?.(line);
        if (line.startsWith(READY_MARKER)) {
          try {
            const parsed = JSON.parse(line.slice(READY_MARKER.length)) as {
              url?: unknown;
              keys?: unknown;
            };
            if (typeof parsed.url === 'string' && isKeys(parsed.keys)) {
              clearTimeout(timer);
              resolve({ url: parsed.url, keys: parsed.keys });
            }
          } catch {
            // Not our line after all.
          }
        }
        newline = pending.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`The local host exited (code ${String(code)}) before it was ready.\n${output}`),
      );
    });
  });
  const { url, keys } = await ready;

  const admin = async (method: string, pathAndQuery: string): Promise<unknown> => {
    const response = await fetch(`${url}${pathAndQuery}`, {
      method,
      headers: { 'x-functions-key': keys.masterKey },
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${pathAndQuery} answered ${response.status}: ${text}`);
    }
    return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
  };

  return {
    url,
    keys,
    pid: child.pid ?? -1,
    advanceClock: async (ms) => {
      const result = (await admin('POST', `/admin/test/clock/advance?ms=${ms}`)) as
        { now?: string } | undefined;
      return new Date(result?.now ?? Number.NaN);
    },
    whenIdle: async () => {
      await admin('POST', '/admin/test/idle');
    },
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
      }
      return exited;
    },
    exited,
    output: () => output,
  };
}
