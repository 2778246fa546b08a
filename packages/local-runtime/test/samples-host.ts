import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalHost, StartLocalHostOptions } from '../src/index';
import { ManualClock, startLocalHost } from '../src/index';

/**
 * The samples app (fixtures/samples-app, with its embedded emulators) on an in-process host, on a manual clock
 * and an in-memory store, with `values` as a developer's local.settings.json would say them, in a fresh data
 * folder (removed with `cleanUp`).
 */
export async function startSamplesHost(
  name: string,
  values: Readonly<Record<string, string>>,
  options: Pick<StartLocalHostOptions, 'emulators' | 'log'>,
): Promise<{ host: LocalHost; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const settingsFile = path.join(dataDir, 'local.settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: values }));
  const host = await startLocalHost({
    appDir: path.join(__dirname, 'fixtures', 'samples-app'),
    settingsFile,
    dataDir,
    databasePath: ':memory:',
    clock: new ManualClock(),
    ...options,
  });
  return { host, dataDir };
}
