/**
 * The durable engine: stores instances in SQLite, drives orchestration episodes through the
 * `durable-functions` executor (via the host's `FunctionInvoker`), runs activities from a persisted
 * queue, fires persisted timers, and delivers events.
 *
 * Every orchestration episode commits atomically (new history, outgoing work, status). Work that is
 * persisted but not finished when the process dies is picked up again by `start()`.
 */
import { randomUUID } from 'node:crypto';
import { FunctionInvocationError, type Clock, type FunctionInvoker } from '../contracts';
import {
  SqliteStore,
  TERMINAL_STATUSES,
  type ActivityRow,
  type InstanceRow,
  type RuntimeStatus,
} from '../store/sqlite-store';
import {
  EventType,
  OrchestrationStatusNumber,
  type HistoryEvent,
  type ExecutionTerminatedEvent,
  historyEvents,
  parseHistoryEvent,
  parseJsonLenient,
  toJsonText,
} from './history';
import { eventNameOf, type EntityMessage } from '../entities/messages';
import { runHttpActivity } from './http-activity';
import {
  controlEvent,
  readInboxMessage,
  type ControlEvent,
  type ControlOperation,
  type InboxMessage,
} from './inbox-messages';
import { HTTP_ACTIVITY_NAME, replay, type Decision } from './replay';
import { TimerHeap } from './timer-heap';

export interface EngineSettings {
  invoker: FunctionInvoker;
  clock: Clock;
  databasePath: string;
  taskHubName: string;
  maxConcurrentActivityFunctions: number;
  maxConcurrentOrchestratorFunctions: number;
  /** `maximumShortTimerDuration` of the payload, ms (extension default: 6 days). */
  maximumShortTimerMs: number;
  /** `longRunningTimerIntervalDuration` of the payload, ms (extension default: 3 days). */
  longRunningTimerIntervalMs: number;
  log: (line: string) => void;
  /** Opens the store (tests inject one that fails on commit); default: SQLite at `databasePath`. */
  openStore?: (databasePath: string) => SqliteStore;
}

/** Where orchestrations' entity messages go (the entity scheduler); called inside the episode's transaction. */
export interface EntityMessageSink {
  send(target: string, message: EntityMessage): void;
  /** The orchestration finished: the locks it still holds are released, as the extension does. */
  instanceFinished(instanceId: string): void;
}

/** First and last delay before the in-memory queues are rebuilt from the store after a failed write. */
const RESYNC_FIRST_DELAY_MS = 10;
const RESYNC_MAX_DELAY_MS = 1000;

/** The instance already exists and is not in a state that can be overwritten. */
export class InstanceExistsError extends Error {
  constructor(instanceId: string, status: RuntimeStatus) {
    super(
      `An orchestration with instance ID '${instanceId}' already exists and is in the '${status}' state.`,
    );
    this.name = 'InstanceExistsError';
  }
}

/** An operation is not valid in the instance's current state (the extension answers 500). */
export class InvalidInstanceStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInstanceStateError';
  }
}

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';
/** The extension's `HttpSettings.DefaultAsyncRequestSleepTimeMilliseconds`. */
const HTTP_POLLING_INTERVAL_MS = 30_000;

/** The .NET TimeSpan "c" format: [d.]hh:mm:ss[.fffffff]. */
export function formatTimeSpan(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const frac = rest - s * 1000;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    (days > 0 ? `${days}.` : '') +
    `${pad(h)}:${pad(m)}:${pad(s)}` +
    (frac > 0 ? `.${String(frac * 10_000).padStart(7, '0')}` : '')
  );
}

/** How the extension hands an activity input to the worker: the .NET string of the input's JSON value. */
export function activityInputString(input: unknown): string | null {
  if (input === undefined || input === null) return null;
  if (typeof input === 'string') return input;
  // Newtonsoft's JValue → string conversion yields "True"/"False" for booleans (a real quirk).
  if (typeof input === 'boolean') return input ? 'True' : 'False';
  if (typeof input === 'number') return String(input);
  return JSON.stringify(input);
}

interface OrchestratorStateLike {
  isDone: boolean;
  actions: unknown[];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: unknown;
  failureDetails?: unknown;
}

function asState(value: unknown): OrchestratorStateLike | undefined {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  if (typeof s.isDone !== 'boolean' || !Array.isArray(s.actions)) return undefined;
  return s as unknown as OrchestratorStateLike;
}

