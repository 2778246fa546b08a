/**
 * The Durable extension's out-of-process shim plus DTFx replay semantics: given an execution's full
 * history and the latest action list returned by the `durable-functions` executor, work out which
 * tasks are open, which scheduling decisions are new (ids in call order, exactly as DTFx numbers
 * them), whether a ContinueAsNew was requested and whether the history still matches the code.
 *
 * Like the extension's shim, top-level actions are awaited one after the other (a failed one is
 * swallowed), compounds behave as `Task.WhenAll`/`Task.WhenAny`, retries create a timer after every
 * failed attempt (the last one too), long timers are split into sub-timers of at most the long
 * interval, and canceled timers keep their id but never count as open work.
 *
 * Everything here is synchronous: continuations run as soon as a history event completes a task,
 * which gives the same id order as DTFx's single-threaded scheduler.
 */
import { randomUUID } from 'node:crypto';
import { schedulerIdOf, type EntityMessageKind, type RequestMessage } from '../entities/messages';
import {
  EventType,
  type EventSentEvent,
  type HistoryEvent,
  type SubOrchestrationInstanceCreatedEvent,
  type TaskScheduledEvent,
  type TimerCreatedEvent,
} from './history';

type SchedulingEvent =
  TaskScheduledEvent | TimerCreatedEvent | SubOrchestrationInstanceCreatedEvent | EventSentEvent;

export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  ScheduledSignalEntity: 10,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

/** The HTTP activity the extension runs for `callHttp`. */
export const HTTP_ACTIVITY_NAME = 'BuiltIn::HttpActivity';

export type Decision =
  | { kind: 'activity'; id: number; name: string; input: unknown }
  | { kind: 'timer'; id: number; fireAt: Date; canceled: boolean }
  | {
      kind: 'suborchestration';
      id: number;
      name: string;
      instanceId: string;
      input: unknown;
      version?: string;
    }
  | {
      /** A message to an entity (operation, lock request or release), recorded as `EventSent`. */
      kind: 'entity';
      id: number;
      /** The entity's scheduler id, `@name@key`. */
      target: string;
      message: { kind: EntityMessageKind; request: RequestMessage };
    };

export interface ReplayOptions {
  history: readonly HistoryEvent[];
  /** Top-level actions (V2+ layout: `state.actions` flattened one level). */
  actions: readonly unknown[];
  instanceId: string;
  executionId: string;
  /** Long timers are split only with replay schema V3 and above. */
  splitLongTimers: boolean;
  maximumShortTimerMs: number;
  longRunningTimerIntervalMs: number;
  /** With replay schema V3 and above, `callHttp` polls 202 + Location responses through timers. */
  httpPolling: boolean;
  /** Delay between polls when the response has no Retry-After (`defaultHttpAsyncRequestSleepTimeMillseconds`). */
  httpPollingIntervalMs: number;
}

export interface ReplayResult {
  /** Scheduling decisions that have no scheduling event in the history yet, ascending id. */
  decisions: Decision[];
  /** Tasks scheduled and not finished (canceled timers excluded). */
  openTasks: number;
  /** Ids of timers that are canceled (their pending firings can be dropped). */
  canceledTimerIds: number[];
  /** Set when the action list holds a ContinueAsNew. */
  continueAsNew?: { input: unknown };
  /** Set when the code no longer matches the history, or uses something this runtime cannot run. */
  failure?: string;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

/** A minimal synchronous task: continuations run immediately on completion. */
class SyncTask {
  private outcome: Outcome | undefined;
  private readonly continuations: ((o: Outcome) => void)[] = [];

  get done(): boolean {
    return this.outcome !== undefined;
  }

  complete(o: Outcome): void {
    if (this.outcome) return;
    this.outcome = o;
    for (const c of this.continuations.splice(0)) c(o);
  }

