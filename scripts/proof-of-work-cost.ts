/**
 * What the optional proof of work costs a scripted client (issue 22): N challenges from the app's
 * own `ProofOfWork` (default cost unless `--cost`), each solved as a script would with
 * `altcha-lib` (one thread, SHA-256), and the solver's CPU time from `process.cpuUsage()`.
 *
 *   npm run build && node dist/scripts/proof-of-work-cost.js [--starts 1000] [--cost 50000]
 */
import { createRequire } from 'node:module';

import type * as AltchaLib from 'altcha-lib' with { 'resolution-mode': 'import' };
import type * as AltchaSha from 'altcha-lib/algorithms/sha' with { 'resolution-mode': 'import' };

import { ProofOfWork } from '../src/verification/guard/proof-of-work';
import type { RowStore } from '../src/verification/guard/row-store';
import { FRAUD_GUARD_DEFAULTS } from '../src/verification/guard/settings';

const load = createRequire(__filename);
const { solveChallenge } = load('altcha-lib') as typeof AltchaLib;
const { deriveKey } = load('altcha-lib/algorithms/sha') as typeof AltchaSha;

const noStore: RowStore = {
  read: () => Promise.resolve(new Map()),
  write: () => Promise.resolve('ok'),
  list: () => Promise.resolve([]),
  remove: () => Promise.resolve(false),
};

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

async function main(): Promise<void> {
  const starts = option('starts', 1000);
  const cost = option('cost', FRAUD_GUARD_DEFAULTS.proofOfWorkCost);
  const pow = new ProofOfWork({
    settings: { enabled: true, cost, expirySeconds: 300 },
    secret: () => 'proof-of-work-bench-secret-0123456789',
    store: () => noStore,
    now: () => new Date(),
  });
  const challenges = await Promise.all(Array.from({ length: starts }, () => pow.challenge()));
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let counters = 0;
  for (const challenge of challenges) {
    const solution = await solveChallenge({ challenge, deriveKey, timeout: 600_000 });
    if (solution === null) throw new Error('a challenge was not solved');
    counters += solution.counter;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = (performance.now() - wallBefore) / 1000;
  console.log(
    JSON.stringify({
      starts,
      cost,
      hashesPerStart: Math.round(counters / starts),
      clientCpuSeconds: Number(cpuSeconds.toFixed(2)),
      clientCpuMsPerStart: Number(((cpuSeconds * 1000) / starts).toFixed(2)),
      wallSeconds: Number(wallSeconds.toFixed(2)),
    }),
  );
}

void main();
