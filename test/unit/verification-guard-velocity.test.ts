import { ManualClock } from '@local/durable-runtime';
import { GuardUnavailableError, VelocityLimitError } from '../../src/verification/guard/errors';
import {
  VelocityGuard,
  numberPrefix,
  type CounterWrite,
  type SendAttempt,
  type StoredCounter,
  type VelocityStore,
} from '../../src/verification/guard/velocity';
import { loadVelocitySettings, type VelocitySettings } from '../../src/verification/guard/settings';
import type { ClientIp } from '../../src/verification/guard/client-ip';
import { loadFraudGuardSettings, type BudgetSettings } from '../../src/verification/guard/settings';
import { configError, DOCUMENTED_VELOCITY_DEFAULTS } from './helpers/env';

const VELOCITY_DEFAULTS = loadVelocitySettings({});

const SECRET = 'unit-test-secret-0123456789abcdef';

/** The VelocityStore contract in memory: ETag-conditional, atomic writes, counted round trips. */
class MemoryStore implements VelocityStore {
  readonly rows = new Map<string, StoredCounter>();
  reads = 0;
  writes = 0;
  conflicts = 0;
  failure: Error | undefined;
  alwaysConflict = false;
  private version = 0;

  read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredCounter>> {
    this.reads += 1;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const found = new Map<string, StoredCounter>();
    for (const key of keys) {
      const row = this.rows.get(key);
      if (row !== undefined) found.set(key, row);
    }
    return Promise.resolve(found);
  }

  write(writes: readonly CounterWrite[]): Promise<ReadonlyMap<string, string> | 'conflict'> {
    this.writes += 1;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const clean = writes.every((write) => this.rows.get(write.key)?.etag === write.etag);
    if (this.alwaysConflict || !clean) {
      this.conflicts += 1;
      return Promise.resolve('conflict');
    }
    const etags = new Map<string, string>();
    for (const write of writes) {
      const etag = `W/"${++this.version}"`;
      this.rows.set(write.key, { state: write.state, etag });
      etags.set(write.key, etag);
    }
    return Promise.resolve(etags);
  }
}

interface Harness {
  readonly store: MemoryStore;
  readonly clock: ManualClock;
  readonly warnings: string[];
  readonly guard: VelocityGuard;
}

function harness(
  overrides: Partial<VelocitySettings> = {},
  store = new MemoryStore(),
  budgets: Partial<BudgetSettings> = {},
): Harness {
  const clock = new ManualClock('2030-01-01T00:00:00.000Z');
  const warnings: string[] = [];
  const settings: VelocitySettings = { ...VELOCITY_DEFAULTS, ...overrides };
  const guard = new VelocityGuard({
    store,
    settings,
    budgets: { ...loadFraudGuardSettings({}).budgets, ...budgets },
    secret: SECRET,
    now: () => clock.now(),
    logger: { warn: (message) => warnings.push(message) },
  });
  return { store, clock, warnings, guard };
}

const ip = (address: string): ClientIp => ({ address, limitKey: address });
const send = (phoneNumber: string, clientIp?: ClientIp): SendAttempt => ({ phoneNumber, clientIp });

async function refusal(promise: Promise<unknown>): Promise<VelocityLimitError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof VelocityLimitError))
    throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

