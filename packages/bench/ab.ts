/**
 * `npm run bench -- --baseline <git-ref>`: the same load against this tree's host and a baseline's, side by side.
 *
 * The baseline is checked out in a temporary git worktree (node_modules linked from this tree) and built there.
 * Then, for every scenario, each host runs in turn (the order alternates per round, so drift in the machine's
 * load hits both alike) on fresh data, against one Twilio emulator in this process that is reset in between,
 * and the same load driver (`packages/bench/driver.mjs`, a child process) measures it. Only ratios from one run mean
 * anything on a shared machine: the table prints both figures and candidate ÷ baseline.
 *
 * Options: --baseline REF (required), --quick (small counts, for iteration), --levels 16,64,256,
 * --flows N (per level), --rounds N, --waiting N (verifications left waiting for the memory figure; 0 skips),
 * --timers N (orchestrations whose timers fall due in the same second, for timer lateness; 0 skips),
 * --long-history N (an instance with about N history events next to a c16 load of short ones; 0 skips),
 * --candidate-only (runs only this tree, for scenarios too long to run twice),
 * --keep-baseline (reuse and keep the built baseline under the temp dir, keyed by commit),
 * --outbox-wait-ms N (the driver reads the outbox with the Twilio emulator's long poll, `waitMs=N`, instead of
 * polling it every 5 ms as the figures were taken; 0, the default, polls),
 * --cpu-prof DIR / --heap-prof DIR (profile the candidate host; written when it stops).
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator } from '@local/emulators';
import { benchAppSettings, benchStorage, closeBenchStorage, plainAppSettings } from './settings';
import { ascending, percentile } from './stats';
import type { TwilioEmulator } from '@local/emulators';
import { startLocalHostProcess } from '@local/durable-runtime';
import type { LocalHostProcess } from '@local/durable-runtime';

// Compiled to packages/bench/dist/; the app under test is the repository root.
const benchDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(benchDir, '..', '..');
const DRIVER = path.join(benchDir, 'driver.mjs');
/** The runtime's CLI in a tree of this layout (npm workspaces) or of the one before it. */
const CLI = path.join('packages', 'local-runtime', 'dist', 'cli.js');
const CLI_BEFORE_WORKSPACES = path.join('dist', 'local-runtime', 'src', 'cli.js');

function cliOf(dir: string): string {
  return fs.existsSync(path.join(dir, 'packages', 'local-runtime'))
    ? path.join(dir, CLI)
    : path.join(dir, CLI_BEFORE_WORKSPACES);
}

interface AbOptions {
  baseline: string;
  levels: number[];
  flows: number;
  warmup: number;
  rounds: number;
  latencyFlows: number;
  waiting: number;
  /** Orchestrations whose timers all fall due in the same second (0 skips the scenario). */
  timers: number;
  /** History length of the long-history scenario (0 skips it). */
  longHistory: number;
  keepBaseline: boolean;
  /** `waitMs` of the driver's outbox reads (0: it polls, as the figures were taken). */
  outboxWaitMs: number;
  /** Runs only this tree (long scenarios such as 100,000 waiting); the baseline column stays empty. */
  candidateOnly: boolean;
  cpuProfDir: string | undefined;
  heapProfDir: string | undefined;
}

/** Flows before the fresh-host latency figure counts: the host has just started. */
const FRESH_HOST_WARMUP = 20;

function positive(flag: string, raw: string | undefined, allowZero = false): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new Error(`${flag} needs a ${allowZero ? 'non-negative' : 'positive'} integer`);
  return n;
}

