/**
 * The entities fixture app on an in-process host (manual clock, in-memory database), with the management
 * API's base URL and key, shared by the entity and rewind tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalHost } from '../src/index';
import { ManualClock, startLocalHost } from '../src/index';

export interface EntitiesHost {
  readonly host: LocalHost;
  /** `<origin>/runtime/webhooks/durabletask` */
  readonly hook: string;
  /** `code=<system key>`, for a query string. */
  readonly key: string;
  status(instanceId: string): Promise<{ runtimeStatus: string; output: unknown }>;
  stop(): Promise<void>;
}

export async function startEntitiesHost(): Promise<EntitiesHost> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'entities-app-'));
  const host = await startLocalHost({
    appDir: path.join(__dirname, 'fixtures', 'entities-app'),
    settingsFile: false,
    dataDir,
    databasePath: ':memory:',
    clock: new ManualClock(),
  });
  const hook = `${host.url}/runtime/webhooks/durabletask`;
  const key = `code=${encodeURIComponent(host.keys.systemKey)}`;
  return {
    host,
    hook,
    key,
    async status(instanceId) {
      const response = await fetch(`${hook}/instances/${instanceId}?${key}`);
      return (await response.json()) as { runtimeStatus: string; output: unknown };
    },
    async stop() {
      await host.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
