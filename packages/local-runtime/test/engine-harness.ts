/**
 * A test harness for the durable engine that needs no host: orchestrators run through
 * `durable-functions`' own `Orchestrator.listen()` handler (the same executor the app's registrations
 * use), activities are plain functions, and values cross the seam encoded as the host encodes them.
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import {
  FunctionInvocationError,
  type Clock,
  type FunctionInvoker,
  type RegisteredFunctionInfo,
} from '../src/contracts';
import { ManualClock } from '../src/clock';
import { EventType } from '../src/engine/history';
import { createDurableEngine, type DurableEngine, type DurableEngineOptions } from '../src/engine';
import {
  orchestratorHandler,
  type OrchestratorTriggerHandler,
} from '../src/testing/durable-functions-driver';

export type ActivityFn = (input: unknown, context: InvocationContext) => unknown;

function tryJsonParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class TestInvoker implements FunctionInvoker {
  private readonly orchestrators = new Map<string, OrchestratorTriggerHandler>();
  private readonly activities = new Map<string, ActivityFn>();
  readonly activityCalls: { name: string; input: string | undefined; instanceId: string }[] = [];
  orchestratorInvocations = 0;

  orchestration(
    name: string,
    fn: (context: OrchestrationContext) => Generator<unknown, unknown, unknown>,
  ): this {
    this.orchestrators.set(name, orchestratorHandler(fn as OrchestrationHandler));
    return this;
  }

  activity(name: string, fn: ActivityFn): this {
    this.activities.set(name, fn);
    return this;
  }

  functions(): readonly RegisteredFunctionInfo[] {
    return [
      ...[...this.orchestrators.keys()].map((name) => ({
        name,
        triggerType: 'orchestrationTrigger',
        trigger: { type: 'orchestrationTrigger', name: 'orchestrationTrigger0' },
      })),
      ...[...this.activities.keys()].map((name) => ({
        name,
        triggerType: 'activityTrigger',
        trigger: { type: 'activityTrigger', name: 'activityTrigger0' },
      })),
    ];
  }

  async invokeOrchestrator(functionName: string, payload: unknown): Promise<unknown> {
    const handler = this.orchestrators.get(functionName);
    if (!handler) throw new FunctionInvocationError(`No orchestrator '${functionName}'`, undefined);
    this.orchestratorInvocations++;
    // The host sends the payload as a JSON string and returns the state as JSON: round-trip both.
    const trigger = JSON.parse(JSON.stringify(payload)) as unknown;
    const context = new InvocationContext({ functionName, invocationId: randomUUID() });
    try {
      const state = await handler(trigger, context);
      return JSON.parse(JSON.stringify(state)) as unknown;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new FunctionInvocationError(err.message, err.stack);
    }
  }

  async invokeActivity(functionName: string, input: unknown, instanceId: string): Promise<unknown> {
    const fn = this.activities.get(functionName);
    if (!fn) throw new FunctionInvocationError(`No activity '${functionName}'`, undefined);
    if (input !== undefined && typeof input !== 'string')
      throw new Error('activity input must be a string');
    this.activityCalls.push({ name: functionName, input, instanceId });
    const context = new InvocationContext({ functionName, invocationId: randomUUID() });
    try {
      return await fn(input === undefined ? undefined : tryJsonParse(input), context);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new FunctionInvocationError(err.message, err.stack);
    }
  }
}

export const SYSTEM_KEY = 'test-system-key';
export const ORIGIN = 'http://localhost:7071';

export interface Harness {
  engine: DurableEngine;
  clock: ManualClock;
  invoker: TestInvoker;
  /** Calls the management API as the front door would (with the system key unless `key: null`). */
  api(
    method: string,
    pathAndQuery: string,
    opts?: {
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
      key?: string | null;
    },
  ): Promise<{ status: number; headers: Record<string, string>; body: unknown; text: string }>;
  start(name: string, input?: unknown, instanceId?: string): Promise<string>;
  raise(instanceId: string, eventName: string, data?: unknown): Promise<number>;
  status(instanceId: string, query?: string): Promise<Record<string, unknown>>;
  /** Advances the manual clock and waits until the engine is idle again. */
  advance(ms: number): Promise<void>;
  idle(): Promise<void>;
  close(): Promise<void>;
}

