import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../src/clock';
import { createHarness, TestInvoker } from './engine-harness';

describe('durable engine: persistence across reopen of the same database file', () => {
  let dir: string;
  let databasePath: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-engine-'));
    databasePath = path.join(dir, 'nested', 'durable.sqlite');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function invokerWith(activity: (input: unknown) => unknown): TestInvoker {
    return new TestInvoker().activity('work', activity).orchestration('flow', function* (ctx) {
      const a: unknown = yield ctx.df.callActivity('work', ctx.df.getInput());
      const ev: unknown = yield ctx.df.waitForExternalEvent('go');
      return { a, ev };
    });
  }

  it('continues a waiting instance after a restart, in WAL mode', async () => {
    const clock = new ManualClock();
    const first = await createHarness(
      invokerWith((x) => `did ${String(x)}`),
      { databasePath, clock },
    );
    const id = await first.start('flow', 'job');
    await first.idle();
    expect((await first.status(id)).runtimeStatus).toBe('Running');
    await first.close();

    const db = new Database(databasePath, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();

    const second = await createHarness(
      invokerWith(() => 'must not run again'),
      { databasePath, clock },
    );
    expect(await second.raise(id, 'go', 42)).toBe(202);
    await second.idle();
    expect(await second.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { a: 'did job', ev: 42 },
    });
    expect(second.invoker.activityCalls).toHaveLength(0);
    await second.close();
  });

  it('re-runs an activity that was in flight when the engine went away (at-least-once)', async () => {
    const clock = new ManualClock();
    const never = new Promise<never>(() => undefined);
    const first = await createHarness(
      invokerWith(() => never),
      { databasePath, clock, stopGraceMs: 0 },
    );
    const id = await first.start('flow', 'job');
    // Wait until the activity has been handed to the worker, then stop without letting it finish.
    for (let i = 0; i < 50 && first.invoker.activityCalls.length === 0; i++)
      await new Promise((r) => setImmediate(r));
    expect(first.invoker.activityCalls).toHaveLength(1);
    await first.close();

    const second = await createHarness(
      invokerWith((x) => `redo ${String(x)}`),
      { databasePath, clock },
    );
    await second.idle();
    expect(second.invoker.activityCalls).toEqual([
      { name: 'work', input: '"job"', instanceId: id },
    ]);
    await second.raise(id, 'go', true);
    await second.idle();
    expect(await second.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { a: 'redo job', ev: true },
    });
    await second.close();
  });

  it('fires timers that became overdue while the engine was down', async () => {
    const clock = new ManualClock();
    const invoker = (): TestInvoker =>
      new TestInvoker().orchestration('sleeper', function* (ctx) {
        yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 60_000));
        return 'awake';
      });
    const first = await createHarness(invoker(), { databasePath, clock });
    const id = await first.start('sleeper');
    await first.idle();
    await first.close();
    clock.advance(120_000);
    const second = await createHarness(invoker(), { databasePath, clock });
    await second.idle();
    expect(await second.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'awake' });
    await second.close();
  });

  it('delivers an event that was accepted but not yet processed before the stop', async () => {
    const clock = new ManualClock();
    const first = await createHarness(
      invokerWith((x) => x),
      { databasePath, clock },
    );
    const id = await first.start('flow', 'j');
    await first.idle();
    // Accepted (202, persisted) and immediately stopped: no episode got to run.
    const accepted = first.raise(id, 'go', 'late');
    const closing = first.close();
    expect(await accepted).toBe(202);
    await closing;
    const second = await createHarness(
      invokerWith((x) => x),
      { databasePath, clock },
    );
    await second.idle();
    expect(await second.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { a: 'j', ev: 'late' },
    });
    await second.close();
  });

  it('stops within the grace period while an orchestrator episode hangs, and runs it again on the next start', async () => {
    const clock = new ManualClock();
    const hanging = invokerWith((x) => x);
    let episodes = 0;
    hanging.invokeOrchestrator = () => {
      episodes++;
      return new Promise<never>(() => undefined);
    };
    const first = await createHarness(hanging, { databasePath, clock, stopGraceMs: 20 });
    const id = await first.start('flow', 'stuck');
    for (let i = 0; i < 50 && episodes === 0; i++) await new Promise((r) => setImmediate(r));
    expect(episodes).toBe(1);
    await first.close(); // resolves after the 20 ms grace instead of waiting for the episode

    const second = await createHarness(
      invokerWith((x) => `did ${String(x)}`),
      { databasePath, clock },
    );
    await second.idle();
    await second.raise(id, 'go', 1);
    await second.idle();
    expect(await second.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { a: 'did stuck', ev: 1 },
    });
    await second.close();
  });

  it('honours terminate, suspend and resume rows that an earlier version queued as control kinds', async () => {
    const clock = new ManualClock();
    const first = await createHarness(
      invokerWith((x) => `did ${String(x)}`),
      { databasePath, clock },
    );
    const held = await first.start('flow', 'job', 'legacy-held');
    const stopped = await first.start('flow', 'job', 'legacy-stopped');
    await first.idle();
    await first.close();

    // What versions before the control events wrote: inbox rows of kind terminate/suspend/resume, `{reason}`.
    const db = new Database(databasePath);
    const legacy = db.prepare(
      'INSERT INTO inbox (instance_id, execution_id, kind, payload) VALUES (?, NULL, ?, ?)',
    );
    legacy.run(held, 'suspend', JSON.stringify({ reason: 'hold' }));
    legacy.run(stopped, 'terminate', JSON.stringify({ reason: 'old stop' }));
    db.close();

    const second = await createHarness(
      invokerWith((x) => `did ${String(x)}`),
      { databasePath, clock },
    );
    await second.idle();
    expect(await second.status(stopped)).toMatchObject({
      runtimeStatus: 'Terminated',
      output: 'old stop',
    });
    expect(await second.status(held)).toMatchObject({ runtimeStatus: 'Suspended' });
    expect(await second.raise(held, 'go', 5)).toBe(202);
    await second.idle();
    expect(await second.status(held)).toMatchObject({ runtimeStatus: 'Suspended' });
    await second.close();

    const db2 = new Database(databasePath);
    db2
      .prepare(
        "INSERT INTO inbox (instance_id, execution_id, kind, payload) VALUES (?, NULL, 'resume', '{}')",
      )
      .run(held);
    db2.close();
    const third = await createHarness(
      invokerWith((x) => `did ${String(x)}`),
      { databasePath, clock },
    );
    await third.idle();
    const status = await third.status(held, 'showHistory=true');
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { a: 'did job', ev: 5 } });
    const types = (status.historyEvents as { EventType: string; Reason?: unknown }[]).map((e) => [
      e.EventType,
      e.Reason,
    ]);
    expect(types).toContainEqual(['ExecutionSuspended', 'hold']);
    expect(types).toContainEqual(['ExecutionResumed', null]);
    await third.close();
  });
});