describe('VelocityGuard rules', () => {
  it('allows 5 sends per number in 10 minutes (Verify), then 429 number_rate_limited until the window ends', async () => {
    const { guard, clock } = harness({ numberCooldownSeconds: 0 });
    for (let i = 0; i < 5; i++) {
      await expect(guard.checkAndRecord(send('+14252000001'))).resolves.toEqual({
        degraded: false,
      });
      clock.advance(60_000);
    }
    const error = await refusal(guard.checkAndRecord(send('+14252000001')));
    expect(error).toMatchObject({ status: 429, reason: 'number_rate_limited' });
    // The window opened at 00:00 and it is now 00:05.
    expect(error.headers['Retry-After']).toBe(String(5 * 60));
    await expect(guard.checkAndRecord(send('+14252000002'))).resolves.toEqual({ degraded: false });
    clock.advance(5 * 60_000);
    await expect(guard.checkAndRecord(send('+14252000001'))).resolves.toEqual({ degraded: false });
  });

  it('keeps a 30 s cooldown between sends to one number', async () => {
    const { guard, clock } = harness();
    await guard.checkAndRecord(send('+14252000001'));
    clock.advance(10_000);
    const error = await refusal(guard.checkAndRecord(send('+14252000001')));
    expect(error.reason).toBe('number_cooldown');
    expect(error.headers['Retry-After']).toBe('20');
    clock.advance(20_000);
    await expect(guard.checkAndRecord(send('+14252000001'))).resolves.toEqual({ degraded: false });
  });

  it('counts 20 sends per client IP an hour across numbers', async () => {
    const { guard } = harness();
    for (let i = 0; i < 20; i++) {
      await guard.checkAndRecord(send(`+1425${3_000_000 + i * 10_000}`, ip('203.0.113.7')));
    }
    const error = await refusal(guard.checkAndRecord(send('+14254000000', ip('203.0.113.7'))));
    expect(error.reason).toBe('ip_rate_limited');
    await expect(
      guard.checkAndRecord(send('+14254000000', ip('203.0.113.8'))),
    ).resolves.toBeDefined();
  });

  it('counts every client of unknown IP in one shared bucket, unless the IP source is off', async () => {
    const { guard } = harness();
    for (let i = 0; i < 20; i++) {
      await guard.checkAndRecord(send(`+1425${3_000_000 + i * 10_000}`));
    }
    const error = await refusal(guard.checkAndRecord(send('+14254000000')));
    expect(error.reason).toBe('unknown_client_rate_limited');
    // Known clients keep their own budgets.
    await expect(
      guard.checkAndRecord(send('+14254000000', ip('203.0.113.8'))),
    ).resolves.toBeDefined();
    // VERIFICATION_CLIENT_IP_HEADER=none: no client rule at all.
    await expect(
      guard.checkAndRecord({
        phoneNumber: '+14254000001',
        clientIp: undefined,
        unknownClient: false,
      }),
    ).resolves.toBeDefined();
  });

  it('spends a per-country budget before the global one', async () => {
    const { guard } = harness({ perPrefixPerHour: 1000, perIpPerHour: 1000 }, undefined, {
      perCountryPerHour: 3,
    });
    for (let i = 0; i < 3; i++) {
      await guard.checkAndRecord({
        ...send(`+1425${3_000_000 + i}`, ip('203.0.113.7')),
        country: 'US',
      });
    }
    const error = await refusal(
      guard.checkAndRecord({ ...send('+14254000000', ip('203.0.113.7')), country: 'US' }),
    );
    expect(error.reason).toBe('country_rate_limited');
    await expect(
      guard.checkAndRecord({ ...send('+33612345678', ip('203.0.113.7')), country: 'FR' }),
    ).resolves.toBeDefined();
  });

  it('counts a recently verified number per client and spares it the prefix and country budgets', async () => {
    const { guard, clock } = harness({ numberCooldownSeconds: 0, perPrefixPerHour: 2 });
    const owner = (address: string) => ({
      ...send('+14255550100', ip(address)),
      country: 'US',
      verifiedOwner: true,
    });
    // Five strangers, then the prefix filled by neighbours.
    for (let i = 1; i <= 5; i++) await guard.checkAndRecord(owner(`198.51.100.${i}`));
    await guard.checkAndRecord(send('+14255550101', ip('198.51.100.9')));
    await guard.checkAndRecord(send('+14255550102', ip('198.51.100.9')));
    clock.advance(1000);
    await expect(guard.checkAndRecord(owner('203.0.113.7'))).resolves.toEqual({ degraded: false });
    // Each client still has the per-number count for itself.
    for (let i = 0; i < 4; i++) await guard.checkAndRecord(owner('203.0.113.7'));
    expect((await refusal(guard.checkAndRecord(owner('203.0.113.7')))).reason).toBe(
      'number_rate_limited',
    );
  });

  it('counts 10 sends an hour per number prefix (the number without its last 4 digits)', async () => {
    const { guard } = harness();
    expect(numberPrefix('+14255550123')).toBe('+1425555');
    for (let i = 0; i < 10; i++) {
      await guard.checkAndRecord(send(`+142555501${String(i).padStart(2, '0')}`));
    }
    const error = await refusal(guard.checkAndRecord(send('+14255559999')));
    expect(error.reason).toBe('prefix_rate_limited');
    await expect(guard.checkAndRecord(send('+14255560000'))).resolves.toBeDefined();
  });

  it('counts an email recipient by its address and the global ceiling, never by phone prefix or country', async () => {
    const { guard, store, warnings } = harness({
      numberCooldownSeconds: 0,
      perNumberPerHour: 2,
      perPrefixPerHour: 1,
    });
    const email = (address: string): SendAttempt => ({
      phoneNumber: address,
      recipient: 'email',
      clientIp: undefined,
      unknownClient: false,
    });
    // One prefix allows one send an hour; the addresses are not phone numbers and share none.
    await guard.checkAndRecord(email('ada@example.com'));
    await guard.checkAndRecord(email('ada@example.com'));
    await guard.checkAndRecord(email('grace@example.com'));
    const third = await refusal(guard.checkAndRecord(email('ada@example.com')));
    expect(third.reason).toBe('number_rate_limited');
    expect([...store.rows.keys()].filter((k) => /^[pc]-/.test(k))).toEqual([]);
    expect(warnings.join('\n')).toContain('a***@e***.com');
    expect(warnings.join('\n')).not.toContain('ada@example.com');
  });

  it('caps all sends with the global ceiling', async () => {
    const { guard } = harness({ globalPerHour: 3 });
    for (let i = 0; i < 3; i++) await guard.checkAndRecord(send(`+1425${3_000_000 + i * 10_000}`));
    const error = await refusal(guard.checkAndRecord(send('+14259000000')));
    expect(error.reason).toBe('global_rate_limited');
  });

  it('reports the rule that holds the send back longest', async () => {
    const { guard, clock } = harness({ perNumberPerHour: 2 });
    await guard.checkAndRecord(send('+14252000001'));
    clock.advance(30_000);
    await guard.checkAndRecord(send('+14252000001'));
    clock.advance(5_000);
    // Both the cooldown (25 s) and the 10-minute count (9 min 25 s) fire.
    const error = await refusal(guard.checkAndRecord(send('+14252000001')));
    expect(error.reason).toBe('number_rate_limited');
    expect(error.headers['Retry-After']).toBe(String(600 - 35));
  });

  it('counts nothing for a refused send', async () => {
    const { guard, clock, store } = harness({ perNumberPerHour: 2 });
    await guard.checkAndRecord(send('+14252000001'));
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await refusal(guard.checkAndRecord(send('+14252000001')));
    }
    expect(store.writes).toBe(1);
    clock.advance(30_000);
    await expect(guard.checkAndRecord(send('+14252000001'))).resolves.toBeDefined();
  });

  it('logs each refusal once, with the masked number and the rule, never the number or IP', async () => {
    const { guard, warnings } = harness();
    await guard.checkAndRecord(send('+14255550100', ip('203.0.113.7')));
    await refusal(guard.checkAndRecord(send('+14255550100', ip('203.0.113.7'))));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('number_cooldown');
    expect(warnings[0]).toContain('+1******0100');
    expect(warnings[0]).not.toContain('4255550100');
    expect(warnings[0]).not.toContain('203.0.113.7');
  });

  it('stores only keyed hashes of numbers, prefixes and IPs', async () => {
    const { guard, store } = harness();
    await guard.checkAndRecord({ ...send('+14255550100', ip('203.0.113.7')), country: 'US' });
    const keys = [...store.rows.keys()];
    expect(keys).toHaveLength(5);
    expect(keys.join(' ')).not.toMatch(/4255550|203\.0\.113/);
    expect(keys.filter((key) => key === 'global' || key === 'c-US')).toHaveLength(2);
  });
});

