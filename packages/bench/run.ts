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
 * With `--baseline <git-ref>` it runs the A/B comparison of `ab.ts` instead, with `--soak` the 10-minute soak
 * of `soak.ts`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator } from '@local/emulators';
import { benchAppSettings, benchStorage, closeBenchStorage } from './settings';
import type { TwilioEmulator } from '@local/emulators';
import { startLocalHostProcess } from '@local/durable-runtime';
import { parseAbArgs, runAb } from './ab';
import { Bench, pool, rssBytes, sleep } from './flows';
import { countSentTo, phoneFor } from './phones';
import { runSoak } from './soak';
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

/** A summary's figures as the results file records them (0.1 ms). */
const recorded = (summary: ReturnType<typeof summarise>) => ({
  p50: round(summary.p50),
  p99: round(summary.p99),
  max: round(summary.max),
});

/** The console line of a summary: `<what>: p50 … ms, p99 … ms`. */
const printSummary = (what: string, summary: ReturnType<typeof summarise>): void =>
  console.log(`${what}: p50 ${summary.p50.toFixed(1)} ms, p99 ${summary.p99.toFixed(1)} ms`);

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
        ...recorded(latency),
        note: 'includes the raiseEvent HTTP round trip and 1 ms status polling',
      };
      printSummary('raiseEvent → Completed', latency);
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
      results.timerLatenessMs = { timers: TIMERS, ...recorded(summary) };
      printSummary('timer lateness', summary);
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

const args = process.argv.slice(2);
const ab = parseAbArgs(args);
(args.includes('--soak') ? runSoak(repoRoot) : ab ? runAb(ab) : main()).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
