import { AzureNamedKeyCredential, TableClient } from '@azure/data-tables';

import { ManualClock } from '@local/durable-runtime';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from '@local/emulators/azurite';
import { connectionStringStorage, startTestAzurite, useSuiteAzurite } from '../helpers/azurite';
import { GuardUnavailableError, VelocityLimitError } from '../../src/verification/guard/errors';
import { VelocityGuard } from '../../src/verification/guard/velocity';
import { loadVelocitySettings, type VelocitySettings } from '../../src/verification/guard/settings';

const VELOCITY_DEFAULTS = loadVelocitySettings({});
import { TableVelocityStore } from '../../src/verification/guard/velocity-table-store';
import { SendGuard, loadGuardSettings } from '../../src/verification/guard/send-guard';
import { TableRowStore } from '../../src/verification/guard/row-store';

const SECRET = 'integration-test-secret-0123456789';

const azurite = useSuiteAzurite();

let tableCounter = 0;
function freshTableName(): string {
  tableCounter += 1;
  return `VelocityLimits${tableCounter}`;
}

function settings(overrides: Partial<VelocitySettings> = {}): VelocitySettings {
  return { ...VELOCITY_DEFAULTS, ...overrides };
}

function guardOn(
  tableName: string,
  clock: ManualClock,
  overrides: Partial<VelocitySettings> = {},
  connectionString = azurite().connectionString,
  warnings: string[] = [],
): VelocityGuard {
  return new VelocityGuard({
    store: TableVelocityStore.create(connectionStringStorage(connectionString), tableName, {
      timeoutMs: 2000,
    }),
    settings: settings(overrides),
    secret: SECRET,
    now: () => clock.now(),
    logger: { warn: (message) => warnings.push(message) },
  });
}

const NUMBER = '+14252000001';

async function outcomes(promises: readonly Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((result) => {
    if (result.status === 'fulfilled') return 'sent';
    const error: unknown = result.reason;
    return error instanceof VelocityLimitError ? error.reason : `error: ${String(error)}`;
  });
}

describe('VelocityGuard on Table Storage (Azurite)', () => {
  it('holds the per-number count across two independent guards and table clients', async () => {
    const table = freshTableName();
    const clock = new ManualClock('2030-01-01T00:00:00.000Z');
    const first = guardOn(table, clock, { numberCooldownSeconds: 0, perNumberPerHour: 3 });
    const second = guardOn(table, clock, { numberCooldownSeconds: 0, perNumberPerHour: 3 });

    await first.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined });
    await second.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined });
    await first.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined });
    // The second guard's remembered counter is stale; the conflict makes it read the truth.
    await expect(
      second.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined }),
    ).rejects.toMatchObject({ reason: 'number_rate_limited', status: 429 });
    await expect(
      first.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined }),
    ).rejects.toMatchObject({ reason: 'number_rate_limited' });

    clock.advance(3_600_000);
    await expect(
      second.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined }),
    ).resolves.toEqual({ degraded: false });
  });

  it('lets at most the limit through out of 50 concurrent sends for one number over two guards', async () => {
    const table = freshTableName();
    const clock = new ManualClock();
    const overrides = { numberCooldownSeconds: 0, perNumberPerHour: 5 };
    const guards = [guardOn(table, clock, overrides), guardOn(table, clock, overrides)];
    const results = await outcomes(
      Array.from({ length: 50 }, (_, i) =>
        guards[i % 2]!.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined }),
      ),
    );
    expect(results.filter((r) => r === 'sent')).toHaveLength(5);
    expect(results.filter((r) => r === 'number_rate_limited')).toHaveLength(45);
  });

  it('lets exactly one of 50 concurrent sends through inside the default cooldown', async () => {
    const clock = new ManualClock();
    const guard = guardOn(freshTableName(), clock);
    const results = await outcomes(
      Array.from({ length: 50 }, () =>
        guard.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined }),
      ),
    );
    expect(results.filter((r) => r === 'sent')).toHaveLength(1);
    expect(results.filter((r) => r === 'number_cooldown')).toHaveLength(49);
  });

  it('applies the global ceiling across numbers and guards', async () => {
    const table = freshTableName();
    const clock = new ManualClock();
    const overrides = { globalPerHour: 7 };
    const guards = [guardOn(table, clock, overrides), guardOn(table, clock, overrides)];
    const results = await outcomes(
      Array.from({ length: 20 }, (_, i) =>
        guards[i % 2]!.checkAndRecord({
          phoneNumber: `+1425${3_000_000 + i * 10_000}`,
          clientIp: undefined,
        }),
      ),
    );
    expect(results.filter((r) => r === 'sent')).toHaveLength(7);
    expect(results.filter((r) => r === 'global_rate_limited')).toHaveLength(13);
  });

  it('costs one storage request per send once its counters are known, and one for a group', async () => {
    let requests = 0;
    const table = new TableClient(
      `${azurite().url}/${AZURITE_ACCOUNT_NAME}`,
      freshTableName(),
      new AzureNamedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY),
      {
        allowInsecureConnection: true,
        additionalPolicies: [
          {
            position: 'perCall',
            policy: {
              name: 'countRequests',
              sendRequest: (request, next) => {
                requests += 1;
                return next(request);
              },
            },
          },
        ],
      },
    );
    const clock = new ManualClock();
    const guard = new VelocityGuard({
      store: new TableVelocityStore(table),
      settings: settings(),
      secret: SECRET,
      now: () => clock.now(),
      logger: { warn: () => undefined },
    });
    const ip = { address: '203.0.113.7', limitKey: '203.0.113.7' };
    await guard.checkAndRecord({ phoneNumber: '+14252000000', clientIp: ip });
    const afterWarmUp = requests;
    for (let i = 1; i <= 10; i++) {
      clock.advance(1000);
      await guard.checkAndRecord({ phoneNumber: `+1425${2_000_000 + i * 10_000}`, clientIp: ip });
    }
    expect(requests - afterWarmUp).toBe(10);
    const beforeGroup = requests;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        guard.checkAndRecord({ phoneNumber: `+1425${5_000_000 + i * 10_000}`, clientIp: ip }),
      ),
    );
    // Queued sends share a transaction: two at most (the first may go alone).
    expect(requests - beforeGroup).toBeLessThanOrEqual(2);
  });

  describe('when the table endpoint is unreachable', () => {
    // A port nothing listens on: Azurite's own port after it has been closed.
    let deadConnectionString: string;
    beforeAll(async () => {
      const dead = await startTestAzurite();
      deadConnectionString = dead.connectionString;
      await dead.close();
    });

    it('fail mode closed refuses with 503 guard_unavailable and logs the masked number', async () => {
      const warnings: string[] = [];
      const guard = guardOn(
        freshTableName(),
        new ManualClock(),
        {},
        deadConnectionString,
        warnings,
      );
      const error: unknown = await guard
        .checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GuardUnavailableError);
      expect(error).toMatchObject({ status: 503, reason: 'guard_unavailable' });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('guard_unavailable');
      expect(warnings[0]).toContain('+1******0001');
      expect(warnings.join('\n')).not.toContain(NUMBER);
    });

    it('fail mode open lets the send through, marked degraded', async () => {
      const warnings: string[] = [];
      const guard = guardOn(
        freshTableName(),
        new ManualClock(),
        { failMode: 'open' },
        deadConnectionString,
        warnings,
      );
      await expect(
        guard.checkAndRecord({ phoneNumber: NUMBER, clientIp: undefined }),
      ).resolves.toEqual({ degraded: true });
      expect(warnings).toHaveLength(1);
      expect(warnings.join('\n')).not.toContain(NUMBER);
    });
  });
});

