/**
 * Entities survive `kill -9`: the host runs in a child process on a SQLite file; a counter gets 500 signals
 * (each acknowledged only once it is in the store), the host is killed with SIGKILL while it is still
 * working through them, restarts on the same file, gets the other 500, and ends at exactly 1,000. Needs
 * the build output (`pretest` runs the build).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalHostProcess, LocalHostProcessOptions } from '../src/index';
import { startLocalHostProcess } from '../src/index';

jest.setTimeout(180_000);

let dataDir: string;
let child: LocalHostProcess | undefined;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'entities-crash-'));
});

afterAll(async () => {
  if (child) {
    child.kill('SIGKILL');
    await child.exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function options(): LocalHostProcessOptions {
  return {
    appDir: path.join(__dirname, 'fixtures', 'entities-app'),
    clock: 'manual',
    clockStart: '2030-01-01T00:00:00.000Z',
    dataDir,
    databasePath: path.join(dataDir, 'entities.sqlite'),
    settingsFile: false,
    emulators: false,
    settings: { FUNCTIONS_WORKER_RUNTIME: 'node' },
    nodeArgs: ['-r', path.join(__dirname, 'ts-fixture-loader.cjs')],
  };
}

function entityUrl(host: LocalHostProcess, query = ''): string {
  const code = encodeURIComponent(host.keys.systemKey);
  return `${host.url}/runtime/webhooks/durabletask/entities/Counter/survivor?${query}code=${code}`;
}

/** `count` `add 1` signals over 50 concurrent connections; every one must be acknowledged with 202. */
async function signalMany(host: LocalHostProcess, count: number): Promise<void> {
  const statuses: number[] = [];
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < count) {
      started++;
      const response = await fetch(entityUrl(host, 'op=add&'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '1',
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
  };
  await Promise.all(Array.from({ length: 50 }, lane));
  expect(statuses).toHaveLength(count);
  expect(statuses.filter((s) => s !== 202)).toEqual([]);
}

async function counter(host: LocalHostProcess): Promise<number | undefined> {
  const response = await fetch(entityUrl(host));
  if (response.status === 404) return undefined;
  return (await response.json()) as number;
}

it('ends at exactly 1,000 after 1,000 signals with a kill -9 in the middle', async () => {
  const first = await startLocalHostProcess(options());
  child = first;
  await signalMany(first, 500);
  const beforeKill = (await counter(first)) ?? 0;
  first.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  child = undefined;

  const second = await startLocalHostProcess(options());
  child = second;
  await signalMany(second, 500);
  await second.whenIdle();
  expect(await counter(second)).toBe(1000);
  expect(beforeKill).toBeLessThanOrEqual(500);
  await second.stop();
  child = undefined;
});
