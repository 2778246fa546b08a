/**
 * `npm run bench`: measures the local runtime with the real app, over HTTP, on the real clock.
 *
 * The host runs in a child process (as `npm start` would), with its SQLite database in a temporary file, so the
 * figures include the HTTP front door, the programming model, replay, SQLite commits and the Twilio SDK. The
 * Twilio emulator runs in this process so the benchmark can read each code from its outbox.
 *
 * Figures:
 * 1. completed verification flows per second (start → SMS → submit code → Completed) with N concurrent users;
 * 2. latency from `raiseEvent` (sendEventPostUri) to `Completed`, p50/p99, one flow at a time;
 * 3. timer lateness: `TimerFired` time minus `FireAt` from the history of expired verifications;
 * 4. memory (RSS of the host process) with 10,000 verifications waiting for a code.
 *
 * Options (environment): BENCH_FLOWS (default 300), BENCH_CONCURRENCY (16), BENCH_LATENCY_SAMPLES (200),
 * BENCH_TIMERS (100), BENCH_WAITING (10000). Only loopback addresses are used.
 *
 * With `--baseline <git-ref>` it runs the A/B comparison of `ab.ts` instead.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator } from '@local/emulators';
import { benchAppSettings, benchStorage, closeBenchStorage } from './settings';
import type { TwilioEmulator } from '@local/emulators';
import { startLocalHostProcess } from '@local/durable-runtime';
import { parseAbArgs, runAb } from './ab';
import { countSentTo, phoneFor } from './phones';
import { ascending, percentile } from './stats';
import type { LocalHostProcess } from '@local/durable-runtime';

// Compiled to packages/bench/dist/; the app under test is the repository root.
const repoRoot = path.resolve(__dirname, '..', '..', '..');

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const FLOWS = envInt('BENCH_FLOWS', 300);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 16);
const LATENCY_SAMPLES = envInt('BENCH_LATENCY_SAMPLES', 200);
const TIMERS = envInt('BENCH_TIMERS', 100);
const WAITING = envInt('BENCH_WAITING', 10_000);

interface CheckStatus {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
}

interface Status {
  runtimeStatus: string;
  output?: unknown;
  customStatus?: { state?: string } | null;
  historyEvents?: { EventType?: string; Timestamp?: string; FireAt?: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function summarise(values: readonly number[]): {
  p50: number;
  p99: number;
  max: number;
  mean: number;
} {
  const sorted = ascending(values);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean,
  };
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Runs `count` jobs with at most `limit` in flight. */
async function pool(
  count: number,
  limit: number,
  job: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match?.[1]) throw new Error('VmRSS not found');
  return Number(match[1]) * 1024;
}

class Bench {
  constructor(
    private readonly host: LocalHostProcess,
    private readonly twilio: TwilioEmulator,
  ) {}