export function parseAbArgs(argv: readonly string[]): AbOptions | undefined {
  if (!argv.includes('--baseline')) return undefined;
  const quick = argv.includes('--quick');
  const o: AbOptions = {
    baseline: '',
    levels: quick ? [16, 256] : [16, 64, 256, 1024],
    flows: quick ? 300 : 2000,
    warmup: quick ? 50 : 200,
    rounds: 1,
    latencyFlows: quick ? 100 : 300,
    waiting: quick ? 2000 : 20_000,
    timers: quick ? 1000 : 10_000,
    longHistory: quick ? 2000 : 10_000,
    keepBaseline: false,
    outboxWaitMs: 0,
    candidateOnly: false,
    cpuProfDir: undefined,
    heapProfDir: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--baseline':
        o.baseline = value();
        break;
      case '--quick':
        break; // read above: it only changes the defaults
      case '--candidate-only':
        o.candidateOnly = true;
        break;
      case '--keep-baseline':
        o.keepBaseline = true;
        break;
      case '--outbox-wait-ms':
        o.outboxWaitMs = positive(flag, value(), true);
        break;
      case '--levels':
        o.levels = value()
          .split(',')
          .map((v) => positive('--levels', v));
        break;
      case '--flows':
        o.flows = positive(flag, value());
        break;
      case '--rounds':
        o.rounds = positive(flag, value());
        break;
      case '--waiting':
        o.waiting = positive(flag, value(), true);
        break;
      case '--timers':
        o.timers = positive(flag, value(), true);
        break;
      case '--long-history':
        o.longHistory = positive(flag, value(), true);
        break;
      case '--cpu-prof':
        o.cpuProfDir = path.resolve(value());
        break;
      case '--heap-prof':
        o.heapProfDir = path.resolve(value());
        break;
      default:
        throw new Error(`Unknown option ${flag}`);
    }
  }
  if (!o.baseline) throw new Error('--baseline needs a git ref');
  return o;
}

interface Tree {
  label: 'baseline' | 'candidate';
  dir: string;
}

function git(args: readonly string[], cwd = repoRoot): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/** Checks out and builds the baseline; returns its directory and how to remove it. */
function prepareBaseline(ref: string, keep: boolean): { dir: string; remove: () => void } {
  const sha = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  const dir = path.join(os.tmpdir(), `sms-bench-baseline-${sha.slice(0, 12)}`);
  const remove = (): void => {
    if (keep) return;
    git(['worktree', 'remove', '--force', dir]);
  };
  if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(cliOf(dir)))
    return { dir, remove };
  if (fs.existsSync(dir)) git(['worktree', 'remove', '--force', dir]);
  console.error(`[bench] building baseline ${ref} (${sha.slice(0, 12)}) in ${dir}`);
  git(['worktree', 'add', '--detach', dir, sha]);
  // Same dependencies as this tree (a baseline needs no package this tree dropped for the figures to mean much).
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const tsc = (args: readonly string[]): void => {
    execFileSync(
      process.execPath,
      [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), ...args],
      { cwd: dir, stdio: 'inherit' },
    );
  };
  // The shared node_modules links the workspace packages of this tree, so a workspace baseline builds only
  // its runtime and its app (the two things the A/B runs), never its packages that would import ours.
  if (fs.existsSync(path.join(dir, 'packages', 'local-runtime'))) {
    tsc(['-b', path.join('packages', 'local-runtime', 'tsconfig.build.json')]);
  }
  tsc(['-p', 'tsconfig.build.json']);
  return { dir, remove };
}

