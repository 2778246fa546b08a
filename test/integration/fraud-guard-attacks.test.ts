/**
 * Issue 22: the attacks measured against the guard, replayed against the app on the in-process
 * local runtime with every embedded emulator and the default settings (only the secret is set).
 * Clients connect from their own loopback addresses (see `test/helpers/guard-clients.ts`). Time
 * comes from the runtime's manual clock; nothing sleeps.
 */
import { fetch } from 'undici';

import { inBatches, stackPerSuite, start, tally, verify } from '../helpers/guard-clients';

jest.setTimeout(300_000);

describe('attacks against the default settings', () => {
  const stack = stackPerSuite('guard-attacks');

  it('a 960-number spray from one client spends that client’s budget only: others stay served', async () => {
    // 960 UK mobile numbers (074x, 0745 left out: not all of it is mobile) spread over 90 prefixes, so
    // neither a prefix budget nor the conversion block (20 sends in one prefix) is what stops them.
    const digits = [0, 1, 2, 3, 4, 6, 7, 8, 9];
    const numbers = Array.from(
      { length: 960 },
      (_, i) => `+4474${digits[i % 9]}${Math.floor(i / 9) % 10}${String(i).padStart(6, '0')}`,
    );
    const answers = await inBatches(960, 16, (i) => start(stack, '127.0.0.2', numbers[i]!));
    expect(tally(answers)).toEqual({ '202': 20, '429 ip_rate_limited': 940 });
    await stack.host.whenIdle();
    expect(stack.twilio.messages().filter((m) => m.to.startsWith('+4474'))).toHaveLength(20);
    // The global cap was never reached: every other client is served.
    for (let c = 3; c <= 7; c++) {
      expect((await start(stack, `127.0.0.${c}`, `+44750${c}001234`)).status).toBe(202);
    }
  });

  it('rotating spoofed X-Forwarded-For values from one peer are counted as one client', async () => {
    const answers = await inBatches(30, 10, (i) =>
      start(stack, '127.0.0.8', `+336${10_000_000 + i * 10_000 + 1234}`, `198.51.${i}.${i + 1}`),
    );
    expect(tally(answers)).toEqual({ '202': 20, '429 ip_rate_limited': 10 });
  });

  it('a pumping campaign on one prefix is blocked after the threshold; a prefix that converts keeps working', async () => {
    // Prefix +142577 converts normally: every code sent is answered.
    const converting = (i: number) => `+14257${70 + (i % 10)}${String(1000 + i).padStart(4, '0')}`;
    for (let i = 0; i < 12; i++) {
      const phone = converting(i);
      const started = await start(stack, `127.0.1.${100 + (i % 4)}`, phone);
      expect(started.status).toBe(202);
      await verify(stack, started, phone);
    }
    // Prefix +142555 is pumped: 20 sends (the minimum), none answered, from 5 clients.
    const pumped = (i: number) => `+142555${i % 10}${String(2000 + i).padStart(4, '0')}`;
    const campaign = await inBatches(20, 5, (i) => start(stack, `127.0.1.${i % 5}`, pumped(i)));
    expect(tally(campaign)).toEqual({ '202': 20 });
    const blocked = await start(stack, '127.0.1.50', pumped(20));
    expect(blocked.status).toBe(403);
    expect(blocked.body).toMatchObject({ reason: 'conversion_blocked', blocked: 'prefix' });
    // 12 hours, as Twilio's Fraud Guard.
    await stack.host.whenIdle();
    const before = stack.twilio.messages().length;
    expect((await start(stack, '127.0.1.51', pumped(21))).status).toBe(403);
    // The converting prefix is untouched.
    for (let i = 12; i < 15; i++) {
      const phone = converting(i);
      const started = await start(stack, `127.0.1.${100 + (i % 4)}`, phone);
      expect(started.status).toBe(202);
      await verify(stack, started, phone);
    }
    await stack.host.whenIdle();
    expect(stack.twilio.messages().filter((m) => m.to.startsWith('+142555'))).toHaveLength(20);
    expect(stack.twilio.messages().length).toBe(before + 3);
    const report = await fetch(`${stack.host.url}/api/verifications/guard/report`, {
      headers: { 'x-functions-key': stack.host.keys.functionKey },
    });
    const rows = ((await report.json()) as { rows: Record<string, unknown>[] }).rows;
    expect(rows.find((r) => r.subject === '+142555')).toMatchObject({
      blocked: true,
      blockMode: 'on',
      sends: 20,
      completions: 0,
    });
    expect(rows.find((r) => r.subject === '+142577')).toMatchObject({
      blocked: false,
      sends: 15,
      completions: 15,
    });
  });

  it('five strangers’ starts do not lock a recently verified owner out; an unverified number is', async () => {
    const owner = '+16045550100';
    const started = await start(stack, '127.0.2.1', owner);
    expect(started.status).toBe(202);
    await verify(stack, started, owner);
    for (let s = 2; s <= 6; s++) {
      expect((await start(stack, `127.0.2.${s}`, owner)).status).toBe(202);
    }
    expect((await start(stack, '127.0.2.1', owner)).status).toBe(202);
    // The same strangers against a number nobody verified here: its owner is refused.
    const other = '+16045550199';
    expect((await start(stack, '127.0.2.2', other)).status).toBe(202);
    for (let s = 3; s <= 6; s++) {
      expect((await start(stack, `127.0.2.${s}`, other)).status).toBe(429);
    }
    expect((await start(stack, '127.0.2.1', other)).body.reason).toMatch(
      /^number_(cooldown|rate_limited)$/,
    );
  });
});
