/**
 * A task yielded again inside a new `Task.any` (the official smsPhoneVerification sample passes one
 * timer to the `Task.any` of every attempt). durable-functions 3.5.0 serializes the whole new WhenAny,
 * the already scheduled timer's CreateTimer included, and numbers nothing new for it
 * (TaskOrchestrationExecutor.trackOpenTask skips tasks that have an id). The extension's shim turns
 * every CreateTimer it reads into `context.CreateTimer`, and DTFx gives each call the next id
 * (OutOfProcOrchestrationShim.InvokeAPIFromAction; TaskOrchestrationContext.CreateTimer,
 * `idCounter++`): Azure records a second TimerCreated, and every later task id is one higher than
 * the SDK's count (Azure/azure-functions-durable-js#574). These tests pin that the local engine
 * records the same history as the extension, so a flow that strands on Azure strands here too,
 * and that the sample's own shape and the fresh-timer-per-wait shape complete.
 */
import type { OrchestrationContext, Task, TimerTask } from 'durable-functions';
import { harnessPerTest, TestInvoker, type Harness } from './engine-harness';
import { EventType, EVENT_TYPE_NAMES } from '../src/engine/history';

const DEADLINE_MS = 90_000;

/** The scheduling events of an instance as `EventType:EventId`, the ids the extension records. */
function scheduled(h: Harness, instanceId: string): string[] {
  const kinds: readonly number[] = [EventType.TaskScheduled, EventType.TimerCreated];
  return h.engine
    .history(instanceId)
    .filter((e) => kinds.includes(e.EventType))
    .map((e) => `${EVENT_TYPE_NAMES[e.EventType]}:${e.EventId}`);
}

/** The ids named by the completions (`TaskCompleted`, `TimerFired`) in history order. */
function completions(h: Harness, instanceId: string): string[] {
  return h.engine.history(instanceId).flatMap((e) => {
    if (e.EventType === EventType.TaskCompleted) return [`TaskCompleted:${e.TaskScheduledId}`];
    if (e.EventType === EventType.TimerFired) return [`TimerFired:${e.TimerId}`];
    return [];
  });
}

/** The official smsPhoneVerification orchestrator's loop, unmodified: one timer in every Task.any. */
function* officialSample(ctx: OrchestrationContext): Generator<Task, boolean, unknown> {
  const challengeCode: unknown = yield ctx.df.callActivity('sendSmsChallenge', ctx.df.getInput());
  const expiration = new Date(ctx.df.currentUtcDateTime.getTime() + DEADLINE_MS);
  const timeoutTask = ctx.df.createTimer(expiration);
  let authorized = false;
  for (let i = 0; i <= 3; i++) {
    const challengeResponseTask = ctx.df.waitForExternalEvent('SmsChallengeResponse');
    const winner: unknown = yield ctx.df.Task.any([challengeResponseTask, timeoutTask]);
    if (winner === timeoutTask) break;
    if (challengeResponseTask.result === challengeCode) {
      authorized = true;
      break;
    }
  }
  if (!timeoutTask.isCompleted) timeoutTask.cancel();
  return authorized;
}

/**
 * A code, resends and one deadline, like the app's verification flow. `freshTimerPerWait` false
 * reuses one timer in every Task.any (the seed orchestrator's shape); true creates one per wait for
 * the same deadline and cancels it when something else wins (the Verify orchestrator's shape).
 */
function resendFlow(freshTimerPerWait: boolean) {
  return function* (ctx: OrchestrationContext): Generator<Task, string, unknown> {
    let sendNumber = 1;
    let code: unknown = yield ctx.df.callActivity('send', sendNumber);
    const deadline = new Date(ctx.df.currentUtcDateTime.getTime() + DEADLINE_MS);
    const shared: TimerTask | undefined = freshTimerPerWait
      ? undefined
      : ctx.df.createTimer(deadline);
    let reply = ctx.df.waitForExternalEvent('reply');
    let resend = ctx.df.waitForExternalEvent('resend');
    for (;;) {
      const timer = shared ?? ctx.df.createTimer(deadline);
      const winner: unknown = yield ctx.df.Task.any([reply, resend, timer]);
      if (winner === timer) return 'expired';
      if (shared === undefined) timer.cancel();
      if (winner === resend) {
        resend = ctx.df.waitForExternalEvent('resend');
        sendNumber += 1;
        code = yield ctx.df.callActivity('send', sendNumber);
        continue;
      }
      const answer = reply.result;
      reply = ctx.df.waitForExternalEvent('reply');
      if (answer === code) {
        if (shared !== undefined && !shared.isCompleted) shared.cancel();
        return `verified with send ${sendNumber}`;
      }
    }
  };
}

/** `send` answers with a code per send number: 'code-1', 'code-2', ... */
const resendInvoker = (freshTimerPerWait: boolean): TestInvoker =>
  new TestInvoker()
    .activity('send', (n) => `code-${String(n)}`)
    .orchestration('resendFlow', resendFlow(freshTimerPerWait));