  then(c: (o: Outcome) => void): void {
    if (this.outcome) c(this.outcome);
    else this.continuations.push(c);
  }
}

interface OpenEntry {
  task: SyncTask;
  kind: 'activity' | 'timer' | 'suborchestration';
}

const SCHEDULING_EVENT: Readonly<Record<OpenEntry['kind'], number>> = {
  activity: EventType.TaskScheduled,
  timer: EventType.TimerCreated,
  suborchestration: EventType.SubOrchestrationInstanceCreated,
};

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

class ReplayRun {
  private idCounter = 0;
  private now: Date = new Date(0);
  private readonly open = new Map<number, OpenEntry>();
  private readonly decisions: Decision[] = [];
  private readonly canceled = new Set<number>();
  private readonly waiters = new Map<string, SyncTask[]>();
  private readonly buffered = new Map<string, unknown[]>();
  private readonly scheduled = new Map<number, SchedulingEvent>();
  private failure: string | undefined;
  private continueAsNew: { input: unknown } | undefined;
  /** The critical section the orchestration is in (lock requested and not yet released). */
  private lock: { requestId: string; targets: string[] } | undefined;

  constructor(private readonly o: ReplayOptions) {
    for (const e of o.history) {
      if (
        e.EventType === EventType.TaskScheduled ||
        e.EventType === EventType.TimerCreated ||
        e.EventType === EventType.SubOrchestrationInstanceCreated ||
        e.EventType === EventType.EventSent
      ) {
        this.scheduled.set(e.EventId, e);
      }
    }
  }

  run(): ReplayResult {
    for (const e of this.o.history) {
      if (this.failure) break;
      this.apply(e);
    }
    const openTasks = [...this.open.keys()].filter((id) => !this.canceled.has(id)).length;
    return {
      decisions: this.decisions.sort((a, b) => a.id - b.id),
      openTasks,
      canceledTimerIds: [...this.canceled],
      ...(this.continueAsNew ? { continueAsNew: this.continueAsNew } : {}),
      ...(this.failure ? { failure: this.failure } : {}),
    };
  }

  private apply(e: HistoryEvent): void {
    switch (e.EventType) {
      case EventType.OrchestratorStarted:
        this.now = new Date(e.Timestamp);
        break;
      case EventType.ExecutionStarted:
        this.runSequence(this.o.actions, 0);
        break;
      case EventType.TaskCompleted:
      case EventType.SubOrchestrationInstanceCompleted:
        this.finish(e.TaskScheduledId, { ok: true, value: e.Result });
        break;
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceFailed:
        this.finish(e.TaskScheduledId, {
          ok: false,
          error: typeof e.Reason === 'string' ? e.Reason : 'failed',
        });
        break;
      case EventType.TimerFired:
        this.finish(e.TimerId, { ok: true, value: undefined });
        break;
      case EventType.EventRaised: {
        const name = typeof e.Name === 'string' ? e.Name : '';
        const stack = this.waiters.get(name);
        const waiter = stack?.pop();
        if (waiter) waiter.complete({ ok: true, value: e.Input });
        else {
          const queue = this.buffered.get(name) ?? [];
          queue.push(e.Input);
          this.buffered.set(name, queue);
        }
        break;
      }
      default:
        break;
    }
  }

  private finish(id: unknown, outcome: Outcome): void {
    if (typeof id !== 'number') return;
    const entry = this.open.get(id);
    // Completions of canceled timers or of work from an earlier attempt are ignored, as DTFx does.
    if (!entry) return;
    this.open.delete(id);
    entry.task.complete(outcome);
  }

  private runSequence(actions: readonly unknown[], index: number): void {
    for (let i = index; i < actions.length; i++) {
      if (this.failure) return;
      const task = this.invoke(actions[i]);
      if (!task.done) {
        task.then(() => this.runSequence(actions, i + 1));
        return;
      }
    }
  }

