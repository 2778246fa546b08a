/**
 * The meter behind Verify's programmable rate limits, on Table Storage (Azurite) with a manual
 * clock: windows end on the clock, two app instances share the counts, and a full bucket counts
 * nothing anywhere. The HTTP side (the twilio SDK) is in verify-api.test.ts.
 */
import { ManualClock } from '@local/durable-runtime';
import { connectionStringStorage, useSuiteAzurite } from '../helpers/azurite';
import { TableRowStore } from '../../src/verification/guard/row-store';
import { VerifyApiError } from '../../src/verify/errors';
import { RateLimitMeter } from '../../src/verify/rate-limits';
import type { BucketRecord, RateLimitRecord } from '../../src/verify/store';

const azurite = useSuiteAzurite();
let tables = 0;

/** Two meters (two instances of the app) on one fresh table, reading the same clock. */
function instances(clock: ManualClock): [RateLimitMeter, RateLimitMeter] {
  tables += 1;
  const storage = connectionStringStorage(azurite().connectionString);
  const make = () =>
    new RateLimitMeter({
      store: () => TableRowStore.create(storage, `RateLimitMeter${tables}`, 'ratelimit-counter'),
      secret: () => 'rate-limit-meter-test-secret',
      now: () => clock.now(),
    });
  return [make(), make()];
}

const at = '2030-01-01T00:00:00.000Z';
const bucket = (sid: string, max: number, interval: number): BucketRecord => ({
  sid: `BL${sid.padStart(32, '0')}`,
  max,
  interval,
  dateCreated: at,
  dateUpdated: at,
});
const rateLimit = (uniqueName: string, buckets: BucketRecord[]): RateLimitRecord => ({
  sid: `RK${uniqueName.length.toString(16).padStart(32, '0')}`,
  uniqueName,
  description: null,
  dateCreated: at,
  dateUpdated: at,
  buckets,
});

/** The Twilio code and Retry-After a refusal carries, or 'sent'. */
async function outcome(send: Promise<void>): Promise<string> {
  try {
    await send;
    return 'sent';
  } catch (error: unknown) {
    if (!(error instanceof VerifyApiError)) throw error;
    return `${error.code} retry ${error.headers['Retry-After'] ?? '-'}`;
  }
}

describe('RateLimitMeter on Table Storage', () => {
  it('a window of Interval seconds ends on the clock, shared by two instances', async () => {
    const clock = new ManualClock(at);
    const [first, second] = instances(clock);
    const limits = [rateLimit('ip', [bucket('1', 2, 60)])];
    const ip = { ip: '203.0.113.7' };
    expect(await outcome(first.admit(limits, ip))).toBe('sent');
    clock.advance(10_000);
    expect(await outcome(second.admit(limits, ip))).toBe('sent');
    clock.advance(20_000);
    expect(await outcome(first.admit(limits, ip))).toBe('20429 retry 30');
    expect(await outcome(second.admit(limits, { ip: '198.51.100.4' }))).toBe('sent');
    clock.advance(29_000);
    expect(await outcome(second.admit(limits, ip))).toBe('20429 retry 1');
    clock.advance(1_000);
    expect(await outcome(first.admit(limits, ip))).toBe('sent');
    expect(await outcome(second.admit(limits, ip))).toBe('sent');
    expect(await outcome(first.admit(limits, ip))).toBe('20429 retry 60');
  });

  it('a send refused by one bucket counts in none; every bucket of every named rate limit applies', async () => {
    const clock = new ManualClock(at);
    const [meter] = instances(clock);
    const limits = [
      rateLimit('ip', [bucket('a', 3, 60), bucket('b', 5, 3600)]),
      rateLimit('user', [bucket('c', 1, 60)]),
    ];
    const send = (user: string) => outcome(meter.admit(limits, { ip: '203.0.113.7', user }));
    expect(await send('alice')).toBe('sent');
    // Refused by the user's bucket: the IP's buckets do not count it.
    expect(await send('alice')).toBe('20429 retry 60');
    expect(await send('alice')).toBe('20429 retry 60');
    expect(await send('bob')).toBe('sent');
    expect(await send('carol')).toBe('sent');
    // The IP's minute bucket is full now (3), after three sends that were made.
    expect(await send('dave')).toBe('20429 retry 60');
    clock.advance(60_000);
    expect(await send('erin')).toBe('sent');
    expect(await send('frank')).toBe('sent');
    // The hour bucket holds 5 sends: refused until its window ends.
    expect(await send('grace')).toBe('20429 retry 3540');
    // Only the rate limits named apply.
    expect(await outcome(meter.admit(limits, { user: 'heidi' }))).toBe('sent');
    expect(await outcome(meter.admit(limits, {}))).toBe('sent');
    await expect(meter.admit(limits, { nope: 'x' })).rejects.toMatchObject({ code: 60200 });
  });

  it('concurrent sends of one value never exceed Max', async () => {
    const clock = new ManualClock(at);
    const [first, second] = instances(clock);
    const limits = [rateLimit('ip', [bucket('1', 3, 60)])];
    const sends = Array.from({ length: 10 }, (_, i) =>
      outcome((i % 2 === 0 ? first : second).admit(limits, { ip: '203.0.113.7' })),
    );
    const outcomes = await Promise.all(sends);
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(3);
    expect(outcomes.filter((o) => o.startsWith('20429'))).toHaveLength(7);
  });
});
