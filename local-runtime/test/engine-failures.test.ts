import { SqliteStore } from '../src/store/sqlite-store';
import { createHarness, TestInvoker, type Harness } from './engine-harness';

/** A store whose next `failCommits` transactions run, then roll back as a failed COMMIT would. */
class FlakyStore extends SqliteStore {
  failCommits = 0;
  failures = 0;

  override transaction<T>(fn: () => T): T {
    if (this.failCommits === 0) return super.transaction(fn);
    this.failCommits--;
    this.failures++;
    return super.transaction(() => {
      fn();
      throw new Error('injected: disk I/O error on commit');
    });
  }
}

describe('durable engine: a failed write loses nothing and hangs nothing', () => {
  let h: Harness;
  let store: FlakyStore;
  const logs: string[] = [];

  async function harness(invoker: TestInvoker): Promise<Harness> {
    h = await createHarness(invoker, {
      openStore: (file) => (store = new FlakyStore(file)),
      log: (line) => logs.push(line),
    });
    return h;
  }

  afterEach(async () => {
    await h.close();
    logs.length = 0;
  });

  function flow(onActivity: () => void = () => undefined): TestInvoker {
    return new TestInvoker()
      .activity('work', (x) => {
        onActivity();
        return `did ${String(x)}`;
      })
      .orchestration('flow', function* (ctx) {
        const a: unknown = yield ctx.df.callActivity('work', ctx.df.getInput());
        yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 60_000));
        const ev: unknown = yield ctx.df.waitForExternalEvent('go');
        return { a, ev };
      });
  }

  it('retries an orchestration episode whose commit failed', async () => {
    await harness(flow());
    const id = await h.start('flow', 'job');
    // The start committed; the first episode's commit fails twice, then succeeds.
    store.failCommits = 2;
    await h.idle();
    expect(store.failures).toBe(2);
    expect(h.invoker.orchestratorInvocations).toBeGreaterThanOrEqual(3);
    expect(h.invoker.activityCalls).toHaveLength(1);
    await h.advance(60_000);
    expect(await h.raise(id, 'go', 7)).toBe(202);
    await h.idle();
    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { a: 'did job', ev: 7 },
    });
    expect(logs.some((l) => l.includes('injected'))).toBe(true);
  });

  it('runs an activity again when the commit of its result failed (at-least-once)', async () => {
    let calls = 0;
    await harness(
      flow(() => {
        calls++;
        // The next commit is this activity's result.
        if (calls === 1) store.failCommits = 1;
      }),
    );
    const id = await h.start('flow', 'job');
    await h.idle();
    expect(store.failures).toBe(1);
    expect(calls).toBe(2);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Running' });
    await h.advance(60_000);
    await h.raise(id, 'go', 1);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: { ev: 1 } });
  });

  it('fires a timer again when the commit of its firing failed', async () => {
    await harness(flow());
    const id = await h.start('flow', 'job');
    await h.idle();
    store.failCommits = 1;
    await h.advance(60_000);
    expect(store.failures).toBe(1);
    const status = await h.status(id, 'showHistory=true');
    const fired = (status.historyEvents as { EventType: string }[]).filter(
      (e) => e.EventType === 'TimerFired',
    );
    expect(fired).toHaveLength(1);
    await h.raise(id, 'go', 2);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: { ev: 2 } });
  });

  it('answers a start whose commit failed with an error and keeps nothing of it', async () => {
    await harness(flow());
    store.failCommits = 1;
    await expect(h.start('flow', 'job', 'lost-start')).rejects.toThrow();
    await h.idle();
    expect((await h.api('GET', '/runtime/webhooks/durabletask/instances/lost-start')).status).toBe(
      404,
    );
    // The same start succeeds once the store works again.
    await h.start('flow', 'job', 'lost-start');
    await h.idle();
    expect(await h.status('lost-start')).toMatchObject({ runtimeStatus: 'Running' });
  });
});