/** Node options for the profiled candidate host; profiles are written when it exits cleanly. */
function profileOptions(tree: Tree, o: AbOptions, scenario: string): string[] {
  if (tree.label !== 'candidate') return [];
  const parts: string[] = [];
  if (o.cpuProfDir) parts.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`);
  if (o.heapProfDir) parts.push('--heap-prof', `--heap-prof-dir=${o.heapProfDir}`);
  if (parts.length > 0) console.error(`[bench] profiling the candidate during ${scenario}`);
  return parts;
}

async function withHost<T>(
  tree: Tree,
  twilio: TwilioEmulator,
  timeoutSeconds: number,
  nodeArgs: readonly string[],
  body: (host: LocalHostProcess) => Promise<T>,
): Promise<T> {
  twilio.reset();
  const storage = await benchStorage();
  const settings = benchAppSettings(twilio.appSettings(), storage.connectionString, timeoutSeconds);
  return withApp(tree, tree.dir, settings, nodeArgs, body);
}

/** Runs `body` against a fresh host of `tree` serving the app in `appDir`, on fresh data. */
async function withApp<T>(
  tree: Tree,
  appDir: string,
  settings: Record<string, string>,
  nodeArgs: readonly string[],
  body: (host: LocalHostProcess) => Promise<T>,
): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${tree.label}-`));
  const host = await startLocalHostProcess({
    appDir,
    cliPath: cliOf(tree.dir),
    dataDir,
    databasePath: path.join(dataDir, 'durable.sqlite'),
    settingsFile: false,
    emulators: false,
    settings,
    startTimeoutMs: 60_000,
    nodeArgs,
  });
  try {
    return await body(host);
  } finally {
    await host.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

type DriverSummary = Record<string, unknown> & {
  flowsPerSec?: number;
  errors?: number;
  errorKinds?: Record<string, number>;
  throttled?: number;
  statusPollsPerFlow?: number;
  outboxPollsPerFlow?: number;
  startMs?: { p50: number; p99: number };
  submitToCompletedMs?: { p50: number; p99: number };
};

function runDriver(args: readonly string[]): Promise<DriverSummary & { driverCpuMs: number }> {
  const childrenBefore = reapedChildrenCpuMs();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DRIVER, ...args, '--quiet'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', () => {
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        const summary = JSON.parse(last) as DriverSummary;
        // 'exit' comes after the child was reaped, so its CPU time is in this process's children's.
        resolve({ ...summary, driverCpuMs: reapedChildrenCpuMs() - childrenBefore });
      } catch {
        reject(new Error(`the driver printed no summary: ${out.slice(-500)}`));
      }
    });
  });
}

/** CPU time (user + system) the process has used so far, ms: host cost per flow is less noisy than flows/s. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), 1-based from field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** CPU time of this process's exited and reaped children (cutime + cstime), ms. */
function reapedChildrenCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** `getconf CLK_TCK` on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

function cpuUsageMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match?.[1] ? Number(match[1]) * 1024 : Number.NaN;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The next unused number of the fill range. The guard's counters live in the one Azurite of the bench
 * process, so a host that reused the previous host's numbers would start on counter rows it has never
 * seen (each write a conflict and a re-read first): every fill takes numbers no earlier fill used.
 */
let nextWaitingNumber = 3_000_000;

interface FillMarkValue {
  readonly done: number;
  readonly at: number;
  readonly hostCpu: number;
  readonly benchCpu: number;
}

/** One quarter of a fill: its rate, and CPU per start in the host and in this process. */
interface FillQuarter {
  readonly startsPerSec: number;
  readonly hostCpuMs: number;
  /** This process: the fill's HTTP client, the Twilio emulator and Azurite (the guard's counters). */
  readonly benchCpuMs: number;
}

function fillMark(host: LocalHostProcess, done: number): FillMarkValue {
  return {
    done,
    at: performance.now(),
    hostCpu: cpuMs(host.pid),
    benchCpu: cpuUsageMs(process.cpuUsage()),
  };
}

/** Starts `count` verifications (each waits for its code) with `concurrency` in flight; returns starts/s and
 * the first and last quarter. */
async function fillWaiting(
  host: LocalHostProcess,
  twilio: TwilioEmulator,
  count: number,
  concurrency: number,
): Promise<{ startsPerSec: number; throttled: number; errors: number; quarters: FillQuarter[] }> {
  let next = 0;
  let done = 0;
  let throttled = 0;
  let errors = 0;
  const base = nextWaitingNumber;
  nextWaitingNumber += count;
  const t0 = performance.now();
  // Snapshots after 0, ¼, ¾ and all of the starts: the first and last quarter show how the cost of
  // a start changes as the stores grow, and in which process.
  const marks = [fillMark(host, 0)];
  const quarterEnds = new Set([Math.floor(count / 4), Math.floor((3 * count) / 4), count]);
  const settled = (): void => {
    done++;
    if (quarterEnds.has(done)) marks.push(fillMark(host, done));
  };
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const phone = `+1425${String(base + i).padStart(7, '0')}`;
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(phone),
        }).catch(() => undefined);
        await res?.arrayBuffer();
        if (res?.status === 202) break;
        if (res?.status === 429 && attempt < 20) {
          throttled++;
          await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
          continue;
        }
        errors++;
        break;
      }
      settled();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  // Waiting means the SMS went out and the instance sits on its event/timer race.
  const deadline = Date.now() + 600_000;
  while (twilio.requestCount() < count - errors && Date.now() < deadline) await sleep(50);
  const quarter = (from: FillMarkValue | undefined, to: FillMarkValue | undefined): FillQuarter => {
    if (from === undefined || to === undefined)
      return { startsPerSec: NaN, hostCpuMs: NaN, benchCpuMs: NaN };
    const n = to.done - from.done;
    return {
      startsPerSec: Number(((n * 1000) / (to.at - from.at)).toFixed(1)),
      hostCpuMs: Number(((to.hostCpu - from.hostCpu) / n).toFixed(2)),
      benchCpuMs: Number(((to.benchCpu - from.benchCpu) / n).toFixed(2)),
    };
  };
  return {
    quarters: [quarter(marks[0], marks[1]), quarter(marks[2], marks[3])],
    startsPerSec: Number(((count * 1000) / (performance.now() - t0)).toFixed(1)),
    throttled,
    errors,
  };
}