describe('VelocityGuard storage cost', () => {
  it('costs one write and no read per send once the counters are known', async () => {
    const { guard, store, clock } = harness();
    for (let i = 0; i < 10; i++) {
      await guard.checkAndRecord(send(`+1425${3_000_000 + i * 10_000}`, ip('203.0.113.7')));
      clock.advance(1000);
    }
    expect(store.writes).toBe(10);
    expect(store.reads).toBe(0);
    expect(store.conflicts).toBe(0);
  });

  it('applies concurrent sends in one grouped transaction', async () => {
    const { guard, store } = harness();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        guard.checkAndRecord(send(`+1425${3_000_000 + i * 10_000}`)),
      ),
    );
    expect(results).toHaveLength(20);
    // The first send goes alone; the 19 that queued behind it share the next transaction.
    expect(store.writes).toBe(2);
    expect(store.rows.get('global')?.state.count).toBe(20);
  });

  it('reads and decides again when another instance changed a counter', async () => {
    const store = new MemoryStore();
    const a = harness({ numberCooldownSeconds: 0, perNumberPerHour: 2 }, store);
    const b = harness({ numberCooldownSeconds: 0, perNumberPerHour: 2 }, store);
    await a.guard.checkAndRecord(send('+14252000001'));
    await b.guard.checkAndRecord(send('+14252000001'));
    expect(store.conflicts).toBe(1);
    await refusal(a.guard.checkAndRecord(send('+14252000001')));
    expect(store.rows.get('global')?.state.count).toBe(2);
  });
});

