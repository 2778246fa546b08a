/**
 * The retention timer on the runtime's clock: a finished verification is purged once the host's (manual) clock
 * is past its retention, although the process clock is not. Local runtime in-process, Twilio emulator, Azurite.
 */
import type { LocalHost, ManualClock } from '@local/durable-runtime';
import { startAppWithTwilio, type TwilioAppStack } from '../helpers/app-with-twilio';

const HOUR_MS = 3_600_000;

let stack: TwilioAppStack;
let host: LocalHost;
let clock: ManualClock;

beforeAll(async () => {
  stack = await startAppWithTwilio('verification-retention', {
    VERIFICATION_CODE_SECRET: 'retention-test-secret-0123',
    VERIFICATION_RETENTION_HOURS: '24',
    VERIFICATION_LIMIT_TABLE_NAME: 'RetentionLimits',
  });
  ({ host, clock } = stack);
});

afterAll(() => stack.stop());

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