describe('durable engine: a task reused in a later Task.any, replayed as the extension does', () => {
  const openHarness = harnessPerTest();

  const sampleInvoker = (): TestInvoker =>
    new TestInvoker()
      .activity('sendSmsChallenge', () => 4321)
      .orchestration('smsPhoneVerification', officialSample);

  /** Starts `resendFlow`, answers with a wrong code, then asks for two resends, idling after each step. */
  const wrongCodeThenTwoResends = async (
    invoker: TestInvoker,
  ): Promise<{ h: Harness; id: string }> => {
    const h = await openHarness(invoker);
    const id = await h.start('resendFlow');
    const steps: [event: string, data?: string][] = [['reply', 'wrong'], ['resend'], ['resend']];
    for (const [event, data] of steps) {
      await h.idle();
      await h.raise(id, event, data);
    }
    await h.idle();
    return { h, id };
  };

  it('official sample, a wrong code then the right one: completes with true; the repeated CreateTimer is a second timer and both are canceled', async () => {
    const h = await openHarness(sampleInvoker());
    const id = await h.start('smsPhoneVerification', '+14255550100');
    await h.idle();
    expect(scheduled(h, id)).toEqual(['TaskScheduled:0', 'TimerCreated:1']);

    await h.raise(id, 'SmsChallengeResponse', 1111);
    await h.idle();
    expect((await h.status(id)).runtimeStatus).toBe('Running');
    // The second Task.any carries the timer's CreateTimer again; the shim schedules it: id 2.
    expect(scheduled(h, id)).toEqual(['TaskScheduled:0', 'TimerCreated:1', 'TimerCreated:2']);

    await h.raise(id, 'SmsChallengeResponse', 4321);
    await h.idle();
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: true });
    // Both timers are canceled by the final action list: nothing keeps a wake-up armed.
    expect(h.clock.pendingWakeUps()).toBe(0);
    expect(completions(h, id)).toEqual(['TaskCompleted:0']);
  });

  it('official sample, a wrong code then the deadline: both timers fire and it completes with false', async () => {
    const h = await openHarness(sampleInvoker());
    const id = await h.start('smsPhoneVerification', '+14255550101');
    await h.idle();
    await h.raise(id, 'SmsChallengeResponse', 1111);
    await h.idle();
    await h.advance(DEADLINE_MS);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: false });
    expect(completions(h, id)).toEqual(['TaskCompleted:0', 'TimerFired:1', 'TimerFired:2']);
  });

  it('an activity after a second wait on the same timer gets the id after the repeated timer, so its result is never delivered (as on Azure)', async () => {
    const invoker = new TestInvoker()
      .activity('echo', (x) => `echo:${String(x)}`)
      .orchestration('reuse', function* (ctx) {
        const timer = ctx.df.createTimer(
          new Date(ctx.df.currentUtcDateTime.getTime() + DEADLINE_MS),
        );
        const first = ctx.df.waitForExternalEvent('first');
        yield ctx.df.Task.any([first, timer]);
        const second = ctx.df.waitForExternalEvent('second');
        yield ctx.df.Task.any([second, timer]);
        const echoed: unknown = yield ctx.df.callActivity('echo', second.result);
        if (!timer.isCompleted) timer.cancel();
        return echoed;
      });
    const h = await openHarness(invoker);
    const id = await h.start('reuse');
    await h.idle();
    await h.raise(id, 'first', 1);
    await h.idle();
    await h.raise(id, 'second', 2);
    await h.idle();

    // durable-functions numbered the activity 1; the extension's shim scheduled it as 2.
    expect(scheduled(h, id)).toEqual(['TimerCreated:0', 'TimerCreated:1', 'TaskScheduled:2']);
    expect(invoker.activityCalls.map((c) => c.name)).toEqual(['echo']);
    expect(completions(h, id)).toEqual(['TaskCompleted:2']);
    expect((await h.status(id)).runtimeStatus).toBe('Running');

    // At the deadline the repeated timer's TimerFired(1) reaches the code as the activity's result.
    await h.advance(DEADLINE_MS);
    expect(completions(h, id)).toEqual(['TaskCompleted:2', 'TimerFired:0', 'TimerFired:1']);
    expect(await h.status(id)).toMatchObject({ runtimeStatus: 'Completed', output: null });
  });

  it('one timer reused, a wrong code then two resends: the first resend is scheduled one id late and the second is never sent (as on Azure)', async () => {
    const invoker = resendInvoker(false);
    const { h, id } = await wrongCodeThenTwoResends(invoker);

    expect(scheduled(h, id)).toEqual([
      'TaskScheduled:0',
      'TimerCreated:1',
      'TimerCreated:2',
      'TaskScheduled:3',
    ]);
    // The code waits for send 2 under id 2, which is the repeated timer: the second resend stays buffered.
    expect(invoker.activityCalls.map((c) => c.input)).toEqual(['1', '2']);
    expect((await h.status(id)).runtimeStatus).toBe('Running');
  });

  it('one fresh timer per wait, a wrong code then two resends then the right code: every SMS goes out and ids match the SDK', async () => {
    const invoker = resendInvoker(true);
    const { h, id } = await wrongCodeThenTwoResends(invoker);
    await h.raise(id, 'reply', 'code-3');
    await h.idle();

    expect(await h.status(id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: 'verified with send 3',
    });
    expect(invoker.activityCalls.map((c) => c.input)).toEqual(['1', '2', '3']);
    // One timer per wait, each canceled once something else won: no id is taken twice.
    expect(scheduled(h, id)).toEqual([
      'TaskScheduled:0',
      'TimerCreated:1',
      'TimerCreated:2',
      'TaskScheduled:3',
      'TimerCreated:4',
      'TaskScheduled:5',
      'TimerCreated:6',
    ]);
    expect(completions(h, id)).toEqual(['TaskCompleted:0', 'TaskCompleted:3', 'TaskCompleted:5']);
    expect(h.clock.pendingWakeUps()).toBe(0);
  });
});