export type HarnessOptions = Partial<DurableEngineOptions> & { clock?: Clock };

/**
 * One harness per test, closed after it even when the test fails: call it in a `describe`, then
 * `const h = await openHarness(invoker)` in each test.
 */
export function harnessPerTest(): (
  invoker: TestInvoker,
  options?: HarnessOptions,
) => Promise<Harness> {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (invoker, options) => {
    current = await createHarness(invoker, options);
    return current;
  };
}

export async function createHarness(
  invoker: TestInvoker,
  options: HarnessOptions = {},
): Promise<Harness> {
  const engineClock = options.clock ?? new ManualClock('2030-01-01T00:00:00.000Z');
  // Tests that pass a real clock never call advance(); a stand-in makes misuse fail loudly.
  const clock = engineClock instanceof ManualClock ? engineClock : new ManualClock();
  const engine = createDurableEngine({
    invoker,
    databasePath: ':memory:',
    taskHubName: 'TestHub',
    systemKey: SYSTEM_KEY,
    rpcPort: false,
    ...options,
    clock: engineClock,
  });
  await engine.start();
  const api: Harness['api'] = async (method, pathAndQuery, opts = {}) => {
    const url = new URL(pathAndQuery, ORIGIN);
    const key = opts.key === undefined ? SYSTEM_KEY : opts.key;
    if (key !== null && !url.searchParams.has('code')) url.searchParams.set('code', key);
    const body =
      opts.rawBody !== undefined
        ? Buffer.from(opts.rawBody)
        : opts.body !== undefined
          ? Buffer.from(JSON.stringify(opts.body))
          : Buffer.alloc(0);
    const res = await engine.handleHttp({
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: { 'content-type': 'application/json', ...(opts.headers ?? {}) },
      body,
      origin: ORIGIN,
    });
    const text = res.body === undefined ? '' : res.body.toString();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: { ...(res.headers ?? {}) }, body: parsed, text };
  };
  const harness: Harness = {
    engine,
    clock,
    invoker,
    api,
    async start(name, input, instanceId) {
      const res = await api(
        'POST',
        `/runtime/webhooks/durabletask/orchestrators/${name}${instanceId ? `/${instanceId}` : ''}`,
        {
          ...(input !== undefined ? { body: input } : {}),
        },
      );
      if (res.status !== 202) throw new Error(`start failed: ${res.status} ${res.text}`);
      return (res.body as { id: string }).id;
    },
    async raise(instanceId, eventName, data) {
      const res = await api(
        'POST',
        `/runtime/webhooks/durabletask/instances/${instanceId}/raiseEvent/${eventName}`,
        {
          ...(data !== undefined ? { body: data } : {}),
        },
      );
      return res.status;
    },
    async status(instanceId, query = '') {
      const res = await api(
        'GET',
        `/runtime/webhooks/durabletask/instances/${instanceId}${query ? `?${query}` : ''}`,
      );
      if (res.status === 404) throw new Error(`no instance ${instanceId}`);
      return res.body as Record<string, unknown>;
    },
    async advance(ms) {
      if (clock !== engineClock)
        throw new Error('advance() needs the harness to run on a ManualClock');
      clock.advance(ms);
      await engine.whenIdle();
    },
    idle: () => engine.whenIdle(),
    close: () => engine.stop(),
  };
  return harness;
}

/** History events from a `showHistory=true` status (already transformed by the API). */
export function historyOf(status: Record<string, unknown>): Record<string, unknown>[] {
  return (status.historyEvents as Record<string, unknown>[] | undefined) ?? [];
}

/** The instance's scheduled tasks and timers, in history order, as `[EventType, EventId]`. */
export function tasksAndTimers(h: Harness, instanceId: string): [number, number][] {
  return h.engine
    .history(instanceId)
    .filter(
      (e) => e.EventType === EventType.TaskScheduled || e.EventType === EventType.TimerCreated,
    )
    .map((e) => [e.EventType, e.EventId]);
}
