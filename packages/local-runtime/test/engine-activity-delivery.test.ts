/**
 * Activities under failing writes and cut-short runs (durabletask-go's dequeue count and lock):
 * - while the store fails every commit, an activity is never run again: each send attempt texts once;
 * - an activity started again and again without completing (a crash or stop mid-run each time) is failed into
 *   history as a poison activity after the bound, instead of running forever.
 * Everything runs on the engine's manual clock: the 30 s outage takes no real time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../src/contracts';
import { ManualClock } from '../src/clock';
import { SqliteStore } from '../src/store/sqlite-store';
import { createHarness, historyOf, TestInvoker, type Harness } from './engine-harness';

/** Fails every commit while the engine's clock is before `outageUntil` (a full or locked database file). */
class OutageStore extends SqliteStore {
  outageUntil = 0;
  failures = 0;

  constructor(
    file: string,
    private readonly clock: Clock,
  ) {
    super(file);
  }

  override transaction<T>(fn: () => T): T {
    if (this.clock.now().getTime() >= this.outageUntil) return super.transaction(fn);
    this.failures++;
    return super.transaction(() => {
      fn();
      throw new Error('injected: database or disk is full');
    });
  }
}

const OUTAGE_MS = 30_000;

it('sends one SMS per send attempt while every commit fails for 30 s (twice: around the send and before it)', async () => {
  const clock = new ManualClock();
  let store: OutageStore | undefined;
  const sent: number[] = [];
  const invoker = new TestInvoker()
    .activity('SendSms', (attempt) => {
      sent.push(Number(attempt));
      // The first send's result cannot be written: the disk fills up while it is on its way.
      if (attempt === 1) store!.outageUntil = clock.now().getTime() + OUTAGE_MS;
      return `SM${String(attempt)}`;
    })
    .orchestration('verify', function* (ctx) {
      const first: unknown = yield ctx.df.callActivity('SendSms', 1);
      yield ctx.df.waitForExternalEvent('resend');
      const second: unknown = yield ctx.df.callActivity('SendSms', 2);
      return [first, second];
    });
  const h: Harness = await createHarness(invoker, {
    clock,
    openStore: (file) => (store = new OutageStore(file, clock)),
  });
  try {
    const id = await h.start('verify');
    await h.idle();
    for (let t = 0; t < OUTAGE_MS + 10_000; t += 500) {
      await h.advance(500);
      expect(sent).toEqual([1]);
    }
    const afterFirst = store!.failures;
    expect(afterFirst).toBeGreaterThan(5);
    // The resend is accepted, then the store fails before the second send is even scheduled.
    expect(await h.raise(id, 'resend')).toBe(202);
    store!.outageUntil = clock.now().getTime() + OUTAGE_MS;
    await h.idle();
    for (let t = 0; t < OUTAGE_MS + 10_000; t += 500) {
      await h.advance(500);
      expect(sent.length).toBeLessThanOrEqual(2);
    }
    expect(store!.failures).toBeGreaterThan(afterFirst);
    expect(sent).toEqual([1, 2]);
    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: ['SM1', 'SM2'],
    });
  } finally {
    await h.close();
  }
});

it('fails an activity into history as a poison one after 5 starts that never completed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poison-'));
  const databasePath = path.join(dir, 'hub.db');
  let starts = 0;
  const invoker = new TestInvoker()
    // Never completes: each engine below stops (as a crash would end it) while it runs.
    .activity('Hang', () => {
      starts++;
      return new Promise(() => undefined);
    })
    .orchestration('stuck', function* (ctx) {
      try {
        yield ctx.df.callActivity('Hang');
        return 'completed';
      } catch (e) {
        return `caught: ${(e as Error).message}`;
      }
    });
  try {
    let h = await createHarness(invoker, { databasePath, stopGraceMs: 10 });
    const id = await h.start('stuck');
    for (let run = 1; run <= 5; run++) {
      // The engine is never idle while the activity hangs: wait for this run's start instead.
      while (starts < run) await new Promise((resolve) => setTimeout(resolve, 5));
      await h.close();
      h = await createHarness(invoker, { databasePath, stopGraceMs: 10 });
    }
    await h.idle();
    expect(starts).toBe(5);
    const status = await h.status(id, 'showHistory=true');
    expect(status).toMatchObject({ runtimeStatus: 'Completed' });
    expect(String(status.output)).toContain('started 5 times without completing (poison activity)');
    expect(historyOf(status).some((e) => e.EventType === 'TaskFailed')).toBe(true);
    await h.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
