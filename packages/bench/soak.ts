/**
 * `npm run bench -- --soak`: steady load for BENCH_SOAK_SECONDS (default 600) at BENCH_SOAK_CONCURRENCY (16)
 * users, with finished instances purged as the retention timer would, sampling every BENCH_SOAK_SAMPLE_SECONDS
 * (15): the host's RSS, its heap after a full GC (per V8 space), and the sizes of the SQLite file and its WAL.
 * At the end a heap snapshot of the host is summarised by constructor, to say what the plateau is made of.
 *
 * Retention: the app purges verifications older than VERIFICATION_RETENTION_HOURS (1 h at least), too long
 * for a 10-minute run, so the soak purges through the management API every 30 s what finished more than 60 s
 * ago: the same engine operation (purge by filter) the app's timer calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator } from '@local/emulators';
import { startLocalHostProcess, type LocalHostProcess } from '@local/durable-runtime';
import { Bench, rssBytes, sleep } from './flows';
import { phoneFor } from './phones';
import { benchAppSettings, benchStorage, closeBenchStorage } from './settings';
import { summariseHeapSnapshot } from './heap-snapshot';

const PURGE_EVERY_MS = 30_000;
const PURGE_OLDER_THAN_MS = 60_000;
const MiB = 2 ** 20;

export interface SoakSample {
  readonly seconds: number;
  readonly flows: number;
  readonly rssMiB: number;
  readonly heapAfterGcMiB: number;
  readonly externalMiB: number;
  readonly youngSpaceMiB: number;
  readonly oldSpaceMiB: number;
  readonly databaseMiB: number;
  readonly walMiB: number;
  readonly instancesPurged: number;
}

interface ProbeMemory {
  rss: number;
  heapUsed: number;
  external: number;
  spaces: Record<string, number>;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

const fileMiB = (file: string): number => (fs.existsSync(file) ? fs.statSync(file).size / MiB : 0);
const round = (v: number): number => Number(v.toFixed(1));

async function probe(port: number, pathAndQuery: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`);
  if (!response.ok) throw new Error(`probe ${pathAndQuery} answered ${response.status}`);
  return response.text();
}

async function purgeFinished(host: LocalHostProcess, now: number): Promise<number> {
  const url = new URL(`${host.url}/runtime/webhooks/durabletask/instances`);
  url.searchParams.set('createdTimeFrom', new Date(0).toISOString());
  url.searchParams.set('createdTimeTo', new Date(now - PURGE_OLDER_THAN_MS).toISOString());
  url.searchParams.set('runtimeStatus', 'Completed,Failed,Terminated,Canceled');
  url.searchParams.set('code', host.keys.systemKey);
  const response = await fetch(url, { method: 'DELETE' });
  if (response.status === 404) return 0;
  if (response.status !== 200) throw new Error(`purge answered ${response.status}`);
  return ((await response.json()) as { instancesDeleted: number }).instancesDeleted;
}

export async function runSoak(repoRoot: string): Promise<void> {
  const seconds = envNumber('BENCH_SOAK_SECONDS', 600);
  const concurrency = envNumber('BENCH_SOAK_CONCURRENCY', 16);
  const sampleMs = envNumber('BENCH_SOAK_SAMPLE_SECONDS', 15) * 1000;
  const twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  const storage = await benchStorage();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-soak-'));
  const database = path.join(dataDir, 'durable.sqlite');
  const probeFile = path.join(dataDir, 'probe-port');
  process.env.BENCH_SOAK_PROBE_FILE = probeFile;
  const host = await startLocalHostProcess({
    appDir: repoRoot,
    dataDir,
    databasePath: database,
    settingsFile: false,
    emulators: false,
    nodeArgs: ['--expose-gc', '--require', path.join(__dirname, 'soak-probe.js')],
    settings: benchAppSettings(twilio.appSettings(), storage.connectionString, 60),
  });
  const samples: SoakSample[] = [];
  try {
    while (!fs.existsSync(probeFile)) await sleep(20);
    const probePort = Number(fs.readFileSync(probeFile, 'utf8'));
    const bench = new Bench(host, twilio);
    const started = Date.now();
    const deadline = started + seconds * 1000;
    let flows = 0;
    let next = 0;
    let purged = 0;
    const users = Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await bench.flow(phoneFor(206, next++ % 1_000_000));
        flows++;
      }
    });
    const sample = async (): Promise<void> => {
      const memory = JSON.parse(await probe(probePort, '/memory')) as ProbeMemory;
      const s: SoakSample = {
        seconds: Math.round((Date.now() - started) / 1000),
        flows,
        rssMiB: round(rssBytes(host.pid) / MiB),
        heapAfterGcMiB: round(memory.heapUsed / MiB),
        externalMiB: round(memory.external / MiB),
        youngSpaceMiB: round((memory.spaces.new_space ?? 0) / MiB),
        oldSpaceMiB: round((memory.spaces.old_space ?? 0) / MiB),
        databaseMiB: round(fileMiB(database)),
        walMiB: round(fileMiB(`${database}-wal`)),
        instancesPurged: purged,
      };
      samples.push(s);
      console.log(
        `soak ${s.seconds}s: ${s.flows} flows, RSS ${s.rssMiB} MiB, heap after GC ${s.heapAfterGcMiB} MiB, db ${s.databaseMiB} MiB, WAL ${s.walMiB} MiB, purged ${s.instancesPurged}`,
      );
      // The emulator's outbox is bounded; what the flows read is the newest message per number.
      if (twilio.messages().length > 5000) twilio.reset();
    };
    await sample();
    let lastPurge = Date.now();
    while (Date.now() < deadline) {
      await sleep(Math.min(sampleMs, Math.max(0, deadline - Date.now())));
      if (Date.now() - lastPurge >= PURGE_EVERY_MS) {
        purged += await purgeFinished(host, Date.now());
        lastPurge = Date.now();
      }
      await sample();
    }
    await Promise.all(users);
    // Idle: what stays once the load stopped (the WAL is truncated by then, caches keep their rows).
    await sleep(3000);
    await sample();
    const snapshotFile = path.join(dataDir, 'host.heapsnapshot');
    await probe(probePort, `/snapshot?file=${encodeURIComponent(snapshotFile)}`);
    const heap = summariseHeapSnapshot(snapshotFile, 15);
    console.log(
      JSON.stringify(
        {
          soak: { seconds, concurrency, cpus: os.cpus().length, node: process.version },
          samples,
          heapSnapshotTop: heap,
        },
        null,
        2,
      ),
    );
  } finally {
    await host.stop();
    await twilio.close();
    await closeBenchStorage();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
