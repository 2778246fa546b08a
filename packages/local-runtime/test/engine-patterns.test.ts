import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OrchestrationContext, TimerTask } from 'durable-functions';
import { SystemClock } from '../src/clock';
import { harnessPerTest, tasksAndTimers, TestInvoker, type Harness } from './engine-harness';
import { EventType } from '../src/engine/history';

/** The phone-verification shape: one deadline timer reused across a Task.any per attempt. */
function* verification(ctx: OrchestrationContext): Generator<unknown, unknown, unknown> {
  const expected: unknown = yield ctx.df.callActivity('send', ctx.df.getInput());
  const timer: TimerTask = ctx.df.createTimer(
    new Date(ctx.df.currentUtcDateTime.getTime() + 90_000),
  );
  let remaining = 4;
  while (remaining > 0) {
    const reply = ctx.df.waitForExternalEvent('code');
    const winner: unknown = yield ctx.df.Task.any([reply, timer]);
    if (winner === timer) return 'expired';
    remaining--;
    if (reply.result === expected) {
      timer.cancel();
      return 'verified';
    }
    ctx.df.setCustomStatus({ remaining });
  }
  timer.cancel();
  return 'too_many_attempts';
}

describe('durable engine: verification-style flows and dispatching', () => {
  const openHarness = harnessPerTest();

  const makeInvoker = (): TestInvoker =>
    new TestInvoker().activity('send', () => '123456').orchestration('verify', verification);

  /** A verification of `phone` started and run until it waits for a code (the code is 123456). */
  const startVerification = async (phone: string): Promise<{ h: Harness; id: string }> => {
    const h = await openHarness(makeInvoker());
    const id = await h.start('verify', phone);
    await h.idle();
    return { h, id };
  };

  it('verifies after a wrong code', async () => {
    const { h, id } = await startVerification('+15550001');
    await h.raise(id, 'code', '000000');
    await h.idle();
    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Running',
      customStatus: { remaining: 3 },
    });
    await h.raise(id, 'code', '123456');
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'verified' });
    expect(h.clock.pendingWakeUps()).toBe(0);
  });

  it('expires when the manual clock passes 90 s, even after wrong codes', async () => {
    const { h, id } = await startVerification('+15550002');
    await h.raise(id, 'code', '1');
    await h.idle();
    await h.advance(90_000);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'expired' });
  });

  it('stops after four wrong codes', async () => {
    const { h, id } = await startVerification('+15550003');
    for (const code of ['1', '2', '3', '4']) {
      await h.raise(id, 'code', code);
      await h.idle();
    }
    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: 'too_many_attempts',
    });
    expect(await h.raise(id, 'code', '123456')).toBe(410);
  });

  it('honours maxConcurrentActivityFunctions', async () => {
    let running = 0;
    let peak = 0;
    const invoker = new TestInvoker()
      .activity('slow', async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return 1;
      })
      .orchestration('fan', function* (ctx) {
        const results = (yield ctx.df.Task.all(
          Array.from({ length: 12 }, () => ctx.df.callActivity('slow')),
        )) as number[];
        return results.length;
      });
    const h = await openHarness(invoker, { maxConcurrentActivityFunctions: 3 });
    const id = await h.start('fan');
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 12 });
    expect(peak).toBe(3);
  });

  it('never runs two episodes of one instance at once, and bounds concurrent orchestrator invocations', async () => {
    const invoker = makeInvoker();
    const active = new Map<string, number>();
    let overlapping = false;
    let concurrent = 0;
    let peak = 0;
    const original = invoker.invokeOrchestrator.bind(invoker);
    invoker.invokeOrchestrator = async (name, payload) => {
      const id = (payload as { instanceId: string }).instanceId;
      active.set(id, (active.get(id) ?? 0) + 1);
      if (active.get(id)! > 1) overlapping = true;
      concurrent++;
      peak = Math.max(peak, concurrent);
      await new Promise((r) => setTimeout(r, 2));
      try {
        return await original(name, payload);
      } finally {
        concurrent--;
        active.set(id, active.get(id)! - 1);
      }
    };
    const h = await openHarness(invoker, { maxConcurrentOrchestratorFunctions: 4 });
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.start('verify', `+1555000${i}`, `v-${i}`)),
    );
    await Promise.all(
      ids.flatMap((id) => [
        h.raise(id, 'code', 'x'),
        h.raise(id, 'code', 'y'),
        h.raise(id, 'code', '123456'),
      ]),
    );
    await h.idle();
    for (const id of ids)
      expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 'verified' });
    expect(overlapping).toBe(false);
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThan(1);
  });

  it('fires a real-clock timer within tens of milliseconds of its due time (no polling)', async () => {
    const invoker = new TestInvoker().orchestration('short', function* (ctx) {
      yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 150));
      return 'ok';
    });
    const h = await openHarness(invoker, { clock: new SystemClock() });
    const id = await h.start('short');
    await new Promise((r) => setTimeout(r, 400));
    await h.idle();
    expect((await h.status(id)).runtimeStatus).toBe('Completed');
    const raw = h.engine.history(id);
    const fired = raw.find((e) => e.EventType === EventType.TimerFired)!;
    const lateness = new Date(fired.Timestamp).getTime() - new Date(String(fired.FireAt)).getTime();
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(50);
  });

  it('runs callHttp as the built-in HTTP activity, polling 202 + Location through a timer', async () => {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      if (req.url === '/start') {
        res.writeHead(202, {
          location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`,
          'retry-after': '2',
        });
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"done":true}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/start`;
      const invoker = new TestInvoker().orchestration('poller', function* (ctx) {
        const res = (yield ctx.df.callHttp({ method: 'POST', url, body: { go: 1 } })) as {
          statusCode: number;
          content: unknown;
        };
        return { status: res.statusCode, content: res.content };
      });
      const h = await openHarness(invoker);
      const id = await h.start('poller');
      await h.idle();
      expect(hits).toEqual(['POST /start']);
      expect((await h.status(id)).runtimeStatus).toBe('Running');
      await h.advance(2000);
      expect(hits).toEqual(['POST /start', 'GET /status']);
      expect(await h.status(id)).toMatchObject({
        runtimeStatus: 'Completed',
        output: { status: 200, content: '{"done":true}' },
      });
      expect(tasksAndTimers(h, id)).toEqual([
        [4, 0],
        [10, 1],
        [4, 2],
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