  private invoke(raw: unknown): SyncTask {
    const a = rec(raw);
    const type = a.actionType;
    switch (type) {
      case ActionType.CallActivity:
        return this.schedule('activity', { name: String(a.functionName), input: a.input });
      case ActionType.CallActivityWithRetry:
        return this.withRetry(a.retryOptions, () =>
          this.schedule('activity', { name: String(a.functionName), input: a.input }),
        );
      case ActionType.CallSubOrchestrator:
        return this.schedule('suborchestration', this.subOrchestrationData(a));
      case ActionType.CallSubOrchestratorWithRetry: {
        const data = this.subOrchestrationData(a);
        return this.withRetry(a.retryOptions, () => this.schedule('suborchestration', data));
      }
      case ActionType.ContinueAsNew: {
        this.continueAsNew = { input: a.input };
        const t = new SyncTask();
        t.complete({ ok: true, value: undefined });
        return t;
      }
      case ActionType.CreateTimer: {
        const fireAt = new Date(
          typeof a.fireAt === 'string' || a.fireAt instanceof Date ? a.fireAt : NaN,
        );
        if (Number.isNaN(fireAt.getTime()))
          return this.fail('CreateTimer action without a valid fireAt');
        return this.createTimer(fireAt, a.isCanceled === true);
      }
      case ActionType.WaitForExternalEvent:
        return this.waitForEvent(
          typeof a.externalEventName === 'string' ? a.externalEventName : '',
        );
      case ActionType.CallHttp:
        return this.callHttp(rec(a.httpRequest));
      case ActionType.WhenAll:
      case ActionType.WhenAny: {
        // Every child is invoked, one yielded before too: the shim does the same (the protocol has no
        // task ids), so a reused timer takes a new id here exactly as it does on Azure.
        const children = Array.isArray(a.compoundActions)
          ? a.compoundActions.map((c) => this.invoke(c))
          : [];
        const t = new SyncTask();
        if (children.length === 0) t.complete({ ok: true, value: undefined });
        let remaining = children.length;
        for (const child of children) {
          child.then((o) => {
            if (type === ActionType.WhenAny) t.complete(o);
            else if (--remaining === 0) t.complete({ ok: true, value: undefined });
          });
        }
        return t;
      }
      case ActionType.CallEntity:
      case ActionType.SignalEntity:
        return this.entityOperation(a, type === ActionType.SignalEntity);
      case ActionType.LockEntities:
        return this.lockEntities(a);
      case ActionType.ReleaseEntities:
        return this.releaseEntities();
      case ActionType.ScheduledSignalEntity:
        return this.fail('Scheduled entity signals are not supported by the local runtime');
      default:
        return this.fail(`Unknown orchestrator action type ${JSON.stringify(type)}`);
    }
  }

  /** The external-event wait: a buffered event of that name if any (FIFO), else a waiter (LIFO). */
  private waitForEvent(name: string): SyncTask {
    const t = new SyncTask();
    const queue = this.buffered.get(name);
    if (queue && queue.length > 0) {
      t.complete({ ok: true, value: queue.shift() });
      if (queue.length === 0) this.buffered.delete(name);
    } else {
      const stack = this.waiters.get(name) ?? [];
      stack.push(t);
      this.waiters.set(name, stack);
    }
    return t;
  }

  /**
   * Sends one message to an entity under the next task id, as the extension's `SendEvent` does, and
   * returns the request id: the one recorded in the history's `EventSent` when replaying, else `newId`.
   */
  private sendToEntity(
    target: string,
    kind: EntityMessageKind,
    newId: string,
    build: (requestId: string) => RequestMessage,
  ): string | undefined {
    const id = this.idCounter++;
    const existing = this.scheduled.get(id);
    if (existing) {
      if (existing.EventType !== EventType.EventSent || existing.InstanceId !== target) {
        this.fail(
          `Non-deterministic workflow detected: task ${id} was scheduled as event type ${existing.EventType} ` +
            `but the code now sends a message to entity ${target}`,
        );
        return undefined;
      }
      const recorded = rec(safeParse(existing.Input)).id;
      return typeof recorded === 'string' ? recorded : newId;
    }
    this.decisions.push({ kind: 'entity', id, target, message: { kind, request: build(newId) } });
    return newId;
  }

  /** callEntity (waits for the `EventRaised` named by the request id) or signalEntity (fire and forget). */
  private entityOperation(a: Record<string, unknown>, signal: boolean): SyncTask {
    const target = typeof a.instanceId === 'string' ? a.instanceId : '';
    if (!target.startsWith('@')) return this.fail('Entity action without a valid entity id');
    const op = String(a.operation);
    const input = a.input === undefined ? null : JSON.stringify(a.input);
    const requestId = this.sendToEntity(target, 'op', randomUUID(), (id) => ({
      id,
      op,
      signal,
      input,
      parent: this.o.instanceId,
    }));
    if (requestId === undefined) return new SyncTask();
    if (!signal) return this.waitForEvent(requestId);
    const done = new SyncTask();
    done.complete({ ok: true, value: undefined });
    return done;
  }

