/**
 * The retention timer on the runtime's clock: a finished verification is purged once the host's (manual) clock
 * is past its retention, although the process clock is not. Local runtime in-process, Twilio emulator, Azurite.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator } from '@local/emulators';
import type { TwilioEmulator } from '@local/emulators';
import { ManualClock, startLocalHost } from '@local/durable-runtime';
import type { LocalHost } from '@local/durable-runtime';
import { startTestAzurite, type AzuriteTable } from '../helpers/azurite';

const repoRoot = path.resolve(__dirname, '..', '..');
const HOUR_MS = 3_600_000;

let twilio: TwilioEmulator;
let azurite: AzuriteTable;
let host: LocalHost;
let clock: ManualClock;
let dataDir: string;

beforeAll(async () => {
  twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  azurite = await startTestAzurite();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verification-retention-'));
  clock = new ManualClock(Date.now());
  host = await startLocalHost({
    appDir: repoRoot,
    settingsFile: false,
    dataDir,
    databasePath: ':memory:',
    clock,
    settings: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: azurite.connectionString,
      ...twilio.appSettings(),
      VERIFICATION_CODE_SECRET: 'retention-test-secret-0123',
      VERIFICATION_RETENTION_HOURS: '24',
      VERIFICATION_LIMIT_TABLE_NAME: 'RetentionLimits',
    },
  });
});

afterAll(async () => {
  await host.stop();
  await twilio.close();
  await azurite.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function managementStatus(id: string): Promise<number> {
  const url = `${host.url}/runtime/webhooks/durabletask/instances/${id}?code=${host.keys.systemKey}`;
  return (await fetch(url)).status;
}

it('purges a finished verification once the runtime clock passed its retention', async () => {
  const started = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify('+14255550123'),
  });
  expect(started.status).toBe(202);
  const links = (await started.json()) as { id: string; terminatePostUri: string };
  await host.whenIdle();
  expect((await fetch(links.terminatePostUri, { method: 'POST' })).status).toBe(202);
  await host.whenIdle();
  expect(await managementStatus(links.id)).toBe(200);

  // A day and more on the runtime's clock; the process clock has moved by milliseconds.
  clock.advance(25 * HOUR_MS);
  await host.whenIdle();
  const run = await fetch(`${host.url}/admin/functions/purgeExpiredVerifications`, {
    method: 'POST',
    body: JSON.stringify({ input: '' }),
    headers: { 'x-functions-key': host.keys.masterKey },
  });
  expect(run.status).toBe(202);
  expect(await managementStatus(links.id)).toBe(404);
});
