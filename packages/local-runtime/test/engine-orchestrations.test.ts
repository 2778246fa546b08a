import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';
import {
  harnessPerTest,
  historyOf,
  TestInvoker,
  type Harness,
  type HarnessOptions,
} from './engine-harness';
import { tasksAndTimers } from './engine-harness';
import { EventType } from '../src/engine/history';
import { SqliteStore } from '../src/store/sqlite-store';

const SECOND = 1000;
const DAY = 86_400_000;

function add(ctx: OrchestrationContext, ms: number): Date {
  return new Date(ctx.df.currentUtcDateTime.getTime() + ms);
}

describe('durable engine: orchestrations (manual clock)', () => {
  const openHarness = harnessPerTest();

  /** A harness whose only function is `orchestrator`, with one instance of it started and run until it waits. */
  const startOnly = async (
    name: string,
    orchestrator: Parameters<TestInvoker['orchestration']>[1],
    options?: HarnessOptions,
  ): Promise<{ h: Harness; id: string }> => {
    const h = await openHarness(new TestInvoker().orchestration(name, orchestrator), options);
    const id = await h.start(name);
    await h.idle();
    return { h, id };
  };

  it('chains activities, passing inputs as the extension does, and records the history', async () => {
    const invoker = new TestInvoker()
      .activity('hello', (name) => `Hello ${String(name)}!`)
      .orchestration('chain', function* (ctx) {
        const out: unknown[] = [];
        out.push(yield ctx.df.callActivity('hello', 'Tokyo'));
        out.push(yield ctx.df.callActivity('hello', 'Seattle'));
        out.push(yield ctx.df.callActivity('hello', 'London'));
        return out;
      });
    const h = await openHarness(invoker);
    const id = await h.start('chain');
    await h.idle();
    const status = await h.status(id, 'showHistory=true&showHistoryOutput=true');
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual(['Hello Tokyo!', 'Hello Seattle!', 'Hello London!']);
    // A JS string input is pre-encoded by durable-functions and reaches the worker as JSON text.
    expect(invoker.activityCalls.map((c) => c.input)).toEqual(['"Tokyo"', '"Seattle"', '"London"']);
    const raw = h.engine.history(id);
    const scheduled = raw
      .filter((e) => e.EventType === EventType.TaskScheduled)
      .map((e) => e.EventId);
    expect(scheduled).toEqual([0, 1, 2]);
    const completed = historyOf(status).filter((e) => e.EventType === 'TaskCompleted');
    expect(completed).toHaveLength(3);
    expect(completed[0]).toMatchObject({ FunctionName: 'hello', Result: 'Hello Tokyo!' });
    expect(completed[0]).not.toHaveProperty('TaskScheduledId');
    expect(historyOf(status)[0]).toMatchObject({
      EventType: 'ExecutionStarted',
      FunctionName: 'chain',
    });
    expect(historyOf(status).at(-1)).toMatchObject({
      EventType: 'ExecutionCompleted',
      OrchestrationStatus: 'Completed',
    });
  });

  it('fans out and in with Task.all, numbering tasks in order', async () => {
    const invoker = new TestInvoker()
      .activity('square', (n) => Number(n) * Number(n))
      .orchestration('fan', function* (ctx) {
        const tasks = [1, 2, 3, 4, 5].map((n) => ctx.df.callActivity('square', n));
        const results = (yield ctx.df.Task.all(tasks)) as number[];
        return results.reduce((a, b) => a + b, 0);
      });
    const h = await openHarness(invoker, { maxConcurrentActivityFunctions: 2 });
    const id = await h.start('fan');
    await h.idle();
    const status = await h.status(id);
    expect(status.output).toBe(55);
    expect(
      h.engine
        .history(id)
        .filter((e) => e.EventType === EventType.TaskScheduled)
        .map((e) => e.EventId),
    ).toEqual([0, 1, 2, 3, 4]);
  });

  it('fires a durable timer only when the clock reaches it', async () => {
    const { h, id } = await startOnly('sleep', function* (ctx) {
      yield ctx.df.createTimer(add(ctx, 60 * SECOND));
      return 'woke';
    });
    await h.advance(59 * SECOND);
    expect((await h.status(id)).runtimeStatus).toBe('Running');
    await h.advance(1 * SECOND);
    const status = await h.status(id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe('woke');
    const fired = h.engine.history(id).find((e) => e.EventType === EventType.TimerFired)!;
    expect(fired.TimerId).toBe(0);
    expect(new Date(fired.Timestamp).getTime() - new Date(String(fired.FireAt)).getTime()).toBe(0);
  });

  it('splits a timer longer than the long-timer threshold into sub-timers with consecutive ids', async () => {
    const { h, id } = await startOnly('long', function* (ctx) {
      yield ctx.df.createTimer(add(ctx, 8 * DAY));
      return 'done';
    });
    for (let i = 0; i < 8; i++) await h.advance(DAY);
    const status = await h.status(id);
    expect(status.runtimeStatus).toBe('Completed');
    const raw = h.engine.history(id);
    const created = raw.filter((e) => e.EventType === EventType.TimerCreated);
    expect(created.map((e) => e.EventId)).toEqual([0, 1, 2]);
    const start = new Date('2030-01-01T00:00:00.000Z').getTime();
    expect(created.map((e) => (new Date(String(e.FireAt)).getTime() - start) / DAY)).toEqual([
      3, 6, 8,
    ]);
    expect(raw.filter((e) => e.EventType === EventType.TimerFired).map((e) => e.TimerId)).toEqual([
      0, 1, 2,
    ]);
  });

  it('Task.any of event vs timer: the event wins and the canceled timer does not hold completion', async () => {
    const { h, id } = await startOnly('race', function* (ctx) {
      const timeout = ctx.df.createTimer(add(ctx, 90 * SECOND));
      const code = ctx.df.waitForExternalEvent('code');
      const winner: unknown = yield ctx.df.Task.any([code, timeout]);
      if (winner === code) {
        timeout.cancel();
        return { via: 'event', value: code.result };
      }
      return { via: 'timeout' };
    });
    await h.advance(10 * SECOND);
    expect(await h.raise(id, 'code', '123456')).toBe(202);
    await h.idle();
    const status = await h.status(id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ via: 'event', value: '123456' });
    expect(h.clock.pendingWakeUps()).toBe(0);
  });

  it('Task.any of event vs timer: the timer wins after 90 s of manual time', async () => {
    const { h, id } = await startOnly('race', function* (ctx) {
      const timeout = ctx.df.createTimer(add(ctx, 90 * SECOND));
      const code = ctx.df.waitForExternalEvent('code');
      const winner: unknown = yield ctx.df.Task.any([code, timeout]);
      return winner === timeout ? 'timeout' : 'event';
    });
    await h.advance(89 * SECOND);
    expect((await h.status(id)).runtimeStatus).toBe('Running');
    await h.advance(1 * SECOND);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'timeout' });
  });

  it('buffers events raised before anybody waits, FIFO per name', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    const invoker = new TestInvoker()
      .activity('slow', async () => {
        await gate;
        return 'ok';
      })
      .orchestration('early', function* (ctx) {
        yield ctx.df.callActivity('slow');
        const a: unknown = yield ctx.df.waitForExternalEvent('e');
        const b: unknown = yield ctx.df.waitForExternalEvent('e');
        return [a, b];
      });
    const h = await openHarness(invoker);
    const id = await h.start('early');
    expect(await h.raise(id, 'e', 'first')).toBe(202);
    expect(await h.raise(id, 'e', 'second')).toBe(202);
    release!();
    await h.idle();
    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: ['first', 'second'],
    });
  });

  it('answers 410 for events to finished instances and 404 for unknown ones', async () => {
    const { h, id } = await startOnly('quick', function* () {
      yield* [];
      return 1;
    });
    expect((await h.status(id)).runtimeStatus).toBe('Completed');
    expect(await h.raise(id, 'late', 1)).toBe(410);
    expect(await h.raise('nope', 'late', 1)).toBe(404);
  });

  it('terminates a waiting instance; later events get 410', async () => {
    const { h, id } = await startOnly('wait', function* (ctx) {
      return yield ctx.df.waitForExternalEvent('never');
    });
    const res = await h.api(
      'POST',
      `/runtime/webhooks/durabletask/instances/${id}/terminate?reason=stop%20it`,
    );
    expect(res.status).toBe(202);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'stop it' });
    expect(await h.raise(id, 'never', 1)).toBe(410);
    expect(
      (await h.api('POST', `/runtime/webhooks/durabletask/instances/${id}/terminate`)).status,
    ).toBe(410);
  });

  it('suspends (events stay queued) and resumes', async () => {
    const { h, id } = await startOnly('wait', function* (ctx) {
      return yield ctx.df.waitForExternalEvent('go');
    });
    expect(
      (await h.api('POST', `/runtime/webhooks/durabletask/instances/${id}/suspend?reason=pause`))
        .status,
    ).toBe(202);
    await h.idle();
    expect((await h.status(id)).runtimeStatus).toBe('Suspended');
    expect(
      (await h.api('POST', `/runtime/webhooks/durabletask/instances/${id}/suspend`)).status,
    ).toBe(500);
    expect(await h.raise(id, 'go', 'payload')).toBe(202);
    await h.idle();
    expect((await h.status(id)).runtimeStatus).toBe('Suspended');
    expect(
      (await h.api('POST', `/runtime/webhooks/durabletask/instances/${id}/resume?reason=continue`))
        .status,
    ).toBe(202);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'payload' });
    expect(
      (await h.api('POST', `/runtime/webhooks/durabletask/instances/${id}/resume`)).status,
    ).toBe(410);
  });

  it('queues terminate, suspend and resume as ordinary inbox events (the DTFx control events)', async () => {
    let store: SqliteStore | undefined;
    const { h, id } = await startOnly(
      'wait',
      function* (ctx) {
        return yield ctx.df.waitForExternalEvent('go');
      },
      { openStore: (file) => (store = new SqliteStore(file)) },
    );
    const queued = (): { kind: string; event: Record<string, unknown> }[] =>
      store!.getInbox(id).map((m) => ({
        kind: m.kind,
        event: JSON.parse(m.payload) as Record<string, unknown>,
      }));
    const base = `/runtime/webhooks/durabletask/instances/${id}`;
    // The episode runs on a later turn of the event loop: right after the answer the message is still queued.
    expect((await h.api('POST', `${base}/suspend?reason=pause`)).status).toBe(202);
    expect(queued()).toMatchObject([
      { kind: 'event', event: { EventType: EventType.ExecutionSuspended, Reason: 'pause' } },
    ]);
    await h.idle();
    expect((await h.api('POST', `${base}/resume?reason=go%20on`)).status).toBe(202);
    expect(queued()).toMatchObject([
      { kind: 'event', event: { EventType: EventType.ExecutionResumed, Reason: 'go on' } },
    ]);
    await h.idle();
    expect((await h.api('POST', `${base}/terminate`)).status).toBe(202);
    expect(queued()).toMatchObject([
      { kind: 'event', event: { EventType: EventType.ExecutionTerminated, Input: '' } },
    ]);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Terminated', output: '' });
  });

  it('restarts a finished instance under the same id, and refuses to overwrite a running one', async () => {
    const invoker = new TestInvoker().orchestration('echo', function* (ctx) {
      const stop: unknown = yield ctx.df.waitForExternalEvent('stop');
      return { input: ctx.df.getInput(), stop };
    });
    const h = await openHarness(invoker);
    await h.start('echo', { n: 1 }, 'fixed-id');
    await h.idle();
    const again = await h.api('POST', '/runtime/webhooks/durabletask/orchestrators/echo/fixed-id', {
      body: { n: 2 },
    });
    expect(again.status).toBe(500);
    await h.raise('fixed-id', 'stop', 'a');
    await h.idle();
    expect(await h.status('fixed-id')).toMatchObject({
      runtimeStatus: 'Completed',
      output: { input: { n: 1 }, stop: 'a' },
    });
    await h.start('echo', { n: 2 }, 'fixed-id');
    await h.idle();
    expect(await h.status('fixed-id')).toMatchObject({
      runtimeStatus: 'Running',
      input: { n: 2 },
      output: null,
    });
    await h.raise('fixed-id', 'stop', 'b');
    await h.idle();
    expect(await h.status('fixed-id')).toMatchObject({
      runtimeStatus: 'Completed',
      output: { input: { n: 2 }, stop: 'b' },
    });
    // The old execution's history was replaced.
    expect(
      h.engine.history('fixed-id').filter((e) => e.EventType === EventType.ExecutionStarted),
    ).toHaveLength(1);
  });

  it('purges one instance and instances by filter', async () => {
    const invoker = new TestInvoker().orchestration('quick', function* (ctx) {
      yield* [];
      return ctx.df.getInput();
    });
    const h = await openHarness(invoker);
    const a = await h.start('quick', 1);
    const b = await h.start('quick', 2);
    const c = await h.start('quick', 3);
    await h.idle();
    const del = await h.api('DELETE', `/runtime/webhooks/durabletask/instances/${a}`);
    expect(del).toMatchObject({ status: 200, body: { instancesDeleted: 1 } });
    expect((await h.api('GET', `/runtime/webhooks/durabletask/instances/${a}`)).status).toBe(404);
    expect((await h.api('DELETE', `/runtime/webhooks/durabletask/instances/${a}`)).status).toBe(
      404,
    );
    const from = encodeURIComponent('2029-12-31T00:00:00Z');
    const byFilter = await h.api(
      'DELETE',
      `/runtime/webhooks/durabletask/instances?createdTimeFrom=${from}&runtimeStatus=Completed`,
    );
    expect(byFilter).toMatchObject({ status: 200, body: { instancesDeleted: 2 } });
    expect((await h.api('GET', `/runtime/webhooks/durabletask/instances/${b}`)).status).toBe(404);
    expect((await h.api('GET', `/runtime/webhooks/durabletask/instances/${c}`)).status).toBe(404);
    expect(
      (await h.api('DELETE', `/runtime/webhooks/durabletask/instances?createdTimeFrom=${from}`))
        .status,
    ).toBe(404);
  });

  it('continues as new until done, with a fresh history per generation', async () => {
    const invoker = new TestInvoker().orchestration('counter', function* (ctx) {
      const n = Number(ctx.df.getInput() ?? 0);
      yield ctx.df.createTimer(add(ctx, SECOND));
      if (n < 3) {
        ctx.df.continueAsNew(n + 1);
        return undefined;
      }
      return n;
    });
    const h = await openHarness(invoker);
    const id = await h.start('counter', 0);
    await h.idle();
    for (let i = 0; i < 4; i++) await h.advance(SECOND);
    const status = await h.status(id);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 3, input: 3 });
    expect(
      h.engine.history(id).filter((e) => e.EventType === EventType.ExecutionStarted),
    ).toHaveLength(1);
  });

  it('runs sub-orchestrations (default ids, results and failures)', async () => {
    const invoker = new TestInvoker()
      .activity('double', (n) => Number(n) * 2)
      .orchestration('child', function* (ctx) {
        const n = Number(ctx.df.getInput());
        if (n < 0) throw new Error('negative input');
        return yield ctx.df.callActivity('double', n);
      })
      .orchestration('parent', function* (ctx) {
        const a: unknown = yield ctx.df.callSubOrchestrator('child', 2);
        const b: unknown = yield ctx.df.callSubOrchestrator('child', 5, 'child-explicit');
        let failure = '';
        try {
          yield ctx.df.callSubOrchestrator('child', -1);
        } catch (e) {
          failure = e instanceof Error ? e.message : String(e);
        }
        return { a, b, failed: failure.includes('negative input') };
      });
    const h = await openHarness(invoker);
    const id = await h.start('parent');
    await h.idle();
    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { a: 4, b: 10, failed: true },
    });
    const created = h.engine
      .history(id)
      .filter((e) => e.EventType === EventType.SubOrchestrationInstanceCreated);
    expect(created.map((e) => e.EventId)).toEqual([0, 1, 2]);
    expect(created[1]!.InstanceId).toBe('child-explicit');
    expect(String(created[0]!.InstanceId)).toMatch(/^[0-9a-f]{32}:0$/);
    expect(await h.status('child-explicit')).toMatchObject({
      runtimeStatus: 'Completed',
      output: 10,
    });
    expect(await h.status(String(created[2]!.InstanceId))).toMatchObject({
      runtimeStatus: 'Failed',
    });
  });

  it('retries a failing activity with timers between attempts (callActivityWithRetry)', async () => {
    let calls = 0;
    const invoker = new TestInvoker()
      .activity('flaky', () => {
        calls++;
        if (calls < 3) throw new Error(`boom ${calls}`);
        return 'finally';
      })
      .orchestration('retry', function* (ctx) {
        return yield ctx.df.callActivityWithRetry('flaky', new df.RetryOptions(5000, 4), null);
      });
    const h = await openHarness(invoker);
    const id = await h.start('retry');
    await h.idle();
    expect(calls).toBe(1);
    await h.advance(4999);
    expect(calls).toBe(1);
    await h.advance(1);
    expect(calls).toBe(2);
    await h.advance(5000);
    expect(calls).toBe(3);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'finally' });
    const raw = h.engine.history(id);
    expect(tasksAndTimers(h, id)).toEqual([
      [4, 0],
      [10, 1],
      [4, 2],
      [10, 3],
      [4, 4],
    ]);
    const failed = raw.find((e) => e.EventType === EventType.TaskFailed)!;
    expect(failed.Reason).toBe("Activity function 'flaky' failed: boom 1");
    expect(typeof failed.Details).toBe('string');
  });

  it('fails after the last retry (with the extra back-compat timer) and records the failure', async () => {
    const invoker = new TestInvoker()
      .activity('broken', () => {
        throw new Error('always');
      })
      .orchestration('retry', function* (ctx) {
        return yield ctx.df.callActivityWithRetry('broken', new df.RetryOptions(1000, 2), 'x');
      });
    const h = await openHarness(invoker);
    const id = await h.start('retry');
    await h.idle();
    await h.advance(1000);
    const status = await h.status(id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain("Orchestrator function 'retry' failed:");
    expect(String(status.output)).toContain("Activity function 'broken' failed: always");
    const ids = h.engine
      .history(id)
      .filter((e) => [4, 10].includes(e.EventType))
      .map((e) => e.EventId);
    expect(ids).toEqual([0, 1, 2, 3]);
  });

  it('lets the orchestrator catch an activity failure (TaskFailed reason and details)', async () => {
    const invoker = new TestInvoker()
      .activity('broken', () => {
        throw new Error('kaput');
      })
      .orchestration('catcher', function* (ctx) {
        try {
          yield ctx.df.callActivity('broken');
          return 'unexpected';
        } catch (e) {
          return e instanceof Error ? e.message.split(' \n ')[0] : 'not an error';
        }
      });
    const h = await openHarness(invoker);
    const id = await h.start('catcher');
    await h.idle();
    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: "Activity function 'broken' failed: kaput",
    });
  });

  it('fails an orchestrator that throws, with the extension-style output', async () => {
    const { h, id } = await startOnly('thrower', function* () {
      yield* [];
      throw new Error('bad state');
    });
    const status = await h.status(id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toMatch(/^Orchestrator function 'thrower' failed: .*bad state/);
  });

  it('keeps the instance running while an uncanceled timer is open after the code returned', async () => {
    const { h, id } = await startOnly('forgetful', function* (ctx) {
      const timeout = ctx.df.createTimer(add(ctx, 30 * SECOND));
      const ev = ctx.df.waitForExternalEvent('x');
      yield ctx.df.Task.any([ev, timeout]);
      return 'returned';
    });
    await h.raise(id, 'x', 1);
    await h.idle();
    expect((await h.status(id)).runtimeStatus).toBe('Running');
    await h.advance(30 * SECOND);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'returned' });
  });

  it('sets custom status and serves many instances in parallel', async () => {
    const invoker = new TestInvoker()
      .activity('id', (x) => x)
      .orchestration('many', function* (ctx) {
        ctx.df.setCustomStatus({ stage: 'waiting' });
        const v: unknown = yield ctx.df.waitForExternalEvent('v');
        const r: unknown = yield ctx.df.callActivity('id', v);
        return r;
      });
    const h = await openHarness(invoker);
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) => h.start('many', undefined, `m-${i}`)),
    );
    await h.idle();
    expect(await h.status('m-7')).toMatchObject({
      runtimeStatus: 'Running',
      customStatus: { stage: 'waiting' },
    });
    await Promise.all(ids.map((id, i) => h.raise(id, 'v', i)));
    await h.idle();
    for (let i = 0; i < ids.length; i++) {
      expect(await h.status(ids[i]!)).toMatchObject({ runtimeStatus: 'Completed', output: i });
    }
  });

  it('retries a failing sub-orchestration under the same instance id (callSubOrchestratorWithRetry)', async () => {
    let attempts = 0;
    const invoker = new TestInvoker()
      .activity('maybe', () => {
        attempts++;
        if (attempts < 2) throw new Error('first attempt fails');
        return 'child ok';
      })
      .orchestration('child', function* (ctx) {
        return yield ctx.df.callActivity('maybe');
      })
      .orchestration('parent', function* (ctx) {
        return yield ctx.df.callSubOrchestratorWithRetry(
          'child',
          new df.RetryOptions(1000, 3),
          undefined,
          'the-child',
        );
      });
    const h = await openHarness(invoker);
    const id = await h.start('parent');
    await h.idle();
    expect((await h.status('the-child')).runtimeStatus).toBe('Failed');
    await h.advance(1000);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'child ok' });
    expect(await h.status('the-child')).toMatchObject({
      runtimeStatus: 'Completed',
      output: 'child ok',
    });
    const ids = h.engine
      .history(id)
      .filter((e) => [7, 10].includes(e.EventType))
      .map((e) => [e.EventType, e.EventId]);
    expect(ids).toEqual([
      [7, 0],
      [10, 1],
      [7, 2],
    ]);
  });

  it('passes the start version through to context.df.version', async () => {
    const invoker = new TestInvoker().orchestration('versioned', function* (ctx) {
      yield* [];
      return ctx.df.version;
    });
    const h = await openHarness(invoker);
    const res = await h.api(
      'POST',
      '/runtime/webhooks/durabletask/orchestrators/versioned/v-1?version=2.1',
    );
    expect(res.status).toBe(202);
    await h.idle();
    expect(await h.status('v-1')).toMatchObject({ runtimeStatus: 'Completed', output: '2.1' });
  });

  it('fails an orchestration that calls an entity no function implements, with a clear message', async () => {
    const { h, id } = await startOnly('entityUser', function* (ctx) {
      return yield ctx.df.callEntity(new df.EntityId('counter', 'k'), 'get');
    });
    const status = await h.status(id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain("The function 'counter' doesn't exist");
  });
});
