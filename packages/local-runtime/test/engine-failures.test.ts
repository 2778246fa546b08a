import { RESYNC_MAX_DELAY_MS } from '../src/engine/dispatcher';
import { SqliteStore } from '../src/store/sqlite-store';
import { createHarness, TestInvoker, type Harness } from './engine-harness';

/**
 * A store whose next `failCommits` transactions (and those whose 1-based number is in `failNumbers`) run, then
 * roll back as a failed COMMIT would.
 */
class FlakyStore extends SqliteStore {
  failCommits = 0;
  failNumbers = new Set<number>();
  failures = 0;
  transactions = 0;

  override transaction<T>(fn: () => T): T {
    this.transactions++;
    if (this.failCommits === 0 && !this.failNumbers.has(this.transactions))
      return super.transaction(fn);
    if (this.failCommits > 0) this.failCommits--;
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

  /** Lets `times` rebuilds after failed writes run: their back-off is on the engine's (manual) clock. */
  async function backOff(times: number): Promise<void> {
    for (let i = 0; i < times; i++) await h.advance(RESYNC_MAX_DELAY_MS);
  }

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

  /** Starts `flow` on a fresh harness and runs it until it waits on its timer (the activity has run). */
  async function startFlow(): Promise<string> {
    await harness(flow());
    const id = await h.start('flow', 'job');
    await h.idle();
    return id;
  }

  /** Starts `flow` with the next `failures` commits failing and lets every rebuild run; all of them failed. */
  async function startWithFailingCommits(failures: number): Promise<string> {
    await harness(flow());
    const id = await h.start('flow', 'job');
    store.failCommits = failures;
    await h.idle();
    await backOff(failures);
    expect(store.failures).toBe(failures);
    return id;
  }

  it('retries an orchestration episode whose commit failed', async () => {
    // The start committed; the first episode's commit fails twice, then succeeds.
    const id = await startWithFailingCommits(2);
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

  it('commits the result again, without running the activity again, when the commit of its result failed', async () => {
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
    await backOff(1);
    expect(store.failures).toBe(1);
    expect(calls).toBe(1);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Running' });
    await h.advance(60_000);
    await h.raise(id, 'go', 1);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: { ev: 1 } });
  });

  it('fires a timer again when the commit of its firing failed', async () => {
    const id = await startFlow();
    store.failCommits = 1;
    await h.advance(60_000);
    await backOff(1);
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

  it('answers a raise whose commit failed with an error, keeps nothing of it, and takes the same raise again', async () => {
    const id = await startFlow();
    await h.advance(60_000);
    store.failCommits = 1;
    expect(await h.raise(id, 'go', 3)).toBe(500);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Running' });
    expect(await h.raise(id, 'go', 4)).toBe(202);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: { ev: 4 } });
  });

  it('answers a terminate whose commit failed with an error, and terminates on the next one', async () => {
    const id = await startFlow();
    const terminate = (): Promise<number> =>
      h
        .api('POST', `/runtime/webhooks/durabletask/instances/${id}/terminate?reason=stop`)
        .then((r) => r.status);
    store.failCommits = 1;
    expect(await terminate()).toBe(500);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Running' });
    expect(await terminate()).toBe(202);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'stop' });
  });

  it('keeps retrying an episode while commits keep failing, and completes once they succeed', async () => {
    // Five failures in a row: the rebuild from the store backs off (10, 20, 40, 80, 160 ms) and tries again.
    const id = await startWithFailingCommits(5);
    await h.advance(60_000);
    expect(await h.raise(id, 'go', 8)).toBe(202);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: { ev: 8 } });
  });

  /**
   * One flow (start, first episode, activity result, its episode, timer firing, its episode, raise, last
   * episode), run once per commit with exactly that commit failing. A client operation whose commit failed is
   * answered with an error and sent again, as a client would; everything else must recover on its own.
   */
  it('completes the flow whichever single commit fails', async () => {
    async function runFlow(failNumber: number | undefined): Promise<number> {
      let activityRuns = 0;
      await harness(flow(() => activityRuns++));
      if (failNumber !== undefined) store.failNumbers.add(failNumber);
      const id = 'every-step';
      await h.start('flow', 'job', id).catch(() => h.start('flow', 'job', id));
      await h.idle();
      await backOff(1);
      await h.advance(60_000);
      await backOff(1);
      if ((await h.raise(id, 'go', 9)) !== 202) expect(await h.raise(id, 'go', 9)).toBe(202);
      await h.idle();
      await backOff(1);
      expect({ failNumber, status: await h.status(id) }).toMatchObject({
        failNumber,
        status: { runtimeStatus: 'Completed', output: { a: 'did job', ev: 9 } },
      });
      // A failed commit is retried as a commit: the activity itself ran once.
      expect(activityRuns).toBe(1);
      expect(store.failures).toBe(failNumber === undefined ? 0 : 1);
      return store.transactions;
    }
    const commits = await runFlow(undefined);
    expect(commits).toBeGreaterThanOrEqual(8);
    for (let n = 1; n <= commits; n++) {
      await h.close(); // afterEach closes the last one
      await runFlow(n);
    }
  });
});