type Figures = Record<string, number>;

function pickDriver(prefix: string, s: DriverSummary): Figures {
  const f: Figures = {};
  if (typeof s.flowsPerSec === 'number') f[`${prefix} flows/s`] = s.flowsPerSec;
  if (s.startMs) f[`${prefix} start p50 ms`] = s.startMs.p50;
  if (s.submitToCompletedMs) {
    f[`${prefix} submit→Completed p50 ms`] = s.submitToCompletedMs.p50;
    f[`${prefix} submit→Completed p99 ms`] = s.submitToCompletedMs.p99;
  }
  f[`${prefix} errors`] = numberOrNaN(s.errors);
  f[`${prefix} throttled`] = typeof s.throttled === 'number' ? s.throttled : 0;
  return f;
}

/** A figure the driver's summary may lack (an older driver): NaN prints as missing, never as 0. */
function numberOrNaN(value: unknown): number {
  return typeof value === 'number' ? value : Number.NaN;
}

/**
 * The driver's outbox URL. Polled, each read is a request to the emulator in this process whether or not the SMS
 * is there yet: CPU that the host under test then lacks on a 2-core machine. With `waitMs` the emulator answers
 * a read when the SMS arrives, so reading costs one request per flow unless the SMS takes longer than `waitMs`.
 */
function outboxTemplate(twilio: TwilioEmulator, o: AbOptions): string {
  const wait = o.outboxWaitMs > 0 ? `&waitMs=${o.outboxWaitMs}` : '';
  return `${twilio.url}/_emulator/messages?to={to}${wait}`;
}

async function scenarioLevel(
  tree: Tree,
  twilio: TwilioEmulator,
  o: AbOptions,
  c: number,
): Promise<Figures> {
  const outbox = outboxTemplate(twilio, o);
  return withHost(tree, twilio, 600, profileOptions(tree, o, `c${c}`), async (host) => {
    const cpuBefore = cpuMs(host.pid);
    const benchCpuBefore = process.cpuUsage();
    const s = await runDriver([
      host.url,
      '--flows',
      String(o.flows),
      '--concurrency',
      String(c),
      '--warmup',
      String(o.warmup),
      '--outbox',
      outbox,
    ]);
    if (s.errorKinds && Object.keys(s.errorKinds).length > 0)
      console.error(`[bench] ${tree.label} c${c} errorKinds ${JSON.stringify(s.errorKinds)}`);
    const flows = o.flows + o.warmup;
    return {
      ...pickDriver(`c${c}`, s),
      [`c${c} host CPU ms per flow`]: Number(((cpuMs(host.pid) - cpuBefore) / flows).toFixed(2)),
      // The emulators (Twilio, Azurite) run in this process and the driver in a child: the same two
      // cores serve them, so their cost per flow bounds the host's flows/s as well.
      [`c${c} emulators CPU ms per flow`]: Number(
        (cpuUsageMs(process.cpuUsage(benchCpuBefore)) / flows).toFixed(2),
      ),
      [`c${c} driver CPU ms per flow`]: Number((s.driverCpuMs / flows).toFixed(2)),
      [`c${c} status polls per flow`]: numberOrNaN(s.statusPollsPerFlow),
      [`c${c} outbox polls per flow`]: numberOrNaN(s.outboxPollsPerFlow),
    };
  });
}

