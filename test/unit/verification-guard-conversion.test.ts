import { ManualClock } from '@local/durable-runtime';
import { loadGuardSettings, SendGuard } from '../../src/verification/guard/send-guard';
import { ConversionGuard } from '../../src/verification/guard/conversion';
import {
  loadFraudGuardSettings,
  type ConversionSettings,
} from '../../src/verification/guard/settings';
import type {
  CounterWrite,
  StoredCounter,
  VelocityStore,
} from '../../src/verification/guard/velocity';
import { InMemoryRowStore } from './helpers/in-memory';

const DEFAULTS = loadFraudGuardSettings({}).conversion;
const HOUR = 3_600_000;

function conversionHarness(overrides: Partial<ConversionSettings> = {}) {
  const clock = new ManualClock('2030-01-01T00:00:00.000Z');
  const store = new InMemoryRowStore();
  const warnings: string[] = [];
  const guard = new ConversionGuard({
    store,
    settings: { ...DEFAULTS, ...overrides },
    now: () => clock.now(),
    logger: { warn: (message) => warnings.push(message) },
  });
  /** One send through admit + recordSend, as the SendGuard does it; the refusal or 'sent'. */
  const send = async (e164: string, country = 'US'): Promise<string> => {
    const admission = await guard.admit(e164, country);
    if (admission.refusal !== undefined) return admission.refusal.reason;
    await guard.recordSend(admission);
    return 'sent';
  };
  return { clock, store, warnings, guard, send };
}

/** Twenty numbers of one conversion prefix (`+142555` with the default 6 digits). */
const pumped = (i: number) => `+1425555${String(i).padStart(4, '0')}`;

describe('ConversionGuard', () => {
  it('blocks a prefix whose conversion collapses once it has the minimum sends, for 12 hours', async () => {
    const { send, clock, warnings, guard } = conversionHarness();
    for (let i = 0; i < 20; i++) expect(await send(pumped(i))).toBe('sent');
    expect(warnings).toEqual([
      'Fraud guard blocked prefix +142555 for 12 h: 0 of 20 codes verified',
    ]);
    expect(await send(pumped(99))).toBe('conversion_blocked');
    const admission = await guard.admit(pumped(98), 'US');
    expect(admission.refusal?.headers['Retry-After']).toBe(String(12 * 3600));
    expect(admission.refusal?.status).toBe(403);
    // Another prefix of the same country is untouched (the country has fewer than 100 sends).
    expect(await send('+14256660100')).toBe('sent');
    clock.advance(12 * HOUR);
    expect(await send(pumped(99))).toBe('sent');
  });

  it('keeps a prefix that converts above the threshold working', async () => {
    const { send, guard } = conversionHarness();
    for (let i = 0; i < 40; i++) {
      expect(await send(pumped(i))).toBe('sent');
      // One in four completes: 25 % is above the default 20 %.
      if (i % 4 === 0) await guard.recordCompletion(pumped(i), 'US');
    }
    expect(await send(pumped(41))).toBe('sent');
  });

  it('forgets sends older than the sliding window', async () => {
    const { send, clock } = conversionHarness();
    for (let i = 0; i < 19; i++) await send(pumped(i));
    // The window slides by slots of a twelfth of it (2 h): 26 h later the old slot is out.
    clock.advance(26 * HOUR);
    for (let i = 0; i < 19; i++) expect(await send(pumped(i))).toBe('sent');
  });

  it('dry-run decides the same block but refuses nothing, and counts what it would have refused', async () => {
    const { send, warnings, guard } = conversionHarness({ mode: 'dry-run' });
    for (let i = 0; i < 25; i++) expect(await send(pumped(i))).toBe('sent');
    expect(warnings[0]).toBe(
      'Fraud guard dry-run: would block prefix +142555 for 12 h: 0 of 20 codes verified',
    );
    const report = await guard.report();
    expect(report.mode).toBe('dry-run');
    expect(report.rows[0]).toMatchObject({
      kind: 'prefix',
      subject: '+142555',
      blocked: true,
      blockMode: 'dry-run',
      dryRunRefusals: 5,
    });
  });

  it('never counts or blocks a safe-listed number or prefix', async () => {
    const { send, store } = conversionHarness({ safeList: ['+142555'] });
    for (let i = 0; i < 30; i++) expect(await send(pumped(i))).toBe('sent');
    expect(store.rows.size).toBe(0);
  });

  it('off counts nothing', async () => {
    const { send, store } = conversionHarness({ mode: 'off' });
    for (let i = 0; i < 30; i++) expect(await send(pumped(i))).toBe('sent');
    expect(store.rows.size).toBe(0);
  });

  it('blocks a whole country after its own minimum', async () => {
    const { send } = conversionHarness({ countryMinSends: 30, prefixMinSends: 1000 });
    for (let i = 0; i < 30; i++)
      expect(await send(`+4474${String(i).padStart(8, '0')}`, 'GB')).toBe('sent');
    expect(await send('+447912345678', 'GB')).toBe('conversion_blocked');
    expect(await send('+14255550100', 'US')).toBe('sent');
  });
});

