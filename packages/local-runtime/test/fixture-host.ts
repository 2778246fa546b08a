import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalHost, StartLocalHostOptions } from '../src/index';
import { ManualClock, startLocalHost } from '../src/index';

/**
 * A fixture app (`test/fixtures/<fixture>`) on an in-process host in a fresh data folder, without a settings
 * file, on a manual clock and an in-memory database unless `options` say otherwise. `stop` stops the host and
 * removes the folder.
 */
export async function startFixtureHost(
  fixture: string,
  options: Partial<StartLocalHostOptions> = {},
): Promise<{ host: LocalHost; stop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${fixture}-`));
  const host = await startLocalHost({
    appDir: path.join(__dirname, 'fixtures', fixture),
    settingsFile: false,
    dataDir,
    databasePath: ':memory:',
    clock: new ManualClock(),
    ...options,
  });
  return {
    host,
    async stop() {
      await host.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** {@link startFixtureHost} for the calling suite (started in `beforeAll`, stopped in `afterAll`). */
export function useFixtureHost(
  fixture: string,
  options: Partial<StartLocalHostOptions> = {},
): () => LocalHost {
  let started: { host: LocalHost; stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    started = await startFixtureHost(fixture, options);
  });
  afterAll(() => started?.stop());
  return () => {
    if (started === undefined) throw new Error(`the ${fixture} host is read before it started`);
    return started.host;
  };
}