/**
 * c1 with `--poll-ms 1`: the latency of one answer on an otherwise idle host. Measured twice, each on a fresh
 * host: after a warm-up as long as the levels' (the steady state of a host that has been serving, the figure
 * the target is about) and after 20 flows (a host just started, whose JIT has not yet optimised the hot paths).
 */
async function scenarioLatency(
  tree: Tree,
  twilio: TwilioEmulator,
  o: AbOptions,
  warmup: 'levels' | 'fresh',
): Promise<Figures> {
  const outbox = outboxTemplate(twilio, o);
  const prefix = warmup === 'levels' ? 'c1 poll 1 ms' : 'c1 poll 1 ms fresh host';
  return withHost(tree, twilio, 600, [], async (host) => {
    const s = await runDriver([
      host.url,
      '--flows',
      String(o.latencyFlows),
      '--concurrency',
      '1',
      '--warmup',
      String(warmup === 'levels' ? o.warmup : FRESH_HOST_WARMUP),
      '--poll-ms',
      '1',
      '--outbox',
      outbox,
    ]);
    const f = pickDriver(prefix, s);
    return {
      [`${prefix} submit→Completed p50 ms`]: f[`${prefix} submit→Completed p50 ms`]!,
      [`${prefix} submit→Completed p99 ms`]: f[`${prefix} submit→Completed p99 ms`]!,
      // 1 means the first status request after the event already saw Completed.
      [`${prefix} status polls per flow`]: numberOrNaN(s.statusPollsPerFlow),
    };
  });
}

async function scenarioWaiting(tree: Tree, twilio: TwilioEmulator, o: AbOptions): Promise<Figures> {
  // Only this tree's CLI answers SIGUSR2 with a GC and a `[memory]` line (to an older one it is fatal).
  const gcArgs = tree.label === 'candidate' ? ['--expose-gc'] : [];
  return withHost(tree, twilio, 3600, gcArgs, async (host) => {
    const before = rssBytes(host.pid);
    const fill = await fillWaiting(host, twilio, o.waiting, 32);
    await sleep(2000);
    const rss = rssBytes(host.pid);
    const [first, last] = fill.quarters;
    const figures: Figures = {
      [`waiting ${o.waiting}: starts/s while filling`]: fill.startsPerSec,
      [`waiting ${o.waiting}: first quarter starts/s`]: first?.startsPerSec ?? NaN,
      [`waiting ${o.waiting}: last quarter starts/s`]: last?.startsPerSec ?? NaN,
      [`waiting ${o.waiting}: first quarter host CPU ms per start`]: first?.hostCpuMs ?? NaN,
      [`waiting ${o.waiting}: last quarter host CPU ms per start`]: last?.hostCpuMs ?? NaN,
      [`waiting ${o.waiting}: first quarter bench process CPU ms per start`]:
        first?.benchCpuMs ?? NaN,
      [`waiting ${o.waiting}: last quarter bench process CPU ms per start`]:
        last?.benchCpuMs ?? NaN,
      [`waiting ${o.waiting}: RSS MiB`]: Number((rss / 2 ** 20).toFixed(1)),
      [`waiting ${o.waiting}: bytes per waiting instance`]: Math.round((rss - before) / o.waiting),
      [`waiting ${o.waiting}: start errors`]: fill.errors,
    };
    if (gcArgs.length > 0) {
      const memory = await memoryAfterGc(host);
      figures[`waiting ${o.waiting}: RSS MiB after GC`] = Number((memory.rss / 2 ** 20).toFixed(1));
      figures[`waiting ${o.waiting}: heap used MiB after GC`] = Number(
        (memory.heapUsed / 2 ** 20).toFixed(1),
      );
    }
    return figures;
  });
}