describe('SendGuard on Table Storage (Azurite)', () => {
  function sendGuard(env: Record<string, string>, warnings: string[]): SendGuard {
    const clock = new ManualClock();
    const table = freshTableName();
    const storage = {
      kind: 'connectionString',
      connectionString: azurite().connectionString,
    } as const;
    return new SendGuard({
      settings: loadGuardSettings(env),
      store: TableVelocityStore.create(connectionStringStorage(azurite().connectionString), table),
      conversionStore: TableRowStore.create(storage, table, 'conversion'),
      verifiedStore: TableRowStore.create(storage, table, 'verified'),
      safeListStore: TableRowStore.create(storage, table, 'safelist'),
      secret: SECRET,
      now: () => clock.now(),
      logger: { warn: (message) => warnings.push(message) },
    });
  }
  const fromClient = (ip: string) => new Headers({ 'x-forwarded-for': `9.9.9.9, ${ip}:50000` });

  it('accepts a number, normalised, and counts it against the trusted client IP', async () => {
    const warnings: string[] = [];
    const guard = sendGuard({ VERIFICATION_LIMIT_PER_IP_PER_HOUR: '2' }, warnings);
    await expect(guard.check('+1 425 555 0100', fromClient('203.0.113.7'))).resolves.toEqual({
      e164: '+14255550100',
      country: 'US',
      type: 'FIXED_LINE_OR_MOBILE',
      degraded: false,
    });
    await guard.check('+14255550101', fromClient('203.0.113.7'));
    // The forged left-hand entry changes nothing: the client is still 203.0.113.7.
    await expect(
      guard.check('+14255550102', new Headers({ 'x-forwarded-for': '1.2.3.4, 203.0.113.7' })),
    ).rejects.toMatchObject({ status: 429, reason: 'ip_rate_limited' });
    await expect(guard.check('+14255550102', fromClient('203.0.113.8'))).resolves.toBeDefined();
    expect(warnings).toEqual([expect.stringContaining('ip_rate_limited for +1******0102')]);
  });

  it('refuses by policy before counting anything, logging the rule and the masked number', async () => {
    const warnings: string[] = [];
    const guard = sendGuard({ VERIFICATION_ALLOWED_COUNTRIES: 'FR' }, warnings);
    await expect(guard.check('+19005551234', fromClient('203.0.113.7'))).rejects.toMatchObject({
      status: 403,
      reason: 'phone_number_type_blocked',
    });
    await expect(guard.check('+14255550100', fromClient('203.0.113.7'))).rejects.toMatchObject({
      status: 403,
      reason: 'phone_country_not_allowed',
    });
    await expect(guard.check('2168', fromClient('203.0.113.7'))).rejects.toMatchObject({
      status: 400,
      reason: 'phone_number_invalid',
    });
    expect(warnings).toEqual([
      'Verification send refused by phone_number_type_blocked for +1******1234',
      'Verification send refused by phone_country_not_allowed for +1******0100',
      'Verification send refused by phone_number_invalid',
    ]);
  });
});