/** Velocity counters that always allow (the conversion rule is under test here). */
class OpenVelocityStore implements VelocityStore {
  private version = 0;
  read(): Promise<ReadonlyMap<string, StoredCounter>> {
    return Promise.resolve(new Map());
  }
  write(writes: readonly CounterWrite[]): Promise<ReadonlyMap<string, string>> {
    return Promise.resolve(new Map(writes.map((w) => [w.key, `"${++this.version}"`])));
  }
}

/** A SendGuard on `clock` with the prefix budget out of the way and in-memory stores. */
function sendGuard(
  clock: ManualClock,
  safeListStore = new InMemoryRowStore(),
  settings: Record<string, string> = {},
): SendGuard {
  return new SendGuard({
    settings: loadGuardSettings({ VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '1000', ...settings }),
    store: new OpenVelocityStore(),
    conversionStore: new InMemoryRowStore(),
    verifiedStore: new InMemoryRowStore(),
    safeListStore,
    secret: 'unit-test-secret-0123456789abcdef',
    now: () => clock.now(),
    logger: { warn: () => undefined },
  });
}

const headers = (ip: string) => new Headers({ 'x-forwarded-for': ip });

/** Twenty strangers, each from their own address, start verifications on one prefix and never finish them. */
async function pumpPrefix(guard: SendGuard): Promise<void> {
  for (let i = 0; i < 20; i++) await guard.check(pumped(i), headers(`198.51.100.${i}`));
}

/** After `pumpPrefix`, the next stranger on the prefix is refused with a conversion block. */
async function expectPrefixBlockedByStrangers(guard: SendGuard): Promise<void> {
  await pumpPrefix(guard);
  await expect(guard.check(pumped(50), headers('198.51.100.60'))).rejects.toMatchObject({
    reason: 'conversion_blocked',
  });
}

describe('SendGuard: a recently verified owner', () => {
  it('is exempt from a conversion block that strangers caused on its prefix', async () => {
    const clock = new ManualClock('2030-01-01T00:00:00.000Z');
    const guard = sendGuard(clock);
    const owner = '+14255559999';
    await guard.recordVerified(owner);
    await expectPrefixBlockedByStrangers(guard);
    await expect(guard.check(owner, headers('203.0.113.7'))).resolves.toMatchObject({
      e164: owner,
    });
    // Verified 31 days ago is not recent any more.
    clock.advance(31 * 24 * HOUR);
    await pumpPrefix(guard);
    await expect(guard.check(owner, headers('203.0.113.7'))).rejects.toMatchObject({
      reason: 'conversion_blocked',
    });
  });
});

describe('SendGuard: the SafeList', () => {
  it('exempts a safe-listed number from a conversion block on its prefix, until it is removed', async () => {
    const safeListStore = new InMemoryRowStore();
    const guard = sendGuard(new ManualClock('2030-01-01T00:00:00.000Z'), safeListStore);
    const listed = '+14255559998';
    const entry = await guard.safeList.add(listed);
    expect(entry.sid).toMatch(/^GN[0-9a-f]{32}$/);
    // Adding again answers the same entry; the row key is an HMAC, never the number.
    await expect(guard.safeList.add(listed)).resolves.toEqual(entry);
    expect([...safeListStore.rows.keys()].join()).not.toContain('4255559998');
    expect(JSON.stringify([...safeListStore.rows.values()])).not.toContain('4255559998');
    await expectPrefixBlockedByStrangers(guard);
    await expect(guard.check(listed, headers('203.0.113.7'))).resolves.toMatchObject({
      e164: listed,
    });
    await expect(guard.safeList.remove(listed)).resolves.toBe(true);
    await expect(guard.safeList.find(listed)).resolves.toBeUndefined();
    await expect(guard.check(listed, headers('203.0.113.8'))).rejects.toMatchObject({
      reason: 'conversion_blocked',
    });
  });
});

describe('SendGuard with conversion off', () => {
  it('never reads the SafeList, which only exempts from the conversion block', async () => {
    const safeListStore = new InMemoryRowStore();
    const reads = jest.spyOn(safeListStore, 'read');
    const guard = sendGuard(new ManualClock('2030-01-01T00:00:00.000Z'), safeListStore, {
      VERIFICATION_FRAUD_GUARD_MODE: 'off',
    });
    await expect(guard.check('+14255559997', headers('203.0.113.9'))).resolves.toMatchObject({
      e164: '+14255559997',
    });
    await guard.recordVerified('+14255559997');
    expect(reads).not.toHaveBeenCalled();
  });
});