describe('VelocityGuard when the store fails', () => {
  it('fail mode closed: 503 guard_unavailable, logged once with the masked number', async () => {
    const { guard, store, warnings } = harness();
    store.failure = new Error('ECONNREFUSED');
    const error: unknown = await guard
      .checkAndRecord(send('+14255550100'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardUnavailableError);
    expect(error).toMatchObject({ status: 503, reason: 'guard_unavailable' });
    expect(warnings).toEqual([expect.stringContaining('+1******0100')]);
  });

  it('fail mode open: the send goes through, marked degraded', async () => {
    const { guard, store } = harness({ failMode: 'open' });
    store.failure = new Error('ECONNREFUSED');
    await expect(guard.checkAndRecord(send('+14255550100'))).resolves.toEqual({ degraded: true });
  });

  it('treats endless conflicts as unavailable instead of looping', async () => {
    const { guard, store } = harness();
    store.alwaysConflict = true;
    await expect(guard.checkAndRecord(send('+14255550100'))).rejects.toBeInstanceOf(
      GuardUnavailableError,
    );
    expect(store.writes).toBe(8);
  });

  it('answers by the fail mode at once when too many sends wait for a slow store', async () => {
    const store = new MemoryStore();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowWrite = store.write.bind(store);
    store.write = async (writes) => {
      await gate;
      return slowWrite(writes);
    };
    const clock = new ManualClock();
    const guard = new VelocityGuard({
      store,
      settings: VELOCITY_DEFAULTS,
      secret: SECRET,
      now: () => clock.now(),
      logger: { warn: () => undefined },
      maxQueued: 3,
    });
    const first = guard.checkAndRecord(send('+14252000000'));
    const queued = [1, 2, 3].map((i) =>
      guard.checkAndRecord(send(`+1425${2_000_000 + i * 10_000}`)),
    );
    await expect(guard.checkAndRecord(send('+14259000000'))).rejects.toBeInstanceOf(
      GuardUnavailableError,
    );
    release();
    await expect(Promise.all([first, ...queued])).resolves.toHaveLength(4);
  });

  it('recovers once the store is back', async () => {
    const { guard, store } = harness();
    store.failure = new Error('ECONNREFUSED');
    await expect(guard.checkAndRecord(send('+14255550100'))).rejects.toBeInstanceOf(
      GuardUnavailableError,
    );
    store.failure = undefined;
    await expect(guard.checkAndRecord(send('+14255550100'))).resolves.toEqual({ degraded: false });
  });
});

describe('loadVelocitySettings', () => {
  it('has the issue defaults', () => {
    expect(loadVelocitySettings({})).toEqual(DOCUMENTED_VELOCITY_DEFAULTS);
  });

  it('reads every limit and reports every bad one at once', () => {
    expect(
      loadVelocitySettings({
        VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR: '1000000',
        VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS: '0',
        VERIFICATION_GUARD_FAIL_MODE: 'OPEN',
      }),
    ).toMatchObject({ perNumberPerHour: 1_000_000, numberCooldownSeconds: 0, failMode: 'open' });
    expect(
      configError(() =>
        loadVelocitySettings({
          VERIFICATION_LIMIT_PER_IP_PER_HOUR: '0',
          VERIFICATION_LIMIT_GLOBAL_PER_HOUR: 'lots',
          VERIFICATION_GUARD_FAIL_MODE: 'maybe',
          VERIFICATION_LIMIT_TABLE_NAME: 'bad-name',
        }),
      )
        .problems.map((p) => p.field)
        .sort(),
    ).toEqual([
      'VERIFICATION_GUARD_FAIL_MODE',
      'VERIFICATION_LIMIT_GLOBAL_PER_HOUR',
      'VERIFICATION_LIMIT_PER_IP_PER_HOUR',
      'VERIFICATION_LIMIT_TABLE_NAME',
    ]);
  });
});