  async start(phone: string): Promise<CheckStatus> {
    const response = await fetch(`${this.host.url}/api/orchestrators/SmsPhoneVerification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(phone),
    });
    if (response.status !== 202) throw new Error(`start answered ${response.status}`);
    return (await response.json()) as CheckStatus;
  }

  /** Waits for the SMS to reach the emulator and reads the code out of it. */
  async code(phone: string): Promise<string> {
    for (;;) {
      const sms = this.twilio.messages(phone)[0];
      const code = sms ? /(\d{4,10})/.exec(sms.body)?.[1] : undefined;
      if (code) return code;
      await sleep(2);
    }
  }

  async raise(started: CheckStatus, code: string): Promise<void> {
    const url = started.sendEventPostUri.replace('{eventName}', 'SmsChallengeResponse');
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(code),
    });
    if (response.status !== 202) throw new Error(`raiseEvent answered ${response.status}`);
  }

  async status(
    started: CheckStatus,
    query: Readonly<Record<string, string>> = {},
  ): Promise<Status> {
    const url = new URL(started.statusQueryGetUri);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const response = await fetch(url);
    // 202 while running, 200 once finished; anything else means the benchmark itself is wrong.
    if (response.status !== 200 && response.status !== 202) {
      throw new Error(`status query answered ${response.status}`);
    }
    return (await response.json()) as Status;
  }

  /** History is for trusted callers only (the status link never shows it): the management API. */
  async managementStatus(id: string): Promise<Status> {
    const url = new URL(`${this.host.url}/runtime/webhooks/durabletask/instances/${id}`);
    url.searchParams.set('showHistory', 'true');
    url.searchParams.set('code', this.host.keys.systemKey);
    const response = await fetch(url);
    if (response.status !== 200) throw new Error(`management status answered ${response.status}`);
    return (await response.json()) as Status;
  }

  async untilCompleted(
    started: CheckStatus,
    pollMs: number,
    query: Readonly<Record<string, string>> = {},
  ): Promise<Status> {
    for (;;) {
      const status = await this.status(started, query);
      if (status.runtimeStatus === 'Completed') return status;
      if (status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated') {
        throw new Error(`instance ${started.id} ended ${status.runtimeStatus}`);
      }
      await sleep(pollMs);
    }
  }

  async flow(phone: string): Promise<void> {
    const started = await this.start(phone);
    await this.raise(started, await this.code(phone));
    const done = await this.untilCompleted(started, 10);
    if (done.output !== true) throw new Error(`instance ${started.id} did not verify`);
  }
}

async function withHost<T>(
  twilio: TwilioEmulator,
  timeoutSeconds: number,
  body: (bench: Bench, host: LocalHostProcess) => Promise<T>,
): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const storage = await benchStorage();
  const host = await startLocalHostProcess({
    appDir: repoRoot,
    dataDir,
    databasePath: path.join(dataDir, 'durable.sqlite'),
    settingsFile: false,
    emulators: false,
    settings: benchAppSettings(twilio.appSettings(), storage.connectionString, timeoutSeconds),
  });
  try {
    return await body(new Bench(host, twilio), host);
  } finally {
    await host.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  const results: Record<string, unknown> = {
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
    },
  };
  try {
    await withHost(twilio, 90, async (bench) => {
      // Warm-up: loads code paths and the SQLite page cache so the first figures are not start-up costs.
      await pool(20, 4, (i) => bench.flow(phoneFor(200, i)));

      const started = performance.now();
      await pool(FLOWS, CONCURRENCY, (i) => bench.flow(phoneFor(201, i)));
      const seconds = (performance.now() - started) / 1000;
      results.throughput = {
        flows: FLOWS,
        concurrency: CONCURRENCY,
        seconds: round(seconds, 2),
        flowsPerSecond: round(FLOWS / seconds),
      };
      console.log(
        `throughput: ${FLOWS} flows in ${seconds.toFixed(2)} s = ${(FLOWS / seconds).toFixed(1)} flows/s`,
      );

      const latencies: number[] = [];
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        const phone = phoneFor(202, i);
        const flow = await bench.start(phone);
        const code = await bench.code(phone);
        // Let the instance reach its wait, so the figure is raise → Completed and not the activity's tail.
        await sleep(5);
        const t0 = performance.now();
        await bench.raise(flow, code);
        await bench.untilCompleted(flow, 1);
        latencies.push(performance.now() - t0);
      }
      const latency = summarise(latencies);
      results.raiseEventToCompletedMs = {
        samples: LATENCY_SAMPLES,
        p50: round(latency.p50),
        p99: round(latency.p99),
        max: round(latency.max),
        note: 'includes the raiseEvent HTTP round trip and 1 ms status polling',
      };
      console.log(
        `raiseEvent → Completed: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`,
      );
    });

    // 10 s is the shortest timeout the app's configuration allows.
    await withHost(twilio, 10, async (bench) => {
      const lateness: number[] = [];
      // All at once: timers due together are the harder case for the scheduler.
      await pool(TIMERS, TIMERS, async (i) => {
        const flow = await bench.start(phoneFor(203, i));
        await bench.untilCompleted(flow, 200);
        const done = await bench.managementStatus(flow.id);
        const fired = done.historyEvents?.find((e) => e.EventType === 'TimerFired');
        if (!fired?.Timestamp || !fired.FireAt)
          throw new Error('no TimerFired event in the history');
        lateness.push(Date.parse(fired.Timestamp) - Date.parse(fired.FireAt));
      });
      const summary = summarise(lateness);
      results.timerLatenessMs = {
        timers: TIMERS,
        p50: round(summary.p50),
        p99: round(summary.p99),
        max: round(summary.max),
      };
      console.log(
        `timer lateness: p50 ${summary.p50.toFixed(1)} ms, p99 ${summary.p99.toFixed(1)} ms`,
      );
    });

    await withHost(twilio, 3600, async (bench, host) => {
      await pool(10, 2, (i) => bench.flow(phoneFor(204, i)));
      // The emulator's outbox is bounded; start the count from empty.
      twilio.reset();
      const baseline = rssBytes(host.pid);
      const started = performance.now();
      await pool(WAITING, 32, async (i) => {
        await bench.start(phoneFor(205, i));
      });
      // Waiting means the SMS went out and the instance sits on its event/timer race.
      while (countSentTo(twilio.messages(), 205, WAITING) < WAITING) await sleep(50);
      const seconds = (performance.now() - started) / 1000;
      await sleep(1000);
      const rss = rssBytes(host.pid);
      results.memoryWithWaiting = {
        waiting: WAITING,
        baselineRssMiB: round(baseline / 2 ** 20),
        rssMiB: round(rss / 2 ** 20),
        bytesPerWaitingInstance: Math.round((rss - baseline) / WAITING),
        startRatePerSecond: round(WAITING / seconds),
      };
      console.log(
        `memory: ${WAITING} waiting → RSS ${(rss / 2 ** 20).toFixed(1)} MiB (baseline ${(baseline / 2 ** 20).toFixed(1)} MiB)`,
      );
    });
  } finally {
    await twilio.close();
    await closeBenchStorage();
  }
  console.log(JSON.stringify(results, null, 2));
}

const ab = parseAbArgs(process.argv.slice(2));
(ab ? runAb(ab) : main()).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