/** V2+ sends `[[a1, a2, …]]`; V1 sends one inner array per yield. Either way: the flat top level. */
function topLevelActions(state: OrchestratorStateLike): unknown[] {
  const out: unknown[] = [];
  for (const group of state.actions) {
    if (Array.isArray(group)) out.push(...(group as unknown[]));
    else out.push(group);
  }
  return out;
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : 'Unknown error';
}

interface EpisodeOutcome {
  status: RuntimeStatus;
  output: string | null;
}

export class DurableEngineCore {
  readonly store: SqliteStore;
  private readonly runnable = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly activityQueue: ActivityRow[] = [];
  /** Row ids of activities queued or running, so a rebuild from the store does not queue one twice. */
  private readonly knownActivities = new Set<number>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncDelayMs = RESYNC_FIRST_DELAY_MS;
  private activitiesRunning = 0;
  private readonly timers = new TimerHeap();
  /** Row ids of timers still pending; heap entries not in here are stale and skipped. */
  private readonly liveTimers = new Set<number>();
  private armed: { at: number; cancel: () => void } | undefined;
  private dueScheduled = false;
  private pumpScheduled = false;
  private started = false;
  private stopping = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly inflightEpisodes = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];
  private idleCheckScheduled = false;
  private readonly statusListeners = new Map<string, Set<() => void>>();
  private postCommit: (() => void)[] = [];
  private txDepth = 0;
  private entities: EntityMessageSink | undefined;

  constructor(private readonly s: EngineSettings) {
    this.store = (s.openStore ?? ((file) => new SqliteStore(file)))(s.databasePath);
  }

  /** Connects the entity scheduler (set once, before `start()`). */
  attachEntities(sink: EntityMessageSink): void {
    this.entities = sink;
  }

  /** Work done outside the engine's own queues (entity batches): `whenIdle()` waits for it too. */
  trackWork(p: Promise<void>): void {
    this.track(p);
  }

  /** Runs `f` after the current transaction commits (immediately when none is open). */
  runAfterCommit(f: () => void): void {
    if (this.txDepth > 0) this.afterCommit(f);
    else f();
  }

  /** Schedules an episode of an instance whose inbox got a message outside the engine (a rewind). */
  wake(instanceId: string): void {
    this.runAfterCommit(() => {
      this.markRunnable(instanceId);
      this.notifyStatus(instanceId);
    });
  }

  get clock(): Clock {
    return this.s.clock;
  }

  get taskHubName(): string {
    return this.s.taskHubName;
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    if (this.started) return;
    this.started = true;
    // Crash recovery: everything persisted but unfinished is dispatched again.
    this.loadPendingWork();
  }

  /**
   * Rebuilds the in-memory caches of pending work (ready instances, activity queue, timer heap) from the
   * store, which is the only record of it; entries already cached are kept as they are.
   */
  private loadPendingWork(): void {
    for (const a of this.store.allActivities()) this.queueActivity(a);
    for (const t of this.store.allTimers()) {
      if (!this.liveTimers.has(t.id)) this.addTimer(t.id, t.fireAt);
    }
    for (const id of this.store.instancesWithInbox()) {
      if (this.running.has(id)) this.dirty.add(id);
      else this.runnable.add(id);
    }
    this.rearmTimers();
    this.schedulePump();
  }

  private queueActivity(row: ActivityRow): void {
    if (this.knownActivities.has(row.id)) return;
    this.knownActivities.add(row.id);
    this.activityQueue.push(row);
  }

  /**
   * After a failed write nothing in memory is trusted: the transaction rolled back, so the store still holds
   * the work, and a rebuild from it (with a growing delay while writes keep failing) picks it up again.
   */
  private scheduleResync(): void {
    if (this.resyncTimer || this.stopping) return;
    const delay = this.resyncDelayMs;
    this.resyncDelayMs = Math.min(RESYNC_MAX_DELAY_MS, delay * 2);
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      if (this.stopping || !this.store.isOpen) return;
      try {
        this.loadPendingWork();
      } catch (e) {
        this.s.log(`[durable] reading pending work failed: ${errorMessage(e)}`);
        this.scheduleResync();
      }
      this.scheduleIdleCheck();
    }, delay);
  }

  /** A write succeeded again: the next failure starts over with a short delay. */
  private writeSucceeded(): void {
    this.resyncDelayMs = RESYNC_FIRST_DELAY_MS;
  }

  /**
   * Stops dispatching, gives running episodes and activities `graceMs` (wall clock) to commit, then closes the
   * store. An episode or activity still running after that stays persisted (its inbox messages, its activity
   * row) and runs again on the next start; its late result is discarded.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.stopping = true;
    clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    this.armed?.cancel();
    this.armed = undefined;
    // Episodes first: a committing episode may still queue activities, which then get the remaining grace.
    await settleWithin(this.inflightEpisodes, deadline);
    await settleWithin(this.inflight, deadline);
    this.store.close();
    this.resolveIdle();
    // Pending HTTP waits answer now instead of holding the process until their timeout.
    for (const id of [...this.statusListeners.keys()]) this.notifyStatus(id);
  }

  /** Resolves once nothing is runnable: only future timers and external waits remain. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.scheduleIdleCheck();
    });
  }

  private isIdle(): boolean {
    if (this.stopping) return true;
    if (this.runnable.size > 0 || this.running.size > 0 || this.inflight.size > 0) return false;
    if (this.activityQueue.length > 0 || this.activitiesRunning > 0) return false;
    if (this.dueScheduled || this.pumpScheduled || this.resyncTimer) return false;
    const next = this.nextTimer();
    return !(next && next.fireAt <= this.s.clock.now().getTime());
  }

  private scheduleIdleCheck(): void {
    if (this.idleCheckScheduled || this.idleWaiters.length === 0) return;
    this.idleCheckScheduled = true;
    setImmediate(() => {
      this.idleCheckScheduled = false;
      if (this.isIdle()) this.resolveIdle();
      else if (this.nextTimer() && !this.armed && !this.dueScheduled) this.rearmTimers();
    });
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Notified whenever the instance's status row changes (used by HTTP waits). */
  onStatusChange(instanceId: string, listener: () => void): () => void {
    let set = this.statusListeners.get(instanceId);
    if (!set) {
      set = new Set();
      this.statusListeners.set(instanceId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.statusListeners.delete(instanceId);
    };
  }

  private notifyStatus(instanceId: string): void {
    const set = this.statusListeners.get(instanceId);
    if (set) for (const l of [...set]) l();
  }

  /** Runs `fn` in one SQLite transaction, then the in-memory notifications it queued. */
  tx<T>(fn: () => T): T {
    // Nested calls join the outer transaction; its commit runs their notifications.
    if (this.txDepth > 0) return fn();
    this.postCommit = [];
    this.store.drainDeletedTimers();
    let result: T;
    this.txDepth++;
    try {
      result = this.store.transaction(fn);
    } catch (e) {
      this.postCommit = [];
      this.store.drainDeletedTimers();
      throw e;
    } finally {
      this.txDepth--;
    }
    this.writeSucceeded();
    const after = this.postCommit;
    this.postCommit = [];
    const deleted = this.store.drainDeletedTimers();
    if (deleted.length > 0) {
      for (const id of deleted) this.liveTimers.delete(id);
      this.rearmTimers();
    }
    for (const f of after) f();
    return result;
  }

  private afterCommit(f: () => void): void {
    this.postCommit.push(f);
  }

  // ---------------------------------------------------------------- client operations (call inside tx)

  /** Creates (or replaces a finished) instance and queues its ExecutionStarted. */
  startInstance(args: {
    name: string;
    instanceId: string;
    inputText: string | null;
    version?: string;
    parent?: { instanceId: string; executionId: string; taskId: number; name: string };
  }): void {
    const existing = this.store.getInstance(args.instanceId);
    if (existing && !TERMINAL_STATUSES.has(existing.runtimeStatus)) {
      throw new InstanceExistsError(args.instanceId, existing.runtimeStatus);
    }
    if (existing) this.store.clearInstanceWork(args.instanceId);
    const now = this.s.clock.now();
    const executionId = randomUUID().replace(/-/g, '');
    this.store.putInstance({
      instanceId: args.instanceId,
      name: args.name,
      version: args.version ?? null,
      executionId,
      runtimeStatus: 'Pending',
      input: args.inputText,
      output: null,
      customStatus: null,
      createdTime: now.getTime(),
      lastUpdatedTime: now.getTime(),
      parentInstanceId: args.parent?.instanceId ?? null,
      parentExecutionId: args.parent?.executionId ?? null,
      parentTaskId: args.parent?.taskId ?? null,
    });
    const started = historyEvents.executionStarted(now, {
      instanceId: args.instanceId,
      executionId,
      name: args.name,
      version: args.version ?? null,
      input: args.inputText,
      parent: args.parent
        ? {
            Name: args.parent.name,
            Version: '',
            OrchestrationInstance: {
              InstanceId: args.parent.instanceId,
              ExecutionId: args.parent.executionId,
            },
            TaskScheduleId: args.parent.taskId,
          }
        : null,
    });
    this.store.addInbox(args.instanceId, executionId, 'event', JSON.stringify(started));
    this.afterCommit(() => {
      this.markRunnable(args.instanceId);
      this.notifyStatus(args.instanceId);
    });
  }

  /** Queues an EventRaised for the current execution (buffered FIFO by name until awaited). */
  raiseEvent(instanceId: string, eventName: string, inputText: string | null): void {
    const ev = historyEvents.eventRaised(this.s.clock.now(), eventName, inputText);
    this.store.addInbox(instanceId, null, 'event', JSON.stringify(ev));
    this.afterCommit(() => this.markRunnable(instanceId));
  }

  /** Queues the ExecutionTerminated, ExecutionSuspended or ExecutionResumed event of a client operation. */
  sendControl(instanceId: string, op: ControlOperation, reason: string | null): void {
    const ev = controlEvent(op, this.s.clock.now(), reason);
    this.store.addInbox(instanceId, null, 'event', JSON.stringify(ev));
    this.afterCommit(() => this.markRunnable(instanceId));
  }

  /**
   * Deletes a finished instance and all it left behind. As in the extension, an instance that is not
   * finished (Pending, Running, Suspended, ContinuedAsNew) is not purged: false, as if nothing matched.
   */
  purge(instanceId: string): boolean {
    const existing = this.store.getInstance(instanceId);
    if (!existing || !TERMINAL_STATUSES.has(existing.runtimeStatus)) return false;
    this.store.deleteInstance(instanceId);
    this.afterCommit(() => this.notifyStatus(instanceId));
    return true;
  }

  // ---------------------------------------------------------------- dispatching

  private markRunnable(instanceId: string): void {
    if (this.running.has(instanceId)) this.dirty.add(instanceId);
    else this.runnable.add(instanceId);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopping || !this.started) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      this.schedulePump();
      this.scheduleIdleCheck();
    });
  }

  private pump(): void {
    if (this.stopping || !this.started || !this.store.isOpen) return;
    while (
      this.running.size < this.s.maxConcurrentOrchestratorFunctions &&
      this.runnable.size > 0
    ) {
      const next = this.runnable.values().next();
      if (next.done) break;
      const id = next.value;
      this.runnable.delete(id);
      this.running.add(id);
      const episode = this.runEpisode(id)
        .catch((e: unknown) => {
          this.s.log(`[durable] episode of '${id}' failed inside the engine: ${errorMessage(e)}`);
          this.scheduleResync();
        })
        .finally(() => {
          this.running.delete(id);
          this.inflightEpisodes.delete(episode);
          if (this.dirty.delete(id)) this.runnable.add(id);
        });
      this.inflightEpisodes.add(episode);
      this.track(episode);
    }
    while (
      this.activitiesRunning < this.s.maxConcurrentActivityFunctions &&
      this.activityQueue.length > 0
    ) {
      const a = this.activityQueue.shift()!;
      this.activitiesRunning++;
      this.track(
        this.runActivity(a)
          .catch((e: unknown) => {
            this.s.log(
              `[durable] activity '${a.name}' of '${a.instanceId}' failed inside the engine: ${errorMessage(e)}`,
            );
            this.scheduleResync();
          })
          .finally(() => {
            this.activitiesRunning--;
            this.knownActivities.delete(a.id);
          }),
      );
    }
    this.scheduleIdleCheck();
  }

  // ---------------------------------------------------------------- timers

  private addTimer(rowId: number, fireAt: number): void {
    this.liveTimers.add(rowId);
    this.timers.push({ rowId, fireAt });
  }

  /** The earliest pending timer, dropping stale heap entries on the way. */
  private nextTimer(): { rowId: number; fireAt: number } | undefined {
    for (let t = this.timers.peek(); t; t = this.timers.peek()) {
      if (this.liveTimers.has(t.rowId)) return t;
      this.timers.pop();
    }
    return undefined;
  }

  private rearmTimers(): void {
    if (this.stopping) return;
    const next = this.nextTimer();
    if (!next) {
      this.armed?.cancel();
      this.armed = undefined;
      return;
    }
    if (next.fireAt <= this.s.clock.now().getTime()) {
      this.armed?.cancel();
      this.armed = undefined;
      if (!this.dueScheduled) {
        this.dueScheduled = true;
        setImmediate(() => {
          this.dueScheduled = false;
          this.fireDueTimers();
        });
      }
      return;
    }
    if (this.armed && this.armed.at === next.fireAt) return;
    this.armed?.cancel();
    const at = next.fireAt;
    const cancel = this.s.clock.wakeAt(new Date(at), () => {
      if (this.armed?.at === at) this.armed = undefined;
      this.fireDueTimers();
    });
    this.armed = { at, cancel };
  }

  private fireDueTimers(): void {
    if (this.stopping || !this.store.isOpen) return;
    const now = this.s.clock.now();
    const due: number[] = [];
    for (let t = this.nextTimer(); t && t.fireAt <= now.getTime(); t = this.nextTimer()) {
      this.timers.pop();
      this.liveTimers.delete(t.rowId);
      due.push(t.rowId);
    }
    if (due.length > 0) {
      try {
        this.tx(() => {
          for (const rowId of due) this.fireTimer(rowId, now);
        });
      } catch (e) {
        this.s.log(`[durable] firing timers failed: ${errorMessage(e)}`);
        this.scheduleResync();
      }
    }
    this.rearmTimers();
    this.scheduleIdleCheck();
  }

  private fireTimer(rowId: number, now: Date): void {
    const row = this.store.getTimer(rowId);
    if (!row || !this.store.takeTimer(rowId)) return; // canceled, purged or restarted meanwhile
    const ev = historyEvents.timerFired(now, row.timerId, new Date(row.fireAt));
    this.store.addInbox(row.instanceId, row.executionId, 'event', JSON.stringify(ev));
    this.afterCommit(() => this.markRunnable(row.instanceId));
  }

  // ---------------------------------------------------------------- activities

  private async runActivity(a: ActivityRow): Promise<void> {
    let ev: HistoryEvent;
    try {
      const result =
        a.name === HTTP_ACTIVITY_NAME
          ? await runHttpActivity(a.input)
          : await this.s.invoker.invokeActivity(a.name, a.input ?? undefined, a.instanceId);
      ev = historyEvents.taskCompleted(this.s.clock.now(), a.taskId, toJsonText(result));
    } catch (e) {
      const message = errorMessage(e);
      const details =
        e instanceof FunctionInvocationError
          ? (e.stackTrace ?? message)
          : e instanceof Error
            ? (e.stack ?? message)
            : message;
      ev = historyEvents.taskFailed(
        this.s.clock.now(),
        a.taskId,
        `Activity function '${a.name}' failed: ${message}`,
        details,
      );
    }
    if (this.stopping && !this.store.isOpen) return;
    this.tx(() => {
      if (!this.store.takeActivity(a.id)) return; // the instance was restarted, terminated or purged
      const inst = this.store.getInstance(a.instanceId);
      if (!inst || inst.executionId !== a.executionId) return;
      this.store.addInbox(a.instanceId, a.executionId, 'event', JSON.stringify(ev));
      this.afterCommit(() => this.markRunnable(a.instanceId));
    });
  }

  // ---------------------------------------------------------------- orchestration episodes

  private async runEpisode(instanceId: string): Promise<void> {
    const inst = this.store.getInstance(instanceId);
    const inbox = this.store.getInbox(instanceId);
    if (inbox.length === 0) return;
    if (!inst || TERMINAL_STATUSES.has(inst.runtimeStatus)) {
      // Messages for finished or unknown instances are dropped, as the extension drops them.
      this.tx(() => this.store.deleteInboxRows(inbox.map((m) => m.id)));
      return;
    }
    const now = this.s.clock.now();
    const messages = inbox.map((row) => readInboxMessage(row, now));
    const fresh: HistoryEvent[] = [historyEvents.orchestratorStarted(now)];
    const consumed: number[] = [];
    const current = (m: InboxMessage): boolean =>
      m.executionId === null || m.executionId === inst.executionId;
    let suspended = inst.runtimeStatus === 'Suspended';
    let terminated: ExecutionTerminatedEvent | undefined;
    // Control events first, whatever their place in the inbox: a terminate wins over everything queued.
    for (const m of messages) {
      if (!isControlEvent(m.event)) continue;
      consumed.push(m.id);
      if (!current(m)) continue;
      const e = m.event;
      if (e.EventType === EventType.ExecutionTerminated) {
        terminated = e;
        break;
      }
      if (e.EventType === EventType.ExecutionSuspended && !suspended) {
        suspended = true;
        fresh.push(e);
      } else if (e.EventType === EventType.ExecutionResumed && suspended) {
        suspended = false;
        fresh.push(e);
      }
    }

    if (terminated !== undefined) {
      const reasonText = terminated.Input;
      fresh.push(terminated);
      this.tx(() => {
        if (!this.sameExecution(inst)) return;
        this.store.deleteInboxRows(inbox.map((m) => m.id));
        this.complete(
          inst,
          fresh,
          { status: 'Terminated', output: JSON.stringify(reasonText) },
          now,
          null,
        );
      });
      return;
    }

    if (suspended) {
      // While suspended, events stay queued; only the suspension itself is recorded.
      this.tx(() => {
        if (!this.sameExecution(inst)) return;
        this.store.deleteInboxRows(consumed);
        if (fresh.length > 1)
          this.store.appendHistory(
            instanceId,
            fresh.slice(1).map((e) => JSON.stringify(e)),
          );
        this.store.putInstance({
          ...inst,
          runtimeStatus: 'Suspended',
          lastUpdatedTime: now.getTime(),
        });
        this.afterCommit(() => this.notifyStatus(instanceId));
      });
      return;
    }

    for (const m of messages) {
      if (isControlEvent(m.event)) continue;
      consumed.push(m.id);
      if (!current(m)) continue; // from an older execution
      fresh.push(m.event);
    }

    if (fresh.length === 1) {
      // Only stale messages (from an earlier execution): nothing for the orchestrator to see.
      this.tx(() => {
        if (this.sameExecution(inst)) this.store.deleteInboxRows(consumed);
      });
      return;
    }

    const past = this.store.getHistory(instanceId).map(parseHistoryEvent);
    const history: HistoryEvent[] = [
      ...past.map((e) => ({ ...e, IsPlayed: true })),
      ...fresh.map((e) => ({ ...e, IsPlayed: false })),
    ];
    const started = history.find((e) => e.EventType === EventType.ExecutionStarted);
    if (!started) {
      this.tx(() => {
        if (this.sameExecution(inst)) this.store.deleteInboxRows(consumed);
      });
      return;
    }

    const payload = {
      history,
      input: parseJsonLenient(typeof started.Input === 'string' ? started.Input : null),
      instanceId,
      isReplaying: past.length > 0,
      parentInstanceId: inst.parentInstanceId,
      upperSchemaVersion: 1,
      // Replay schema V4: durable-functions allows `context.df.lock` only from V4 on.
      upperSchemaVersionNew: 3,
      longRunningTimerIntervalDuration: formatTimeSpan(this.s.longRunningTimerIntervalMs),
      maximumShortTimerDuration: formatTimeSpan(this.s.maximumShortTimerMs),
      defaultHttpAsyncRequestSleepTimeMillseconds: HTTP_POLLING_INTERVAL_MS,
    };

    let state: OrchestratorStateLike | undefined;
    let failure: string | undefined;
    try {
      const result = await this.s.invoker.invokeOrchestrator(inst.name, payload);
      state = asState(result);
      if (!state) failure = 'The orchestrator function returned an invalid orchestration state';
    } catch (e) {
      const message = errorMessage(e);
      const at = message.indexOf(OUT_OF_PROC_LABEL);
      if (at >= 0) {
        state = asState(message.slice(at + OUT_OF_PROC_LABEL.length));
        if (state && typeof state.error !== 'string') state.error = message.slice(0, at);
      }
      if (!state) failure = message;
    }
    if (this.stopping && !this.store.isOpen) return;

    const newEvents = [...fresh];
    let decisions: Decision[] = [];
    let outcome: EpisodeOutcome | undefined;
    let canceledTimerIds: number[] = [];
    let continueAsNew: { input: unknown } | undefined;
    const schema = typeof state?.schemaVersion === 'number' ? state.schemaVersion : 1;
    if (state) {
      const r = replay({
        history,
        actions: topLevelActions(state),
        instanceId,
        executionId: inst.executionId,
        splitLongTimers: schema >= 2,
        maximumShortTimerMs: this.s.maximumShortTimerMs,
        longRunningTimerIntervalMs: this.s.longRunningTimerIntervalMs,
        httpPolling: schema >= 2,
        httpPollingIntervalMs: HTTP_POLLING_INTERVAL_MS,
      });
      decisions = r.decisions;
      canceledTimerIds = r.canceledTimerIds;
      if (r.failure) failure = r.failure;
      else if (typeof state.error === 'string') {
        if (r.openTasks === 0) failure = state.error;
      } else if (state.isDone && r.openTasks === 0) {
        if (r.continueAsNew) continueAsNew = r.continueAsNew;
        else outcome = { status: 'Completed', output: toJsonText(state.output) };
      }
    }
    if (failure !== undefined) {
      outcome = {
        status: 'Failed',
        output: JSON.stringify(`Orchestrator function '${inst.name}' failed: ${failure}`),
      };
    }
    for (const d of decisions) newEvents.push(schedulingEvent(d, now));
    const customStatus =
      state && state.customStatus !== undefined ? toJsonText(state.customStatus) : null;

    this.tx(() => {
      if (!this.sameExecution(inst)) return;
      this.store.deleteInboxRows(consumed);
      const updated: InstanceRow = { ...inst, customStatus, lastUpdatedTime: now.getTime() };
      if (outcome) {
        // Fire-and-forget entity messages of the last episode (signals, releases) are still sent.
        this.performDecisions(
          updated,
          decisions.filter((d) => d.kind === 'entity'),
          now,
        );
        this.complete(updated, newEvents, outcome, now, state?.failureDetails ?? null);
        return;
      }
      this.performDecisions(updated, decisions, now);
      for (const timerId of canceledTimerIds) this.store.deleteTimer(instanceId, timerId);
      if (continueAsNew) {
        this.continueAsNew(updated, continueAsNew.input, now);
        return;
      }
      newEvents.push(historyEvents.orchestratorCompleted(now));
      this.store.appendHistory(
        instanceId,
        newEvents.map((e) => JSON.stringify(e)),
      );
      this.store.putInstance({ ...updated, runtimeStatus: 'Running' });
      this.afterCommit(() => this.notifyStatus(instanceId));
    });
  }

  private sameExecution(inst: InstanceRow): boolean {
    return this.store.getInstance(inst.instanceId)?.executionId === inst.executionId;
  }

  private performDecisions(inst: InstanceRow, decisions: readonly Decision[], now: Date): void {
    for (const d of decisions) {
      if (d.kind === 'activity') {
        const input =
          d.name === HTTP_ACTIVITY_NAME ? toJsonText(d.input) : activityInputString(d.input);
        const rowId = this.store.addActivity(
          inst.instanceId,
          inst.executionId,
          d.id,
          d.name,
          input,
        );
        const row: ActivityRow = {
          id: rowId,
          instanceId: inst.instanceId,
          executionId: inst.executionId,
          taskId: d.id,
          name: d.name,
          input,
        };
        this.afterCommit(() => {
          this.queueActivity(row);
          this.schedulePump();
        });
      } else if (d.kind === 'timer') {
        if (d.canceled) continue;
        const fireAt = d.fireAt.getTime();
        const rowId = this.store.addTimer(inst.instanceId, inst.executionId, d.id, fireAt);
        this.afterCommit(() => {
          this.addTimer(rowId, fireAt);
          this.rearmTimers();
        });
      } else if (d.kind === 'entity') {
        if (!this.entities) throw new Error('Durable entities are not available in this engine');
        this.entities.send(d.target, d.message);
      } else {
        try {
          this.startInstance({
            name: d.name,
            instanceId: d.instanceId,
            inputText: toJsonText(d.input),
            ...(d.version !== undefined ? { version: d.version } : {}),
            parent: {
              instanceId: inst.instanceId,
              executionId: inst.executionId,
              taskId: d.id,
              name: inst.name,
            },
          });
        } catch (e) {
          const failed = historyEvents.subOrchestrationFailed(
            now,
            d.id,
            errorMessage(e),
            errorMessage(e),
          );
          this.store.addInbox(inst.instanceId, inst.executionId, 'event', JSON.stringify(failed));
          this.afterCommit(() => this.markRunnable(inst.instanceId));
        }
      }
    }
  }

  private continueAsNew(inst: InstanceRow, input: unknown, now: Date): void {
    const executionId = randomUUID().replace(/-/g, '');
    const inputText = toJsonText(input);
    this.store.deleteHistory(inst.instanceId);
    this.store.deleteTimers(inst.instanceId);
    this.store.deleteActivities(inst.instanceId);
    this.store.putInstance({
      ...inst,
      executionId,
      input: inputText,
      output: null,
      runtimeStatus: 'ContinuedAsNew',
      lastUpdatedTime: now.getTime(),
    });
    const started = historyEvents.executionStarted(now, {
      instanceId: inst.instanceId,
      executionId,
      name: inst.name,
      version: inst.version,
      input: inputText,
    });
    this.store.addInbox(inst.instanceId, executionId, 'event', JSON.stringify(started));
    this.afterCommit(() => {
      this.markRunnable(inst.instanceId);
      this.notifyStatus(inst.instanceId);
    });
  }

  /** Records the end of an execution (Completed, Failed or Terminated) and tells the parent. */
  private complete(
    inst: InstanceRow,
    events: HistoryEvent[],
    outcome: EpisodeOutcome,
    now: Date,
    failureDetails: unknown,
  ): void {
    const all = [
      ...events,
      historyEvents.executionCompleted(
        now,
        OrchestrationStatusNumber[outcome.status],
        outcome.output,
        failureDetails ?? null,
      ),
      historyEvents.orchestratorCompleted(now),
    ];
    this.store.appendHistory(
      inst.instanceId,
      all.map((e) => JSON.stringify(e)),
    );
    this.store.deleteTimers(inst.instanceId);
    this.store.deleteActivities(inst.instanceId);
    this.entities?.instanceFinished(inst.instanceId);
    this.store.putInstance({
      ...inst,
      runtimeStatus: outcome.status,
      output: outcome.output,
      lastUpdatedTime: now.getTime(),
    });
    if (
      inst.parentInstanceId !== null &&
      inst.parentExecutionId !== null &&
      inst.parentTaskId !== null
    ) {
      const parent = this.store.getInstance(inst.parentInstanceId);
      if (parent && parent.executionId === inst.parentExecutionId) {
        const message = parseJsonLenient(outcome.output);
        const ev =
          outcome.status === 'Completed'
            ? historyEvents.subOrchestrationCompleted(now, inst.parentTaskId, outcome.output)
            : historyEvents.subOrchestrationFailed(
                now,
                inst.parentTaskId,
                typeof message === 'string'
                  ? message
                  : `Sub-orchestration '${inst.name}' ${outcome.status}`,
                typeof message === 'string' ? message : JSON.stringify(message),
              );
        this.store.addInbox(parent.instanceId, parent.executionId, 'event', JSON.stringify(ev));
        const parentId = parent.instanceId;
        this.afterCommit(() => this.markRunnable(parentId));
      }
    }
    this.afterCommit(() => this.notifyStatus(inst.instanceId));
  }
}

/** Waits until `pending` is empty (it may grow meanwhile) or the deadline (epoch ms) passes. */
async function settleWithin(pending: ReadonlySet<Promise<void>>, deadline: number): Promise<void> {
  while (pending.size > 0) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      }),
    ]);
    clearTimeout(timer);
  }
}

function schedulingEvent(d: Decision, now: Date): HistoryEvent {
  switch (d.kind) {
    case 'activity':
      return historyEvents.taskScheduled(now, d.id, d.name, toJsonText(d.input));
    case 'timer':
      return historyEvents.timerCreated(now, d.id, d.fireAt);
    case 'suborchestration':
      return historyEvents.subOrchestrationCreated(now, d.id, {
        name: d.name,
        version: d.version ?? null,
        instanceId: d.instanceId,
        input: toJsonText(d.input),
      });
    case 'entity':
      return historyEvents.eventSent(
        now,
        d.id,
        d.target,
        eventNameOf(d.message.kind),
        JSON.stringify(d.message.request),
      );
  }
}

function isControlEvent(e: HistoryEvent): e is ControlEvent {
  return (
    e.EventType === EventType.ExecutionTerminated ||
    e.EventType === EventType.ExecutionSuspended ||
    e.EventType === EventType.ExecutionResumed
  );
}
