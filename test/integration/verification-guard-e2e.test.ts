/**
 * The fraud guard end to end: starts through HTTP on the local runtime, the Twilio emulator counting
 * what is sent, the counters in one Azurite. Each rule refuses with its status and `reason` and
 * sends nothing; the counters hold across two app hosts (separate processes) on one storage, and
 * under 50 concurrent starts for one number. Needs the built app (`npm run build`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator, type TwilioEmulator } from '@local/emulators';
import { startLocalHost, startLocalHostProcess } from '@local/durable-runtime';
import type { LocalHost, LocalHostProcess } from '@local/durable-runtime';
import { startTestAzurite, type AzuriteTable } from '../helpers/azurite';

jest.setTimeout(120_000);

const repoRoot = path.resolve(__dirname, '..', '..');
const SECRET = 'guard-e2e-secret-0123456789abcdef';

let twilio: TwilioEmulator;
let azurite: AzuriteTable;
const dirs: string[] = [];

beforeAll(async () => {
  twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  azurite = await startTestAzurite();
});
afterAll(async () => {
  await twilio.close();
  await azurite.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function appSettings(table: string, limits: Record<string, string>): Record<string, string> {
  return {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: azurite.connectionString,
    ...twilio.appSettings(),
    VERIFICATION_CODE_SECRET: SECRET,
    VERIFICATION_LIMIT_TABLE_NAME: table,
    // The local host appends the peer (127.0.0.1) to X-Forwarded-For as Azure's front end does; this test's
    // requests stand for a trusted proxy in front of it, which put the client's address before that.
    VERIFICATION_TRUSTED_PROXY_HOPS: '2',
    ...limits,
  };
}

function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-e2e-'));
  dirs.push(dir);
  return dir;
}

interface Answer {
  readonly status: number;
  readonly reason: unknown;
  readonly retryAfter: string | null;
}

async function start(baseUrl: string, phone: string, clientIp?: string): Promise<Answer> {
  const response = await fetch(`${baseUrl}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(clientIp === undefined ? {} : { 'x-forwarded-for': `198.51.100.1, ${clientIp}` }),
    },
    body: JSON.stringify(phone),
  });
  const body = (await response.json()) as { reason?: unknown };
  return {
    status: response.status,
    reason: body.reason,
    retryAfter: response.headers.get('retry-after'),
  };
}

describe('each guard rule refuses with its code and sends nothing', () => {
  let host: LocalHost;
  beforeAll(async () => {
    const dir = dataDir();
    host = await startLocalHost({
      appDir: repoRoot,
      settingsFile: false,
      dataDir: dir,
      databasePath: ':memory:',
      settings: appSettings('GuardRules', {
        VERIFICATION_ALLOWED_COUNTRIES: 'US',
        VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS: '30',
        VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR: '2',
        VERIFICATION_LIMIT_PER_IP_PER_HOUR: '3',
        VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '4',
        VERIFICATION_LIMIT_GLOBAL_PER_HOUR: '8',
      }),
    });
  });
  afterAll(() => host.stop());

  async function expectRefused(request: () => Promise<Answer>, status: number, reason: string) {
    await host.whenIdle();
    const before = twilio.messages().length;
    const result = await request();
    expect(result).toMatchObject({ status, reason });
    if (status === 429) expect(Number(result.retryAfter)).toBeGreaterThan(0);
    await host.whenIdle();
    expect(twilio.messages()).toHaveLength(before);
  }

  it('phone policy: invalid 400, premium-rate and other countries 403', async () => {
    await expectRefused(() => start(host.url, '+14251234567'), 400, 'phone_number_invalid');
    await expectRefused(() => start(host.url, '+19005551234'), 403, 'phone_number_type_blocked');
    await expectRefused(() => start(host.url, '+33612345678'), 403, 'phone_country_not_allowed');
  });

  it('velocity: cooldown per number, per client IP, per prefix, then the global ceiling', async () => {
    // Three numbers in three prefixes from one client IP: the fourth send from it is refused.
    expect((await start(host.url, '+14255550100', '203.0.113.7')).status).toBe(202);
    await expectRefused(
      () => start(host.url, '+14255550100', '203.0.113.9'),
      429,
      'number_cooldown',
    );
    expect((await start(host.url, '+14255560100', '203.0.113.7')).status).toBe(202);
    expect((await start(host.url, '+14255570100', '203.0.113.7')).status).toBe(202);
    await expectRefused(
      () => start(host.url, '+14255580100', '203.0.113.7'),
      429,
      'ip_rate_limited',
    );
    // Four numbers of one prefix from four clients: the fifth is refused.
    for (let i = 1; i <= 4; i++) {
      expect((await start(host.url, `+1425559000${i}`, `192.0.2.${i}`)).status).toBe(202);
    }
    await expectRefused(
      () => start(host.url, '+14255590005', '192.0.2.5'),
      429,
      'prefix_rate_limited',
    );
    // Seven sent so far; the eighth fills the global ceiling.
    expect((await start(host.url, '+14255600100', '192.0.2.20')).status).toBe(202);
    await expectRefused(
      () => start(host.url, '+14255610100', '192.0.2.21'),
      429,
      'global_rate_limited',
    );
    await host.whenIdle();
    expect(twilio.messages().filter((m) => m.to.startsWith('+14255'))).toHaveLength(8);
  });
});

describe('counters shared by two app hosts on one storage', () => {
  const hosts: LocalHostProcess[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const dir = dataDir();
      hosts.push(
        await startLocalHostProcess({
          appDir: repoRoot,
          // The manual clock brings the test endpoints (whenIdle); the guard keeps the wall clock.
          clock: 'manual',
          dataDir: dir,
          databasePath: path.join(dir, 'durable.sqlite'),
          settingsFile: false,
          emulators: false,
          settings: appSettings('GuardShared', {
            VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS: '0',
            VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR: '3',
            VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '1000',
          }),
        }),
      );
    }
  });
  afterAll(async () => {
    for (const host of hosts) await host.stop();
  });

  it('alternating hosts, one number: the limit counts the sends of both', async () => {
    const phone = '+14256660100';
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await start(hosts[i % 2]!.url, phone)).status);
    expect(answers).toEqual([202, 202, 202, 429, 429]);
    for (const host of hosts) await host.whenIdle();
    expect(twilio.messages(phone)).toHaveLength(3);
  });

  it('50 concurrent starts for one number across both hosts: at most the limit is sent', async () => {
    const phone = '+14256670100';
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => start(hosts[i % 2]!.url, phone)),
    );
    const accepted = answers.filter((a) => a.status === 202).length;
    // Refusals are the limit (429) or, when conflicts outlast the retries, the closed fail mode (503).
    for (const a of answers) expect([202, 429, 503]).toContain(a.status);
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThanOrEqual(3);
    for (const host of hosts) await host.whenIdle();
    expect(twilio.messages(phone)).toHaveLength(accepted);
  });
});