  /**
   * A lock request goes to the first entity of the canonical (sorted, deduplicated) lock set; each entity
   * passes it on once locked, and the last one answers with the grant (`EventRaised` named by the request id).
   */
  private lockEntities(a: Record<string, unknown>): SyncTask {
    if (this.lock) return this.fail('A critical section cannot be nested inside another one');
    const targets = [
      ...new Set(
        (Array.isArray(a.lockSet) ? a.lockSet : []).map((e) => {
          const r = rec(e);
          return schedulerIdOf({ name: String(r.name), key: String(r.key) });
        }),
      ),
    ].sort();
    if (targets.length === 0) return this.fail('A lock needs at least one entity');
    const proposed = typeof a.lockRequestId === 'string' ? a.lockRequestId : randomUUID();
    const requestId = this.sendToEntity(targets[0]!, 'lock', proposed, (id) => ({
      id,
      parent: this.o.instanceId,
      lockset: targets,
      pos: 0,
    }));
    if (requestId === undefined) return new SyncTask();
    this.lock = { requestId, targets };
    return this.waitForEvent(requestId);
  }

  /** Ends the critical section: one release message to each locked entity, one task id each. */
  private releaseEntities(): SyncTask {
    const lock = this.lock;
    this.lock = undefined;
    const done = new SyncTask();
    done.complete({ ok: true, value: undefined });
    if (!lock) return done;
    for (const target of lock.targets) {
      this.sendToEntity(target, 'release', lock.requestId, (id) => ({
        id,
        parent: this.o.instanceId,
      }));
    }
    return done;
  }

  private subOrchestrationData(a: Record<string, unknown>): {
    name: string;
    instanceId?: string;
    input: unknown;
    version?: string;
  } {
    return {
      name: String(a.functionName),
      ...(typeof a.instanceId === 'string' && a.instanceId !== ''
        ? { instanceId: a.instanceId }
        : {}),
      input: a.input,
      ...(typeof a.version === 'string' && a.version !== '' ? { version: a.version } : {}),
    };
  }

  private fail(message: string): SyncTask {
    this.failure ??= message;
    return new SyncTask();
  }

  private schedule(
    kind: 'activity' | 'suborchestration',
    data: { name: string; input: unknown; instanceId?: string; version?: string },
  ): SyncTask {
    const id = this.idCounter++;
    const task = new SyncTask();
    const existing = this.scheduled.get(id);
    if (existing) {
      const name = existing.EventType === EventType.TimerCreated ? 'a timer' : existing.Name;
      if (existing.EventType !== SCHEDULING_EVENT[kind] || name !== data.name) {
        return this.fail(
          `Non-deterministic workflow detected: task ${id} was scheduled as ${name} ` +
            `(event type ${existing.EventType}) but the code now schedules ${kind} ${data.name}`,
        );
      }
    } else if (kind === 'activity') {
      this.decisions.push({ kind, id, name: data.name, input: data.input });
    } else {
      this.decisions.push({
        kind,
        id,
        name: data.name,
        // DTFx's default child id: the parent's execution id and the task id.
        instanceId: data.instanceId ?? `${this.o.executionId}:${id}`,
        input: data.input,
        ...(data.version !== undefined ? { version: data.version } : {}),
      });
    }
    this.open.set(id, { task, kind });
    return task;
  }

  /** One DTFx timer: a TimerCreated with the next id, completed by the TimerFired for that id. */
  private singleTimer(fireAt: Date, canceled: boolean): SyncTask {
    const id = this.idCounter++;
    const task = new SyncTask();
    const existing = this.scheduled.get(id);
    if (existing) {
      if (existing.EventType !== EventType.TimerCreated) {
        return this.fail(
          `Non-deterministic workflow detected: task ${id} was scheduled as event type ${existing.EventType} ` +
            'but the code now creates a timer',
        );
      }
    } else {
      this.decisions.push({ kind: 'timer', id, fireAt, canceled });
    }
    if (canceled) {
      // A canceled timer keeps its id and TimerCreated event but is never waited for.
      this.canceled.add(id);
      task.complete({ ok: false, error: 'canceled' });
    } else {
      this.open.set(id, { task, kind: 'timer' });
    }
    return task;
  }