/** Asks the candidate host for a full GC (SIGUSR2, see the CLI) and reads the line it logs. */
async function memoryAfterGc(host: LocalHostProcess): Promise<{ rss: number; heapUsed: number }> {
  const seen = host.output().length;
  host.kill('SIGUSR2');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = /\[memory\] (\{.*\})/.exec(host.output().slice(seen));
    if (match?.[1]) return JSON.parse(match[1]) as { rss: number; heapUsed: number };
    await sleep(100);
  }
  throw new Error('the host logged no [memory] line after SIGUSR2');
}

const TIMERS_APP = path.join(benchDir, 'apps', 'timers');

/** A fresh host of `tree` serving the timer scenarios' app (the same app for both trees). */
async function withTimersApp<T>(
  tree: Tree,
  body: (host: LocalHostProcess) => Promise<T>,
): Promise<T> {
  const storage = await benchStorage();
  return withApp(tree, TIMERS_APP, plainAppSettings(storage.connectionString), [], body);
}

/** Every Completed instance's output, through the management API (paged as the extension pages). */
async function completedOutputs(host: LocalHostProcess): Promise<Map<string, unknown>> {
  const outputs = new Map<string, unknown>();
  let token: string | null = null;
  do {
    const res: Response = await fetch(
      `${host.url}/runtime/webhooks/durabletask/instances?runtimeStatus=Completed&top=1000&showInput=false`,
      {
        headers: {
          'x-functions-key': host.keys.systemKey,
          ...(token === null ? {} : { 'x-ms-continuation-token': token }),
        },
      },
    );
    const page = (await res.json()) as { instanceId: string; output: unknown }[];
    for (const row of page) outputs.set(row.instanceId, row.output);
    token = res.headers.get('x-ms-continuation-token');
  } while (token !== null);
  return outputs;
}

/** For each instance, how long after `fireAt` its history records the TimerFired event. */
async function timerFiredLateness(
  host: LocalHostProcess,
  ids: readonly string[],
  fireAt: number,
): Promise<number[]> {
  const lateness: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const res = await fetch(
          `${host.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true&showInput=false`,
          { headers: { 'x-functions-key': host.keys.systemKey } },
        );
        const status = (await res.json()) as {
          historyEvents?: { EventType: string; Timestamp: string }[];
        };
        const fired = status.historyEvents?.find((e) => e.EventType === 'TimerFired');
        if (fired) lateness.push(Date.parse(fired.Timestamp) - fireAt);
      }
    }),
  );
  return lateness;
}

/**
 * `count` orchestrations, each waiting for one timer at the same instant (far enough ahead for the
 * fill to finish first). Two latenesses: when the engine recorded TimerFired (history), and when the
 * orchestration ran the episode that saw it (its output is that episode's replay clock). Meanwhile two clients keep
 * asking for one instance's status, to show whether the host still answers while the timers fire.
 */
async function scenarioTimers(tree: Tree, o: AbOptions): Promise<Figures> {
  return withTimersApp(tree, async (host) => {
    const count = o.timers;
    // Room for the fill at 125 starts/s or better, plus 10 s.
    const fireAt = Date.now() + 10_000 + count * 8;
    const ids: string[] = [];
    let next = 0;
    let errors = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < count) {
          next++;
          const res = await fetch(`${host.url}/api/wait-until`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ fireAt: new Date(fireAt).toISOString() }),
          }).catch(() => undefined);
          if (res?.status === 202) ids.push(((await res.json()) as { id: string }).id);
          else errors++;
        }
      }),
    );
    const filledEarly = Date.now() < fireAt - 1000;
    await sleep(Math.max(0, fireAt - 500 - Date.now()));
    const statusLatencies: number[] = [];
    let measuring = true;
    const probe = `${host.url}/runtime/webhooks/durabletask/instances/${ids[0] ?? 'none'}`;
    const probes = Array.from({ length: 2 }, async () => {
      while (measuring) {
        const t0 = performance.now();
        const res = await fetch(probe, { headers: { 'x-functions-key': host.keys.systemKey } });
        await res.arrayBuffer();
        statusLatencies.push(performance.now() - t0);
        await sleep(20);
      }
    });
    const deadline = Date.now() + 120_000 + count * 10;
    let outputs = new Map<string, unknown>();
    await sleep(Math.max(0, fireAt - Date.now()));
    while (Date.now() < deadline) {
      await sleep(1000);
      outputs = await completedOutputs(host);
      if (outputs.size >= ids.length) break;
    }
    measuring = false;
    await Promise.all(probes);
    const lateness = ascending([...outputs.values()].map((v) => Date.parse(String(v)) - fireAt));
    const firing = ascending(await timerFiredLateness(host, [...outputs.keys()], fireAt));
    const status = ascending(statusLatencies);
    return {
      [`timers ${count}: fill done before due (1 = yes)`]: filledEarly ? 1 : 0,
      [`timers ${count}: start errors`]: errors,
      [`timers ${count}: fired`]: outputs.size,
      [`timers ${count}: TimerFired lateness p50 ms`]: Math.round(percentile(firing, 50)),
      [`timers ${count}: TimerFired lateness p99 ms`]: Math.round(percentile(firing, 99)),
      [`timers ${count}: episode lateness p50 ms`]: Math.round(percentile(lateness, 50)),
      [`timers ${count}: episode lateness p99 ms`]: Math.round(percentile(lateness, 99)),
      [`timers ${count}: episode lateness max ms`]: Math.round(percentile(lateness, 100)),
      [`timers ${count}: status p99 ms while firing`]: Math.round(percentile(status, 99)),
      [`timers ${count}: status max ms while firing`]: Math.round(percentile(status, 100)),
    };
  });
}

interface LoadWindow {
  startsPerSec: number;
  p50: number;
  p99: number;
  max: number;
}

/** 16 clients starting short orchestrations (a timer already due) for `ms`: the load beside the long one. */
async function shortLoad(host: LocalHostProcess, ms: number): Promise<LoadWindow> {
  const latencies: number[] = [];
  const end = Date.now() + ms;
  const body = JSON.stringify({ fireAt: new Date(0).toISOString() });
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const res = await fetch(`${host.url}/api/wait-until`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const sorted = ascending(latencies);
  return {
    startsPerSec: Number(((latencies.length * 1000) / ms).toFixed(1)),
    p50: Math.round(percentile(sorted, 50)),
    p99: Math.round(percentile(sorted, 99)),
    max: Math.round(percentile(sorted, 100)),
  };
}

interface LongStatus {
  runtimeStatus: string;
  customStatus: unknown;
  historyEvents?: { EventType: string; Timestamp: string }[];
}

/**
 * One orchestration whose history grows to about `events` (a fan-out of half as many activities),
 * then calls activities one at a time, so every episode replays it all; meanwhile the short-load
 * clients measure what that does to everyone else, against the same load without it.
 */
async function scenarioLongHistory(tree: Tree, o: AbOptions): Promise<Figures> {
  return withTimersApp(tree, async (host) => {
    const key = { 'x-functions-key': host.keys.systemKey };
    await shortLoad(host, 3000); // warm-up
    const alone = await shortLoad(host, 10_000);
    const started = await fetch(`${host.url}/api/long-history`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fanOut: Math.round(o.longHistory / 2), sequential: 100_000 }),
    });
    const { id } = (await started.json()) as { id: string };
    const statusUrl = `${host.url}/runtime/webhooks/durabletask/instances/${id}`;
    const deadline = Date.now() + 600_000;
    for (;;) {
      const st = (await (await fetch(statusUrl, { headers: key })).json()) as LongStatus;
      if (st.customStatus === 'sequential' || Date.now() > deadline) break;
      await sleep(500);
    }
    const from = Date.now();
    const beside = await shortLoad(host, 10_000);
    const history = (await (
      await fetch(`${statusUrl}?showHistory=true&showInput=false`, { headers: key })
    ).json()) as LongStatus;
    await fetch(`${statusUrl}/terminate?reason=bench`, { method: 'POST', headers: key });
    const events = history.historyEvents ?? [];
    // One sequential step = one episode replaying everything + one activity: TaskCompleted to TaskCompleted.
    const completions = events
      .filter((e) => e.EventType === 'TaskCompleted')
      .map((e) => Date.parse(e.Timestamp))
      .filter((t) => t >= from);
    const steps = ascending(completions.slice(1).map((t, i) => t - completions[i]!));
    const n = o.longHistory;
    return {
      [`long history ${n}: history view events when read`]: events.length,
      [`long history ${n}: sequential step p50 ms`]: Math.round(percentile(steps, 50)),
      [`long history ${n}: c16 short starts/s alone`]: alone.startsPerSec,
      [`long history ${n}: c16 short starts/s beside it`]: beside.startsPerSec,
      [`long history ${n}: c16 short start p50 ms alone`]: alone.p50,
      [`long history ${n}: c16 short start p50 ms beside it`]: beside.p50,
      [`long history ${n}: c16 short start p99 ms alone`]: alone.p99,
      [`long history ${n}: c16 short start p99 ms beside it`]: beside.p99,
    };
  });
}