  private createTimer(fireAt: Date, canceled: boolean): SyncTask {
    const { splitLongTimers, maximumShortTimerMs, longRunningTimerIntervalMs } = this.o;
    if (
      !splitLongTimers ||
      canceled ||
      fireAt.getTime() - this.now.getTime() <= maximumShortTimerMs
    ) {
      return this.singleTimer(fireAt, canceled);
    }
    // The extension's long-timer loop: sub-timers of at most the interval until the final time.
    const result = new SyncTask();
    const next = (): void => {
      const remaining = fireAt.getTime() - this.now.getTime();
      if (remaining <= 0) {
        result.complete({ ok: true, value: undefined });
        return;
      }
      const step = remaining < longRunningTimerIntervalMs ? remaining : longRunningTimerIntervalMs;
      this.singleTimer(new Date(this.now.getTime() + step), false).then((o) => {
        if (!o.ok) result.complete(o);
        else next();
      });
    };
    next();
    return result;
  }

  /**
   * The extension's callHttp: one built-in HTTP activity; with the asynchronous pattern, a 202 with a
   * Location header is followed by a timer (Retry-After seconds, else the default interval) and a GET
   * of the Location, as many times as needed (JS mirrors this with a timer and a request per poll).
   */
  private callHttp(request: Record<string, unknown>): SyncTask {
    if (!this.o.httpPolling || request.asynchronousPatternEnabled !== true) {
      return this.schedule('activity', { name: HTTP_ACTIVITY_NAME, input: request });
    }
    const result = new SyncTask();
    const attempt = (req: Record<string, unknown>): void => {
      this.schedule('activity', { name: HTTP_ACTIVITY_NAME, input: req }).then((o) => {
        if (!o.ok) {
          result.complete(o);
          return;
        }
        const response = rec(typeof o.value === 'string' ? safeParse(o.value) : o.value);
        const headers = rec(response.headers);
        const header = (name: string): string | undefined => {
          const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
          const v = key === undefined ? undefined : headers[key];
          return Array.isArray(v)
            ? (v[0] as string | undefined)
            : typeof v === 'string'
              ? v
              : undefined;
        };
        const location = header('location');
        if (response.statusCode !== 202 || !location) {
          result.complete(o);
          return;
        }
        const retryAfter = Number(header('retry-after'));
        const delay =
          Number.isFinite(retryAfter) && retryAfter >= 0
            ? retryAfter * 1000
            : this.o.httpPollingIntervalMs;
        this.singleTimer(new Date(this.now.getTime() + delay), false).then(() =>
          attempt({ ...request, method: 'GET', uri: location, content: null }),
        );
      });
    };
    attempt(request);
    return result;
  }

  private withRetry(rawOptions: unknown, attempt: () => SyncTask): SyncTask {
    const opts = rec(rawOptions);
    const first = Math.max(0, num(opts.firstRetryIntervalInMilliseconds, 0));
    const maxAttempts = Math.max(1, num(opts.maxNumberOfAttempts, 1));
    const backoff = num(opts.backoffCoefficient, 1);
    const maxInterval = num(opts.maxRetryIntervalInMilliseconds, Number.MAX_SAFE_INTEGER);
    const result = new SyncTask();
    let failures = 0;
    const run = (): void => {
      attempt().then((o) => {
        if (o.ok) {
          result.complete(o);
          return;
        }
        failures++;
        if (failures >= maxAttempts) {
          // DTFx still creates an immediate timer after the last failed attempt, and JS waits for it.
          this.singleTimer(this.now, false).then(() => result.complete(o));
          return;
        }
        const delay = Math.min(first * Math.pow(backoff, failures - 1), maxInterval);
        this.singleTimer(new Date(this.now.getTime() + delay), false).then(() => run());
      });
    };
    run();
    return result;
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function replay(options: ReplayOptions): ReplayResult {
  return new ReplayRun(options).run();
}