function ratio(candidate: number | undefined, baseline: number | undefined): string {
  if (candidate === undefined || baseline === undefined) return '';
  if (baseline === 0) return candidate === 0 ? '=' : '';
  return `${(candidate / baseline).toFixed(2)}×`;
}

function printTable(
  results: { baseline: Figures[]; candidate: Figures[] },
  baselineRef: string,
): void {
  const mean = (runs: Figures[], key: string): number | undefined => {
    const values = runs.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
    if (values.length === 0) return undefined;
    return Number((values.reduce((a, b) => a + b, 0) / values.length).toFixed(1));
  };
  const keys = [
    ...new Set([...results.baseline, ...results.candidate].flatMap((r) => Object.keys(r))),
  ];
  const lines = [
    `| figure | baseline (${baselineRef}) | candidate | candidate ÷ baseline |`,
    '|---|---|---|---|',
  ];
  for (const key of keys) {
    const b = mean(results.baseline, key);
    const c = mean(results.candidate, key);
    lines.push(`| ${key} | ${b ?? ''} | ${c ?? ''} | ${ratio(c, b)} |`);
  }
  console.log(lines.join('\n'));
}

export async function runAb(o: AbOptions): Promise<void> {
  const baseline = o.candidateOnly
    ? { dir: '', remove: () => undefined }
    : prepareBaseline(o.baseline, o.keepBaseline);
  const twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  const candidate: Tree = { label: 'candidate', dir: repoRoot };
  const trees: Tree[] = o.candidateOnly
    ? [candidate]
    : [{ label: 'baseline', dir: baseline.dir }, candidate];
  const results: { baseline: Figures[]; candidate: Figures[] } = { baseline: [], candidate: [] };
  console.log(
    `machine: ${os.cpus().length} cpus, node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  try {
    for (let round = 0; round < o.rounds; round++) {
      // Alternate who goes first so that a drift in the machine's load does not favour one side.
      const order = round % 2 === 0 ? trees : [...trees].reverse();
      const figures = new Map<Tree, Figures>(trees.map((t) => [t, {}]));
      const scenarios: ((t: Tree) => Promise<Figures>)[] = [
        ...o.levels.map((c) => (t: Tree) => scenarioLevel(t, twilio, o, c)),
        (t: Tree) => scenarioLatency(t, twilio, o, 'levels'),
        (t: Tree) => scenarioLatency(t, twilio, o, 'fresh'),
        ...(o.waiting > 0 ? [(t: Tree) => scenarioWaiting(t, twilio, o)] : []),
        ...(o.timers > 0 ? [(t: Tree) => scenarioTimers(t, o)] : []),
        ...(o.longHistory > 0 ? [(t: Tree) => scenarioLongHistory(t, o)] : []),
      ];
      for (const scenario of scenarios) {
        for (const tree of order) {
          const f = await scenario(tree);
          console.error(`[bench] round ${round + 1} ${tree.label}: ${JSON.stringify(f)}`);
          Object.assign(figures.get(tree)!, f);
        }
      }
      for (const t of trees) results[t.label].push(figures.get(t)!);
    }
  } finally {
    await twilio.close();
    await closeBenchStorage();
    baseline.remove();
  }
  console.log(
    `load after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  printTable(results, o.baseline);
}
