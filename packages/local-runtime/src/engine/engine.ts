/**
 * The durable engine: stores instances in SQLite, drives orchestration episodes through the
 * `durable-functions` executor (via the host's `FunctionInvoker`), runs activities from a persisted
 * queue, fires persisted timers, and delivers events.
 *
 * This class wires the parts together and is what the rest of the runtime calls:
 * - `dispatcher.ts` decides what runs (concurrency, idle detection), `timer-wakeups.ts` when timers fire;
 * - an episode reads its inbox and history, asks the pure `episode-planner.ts` what to do, invokes the
 *   orchestrator, and applies the plan with `episode-commit.ts` in one transaction;
 * - activities run through the invoker, or `http-activity.ts` for `callHttp`.
 *
 * Work that is persisted but not finished when the process dies is picked up again by `start()`.
 */
import { randomUUID } from 'node:crypto';
import { FunctionInvocationError, type Clock, type FunctionInvoker } from '../contracts';
import { SqliteStore, TERMINAL_STATUSES, type ActivityRow } from '../store/sqlite-store';
import { Dispatcher } from './dispatcher';
import {
  commitActivityResult,
  commitEpisode,
  commitTimerFired,
  queueMessage,
  writeNewInstance,
  type CommitTarget,
  type EntityMessageSink,
  type NewInstance,
} from './episode-commit';
import { discardPlan, episodeRequest, planEpisode, triageInbox } from './episode-planner';
import { historyEvents, parseHistoryEvent, toJsonText, type HistoryEvent } from './history';
import { runHttpActivity } from './http-activity';
import { controlEvent, readInboxMessage, type ControlOperation } from './inbox-messages';
import { errorMessage, type OrchestratorResult } from './orchestrator-protocol';
import { HTTP_ACTIVITY_NAME } from './replay';
import { rewindInstance } from './rewind';
import { TimerWakeups } from './timer-wakeups';

export { InstanceExistsError, InvalidInstanceStateError } from './engine-errors';
export { activityInputString, type EntityMessageSink } from './episode-commit';
export { formatTimeSpan } from './orchestrator-protocol';

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
  /**
   * Deliveries of one activity before it is failed into history as a poison activity instead of run again
   * (durabletask-go's `DequeueCount`): each start that did not end in a committed result counts, e.g. a
   * crash or stop mid-run. Default 5.
   */
  maxActivityDequeueCount?: number;
}

export const DEFAULT_MAX_ACTIVITY_DEQUEUE_COUNT = 5;

export class DurableEngineCore {
  readonly store: SqliteStore;
  private readonly timers: TimerWakeups;
  private readonly dispatcher: Dispatcher;
  /** The commit step's view of the engine: the store, and hooks it calls after each commit. */
  private readonly writes: CommitTarget;
  private readonly statusListeners = new Map<string, Set<() => void>>();
  private postCommit: (() => void)[] = [];
  private txDepth = 0;
  private entities: EntityMessageSink | undefined;
  /** This engine's name in `activities.locked_by`: a row locked by another one was left by a dead process. */
  private readonly owner = `engine-${process.pid}-${randomUUID()}`;
  /**
   * Results of activities that ran but whose commit failed, by activity row id: the retry commits this result
   * instead of running the activity (and its side effects, an SMS) again.
   */
  private readonly uncommitted = new Map<number, HistoryEvent>();

  constructor(private readonly settings: EngineSettings) {
    this.store = (settings.openStore ?? ((file) => new SqliteStore(file)))(settings.databasePath);
    this.timers = new TimerWakeups({
      clock: settings.clock,
      canFire: () => !this.dispatcher.isStopping && this.store.isOpen,
      fire: (rowIds, now) => this.fireTimers(rowIds, now),
    });
    this.dispatcher = new Dispatcher(
      {
        clock: settings.clock,
        maxConcurrentOrchestrators: settings.maxConcurrentOrchestratorFunctions,
        maxConcurrentActivities: settings.maxConcurrentActivityFunctions,
        runEpisode: (id) => this.runEpisode(id),
        runActivity: (row) => this.runActivity(row),
        canRun: () => this.store.isOpen,
        reload: () => this.loadPendingWork(),
        log: settings.log,
      },
      this.timers,
    );
    this.writes = {
      store: this.store,
      clock: settings.clock,
      entities: () => this.entities,
      afterCommit: (f) => this.afterCommit(f),
      markRunnable: (id) => this.dispatcher.markRunnable(id),
      notifyStatus: (id) => this.notifyStatus(id),
      queueActivity: (row) => this.dispatcher.queueActivity(row),
      addTimer: (rowId, fireAt) => {
        this.timers.add(rowId, fireAt);
        this.timers.rearm();
      },
    };
  }

  /** Connects the entity scheduler (set once, before `start()`). */
  attachEntities(sink: EntityMessageSink): void {
    this.entities = sink;
  }

  /** Work done outside the engine's own queues (entity batches): `whenIdle()` waits for it too. */
  trackWork(p: Promise<void>): void {
    this.dispatcher.track(p);
  }

  /** Runs `f` after the current transaction commits (immediately when none is open). */
  runAfterCommit(f: () => void): void {
    if (this.txDepth > 0) this.afterCommit(f);
    else f();
  }

  /** Schedules an episode of an instance whose inbox got a message outside the engine's commit step. */
  wake(instanceId: string): void {
    this.runAfterCommit(() => {
      this.dispatcher.markRunnable(instanceId);
      this.notifyStatus(instanceId);
    });
  }

  get clock(): Clock {
    return this.settings.clock;
  }

  get taskHubName(): string {
    return this.settings.taskHubName;
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    // Crash recovery: everything persisted but unfinished is dispatched again.
    this.dispatcher.start();
  }

  /**
   * Fills the caches of pending work (ready instances, activity queue, timer heap) from the store, which is the
   * only record of it; entries already cached are kept as they are.
   */
  private loadPendingWork(): void {
    for (const a of this.store.allActivities()) this.dispatcher.queueActivity(a);
    for (const t of this.store.allTimers()) this.timers.add(t.id, t.fireAt);
    for (const id of this.store.instancesWithInbox()) this.dispatcher.markRunnable(id);
    this.timers.rearm();
  }

  /**
   * Stops dispatching, gives running episodes and activities `graceMs` (wall clock) to commit, then closes the
   * store. An episode or activity still running after that stays persisted (its inbox messages, its activity
   * row) and runs again on the next start; its late result is discarded.
   */
  async stop(graceMs = 10_000): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.timers.stop();
    await this.dispatcher.stop(deadline);
    this.store.close();
    this.dispatcher.resolveIdle();
    // Pending HTTP waits answer now instead of holding the process until their timeout.
    for (const id of [...this.statusListeners.keys()]) this.notifyStatus(id);
  }

  /** Resolves once nothing is runnable: only future timers and external waits remain. */
  whenIdle(): Promise<void> {
    return this.dispatcher.whenIdle();
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
    this.dispatcher.writeSucceeded();
    const after = this.postCommit;
    this.postCommit = [];
    const deleted = this.store.drainDeletedTimers();
    if (deleted.length > 0) {
      this.timers.forget(deleted);
      this.timers.rearm();
    }
    for (const f of after) f();
    return result;
  }

  private afterCommit(f: () => void): void {
    this.postCommit.push(f);
  }

  // ---------------------------------------------------------------- client operations (call inside tx)

  /** Creates (or replaces a finished) instance and queues its ExecutionStarted. */
  startInstance(args: NewInstance): void {
    writeNewInstance(this.writes, args);
  }

  /** Queues an EventRaised for the current execution (buffered FIFO by name until awaited). */
  raiseEvent(instanceId: string, eventName: string, inputText: string | null): void {
    const ev = historyEvents.eventRaised(this.settings.clock.now(), eventName, inputText);
    queueMessage(this.writes, instanceId, null, ev);
  }

  /** Queues the ExecutionTerminated, ExecutionSuspended or ExecutionResumed event of a client operation. */
  sendControl(instanceId: string, op: ControlOperation, reason: string | null): void {
    const ev = controlEvent(op, this.settings.clock.now(), reason);
    queueMessage(this.writes, instanceId, null, ev);
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

  /** Rewinds a Failed instance (see `rewind.ts`); false when there is none, `NotFailedError` when not Failed. */
  rewind(instanceId: string, reason: string | null): boolean {
    return rewindInstance(this.writes, instanceId, reason);
  }

  // ---------------------------------------------------------------- work

  private fireTimers(rowIds: readonly number[], now: Date): void {
    if (rowIds.length > 0) {
      try {
        this.tx(() => {
          for (const rowId of rowIds) commitTimerFired(this.writes, rowId, now);
        });
      } catch (e) {
        this.settings.log(`[durable] firing timers failed: ${errorMessage(e)}`);
        this.dispatcher.scheduleResync();
      }
    }
    this.dispatcher.scheduleIdleCheck();
  }

  /**
   * Runs one activity at least once, and again only when a run was cut short (crash, stop):
   * 1. a result computed earlier whose commit failed is committed, the activity is not run again;
   * 2. the delivery is counted and locked in the store before the activity runs (if that write fails, nothing
   *    runs, and the dispatcher retries with back-off); past `maxActivityDequeueCount` deliveries the activity
   *    fails into history as a poison one instead;
   * 3. the result is kept in memory until its commit succeeds.
   */
  private async runActivity(a: ActivityRow): Promise<void> {
    const computed = this.uncommitted.get(a.id);
    if (computed) {
      this.commitResult(a, computed);
      return;
    }
    const deliveries = this.tx(() => this.store.lockActivity(a.id, this.owner));
    if (deliveries === undefined) return; // gone: the instance was restarted, terminated or purged
    const limit = this.settings.maxActivityDequeueCount ?? DEFAULT_MAX_ACTIVITY_DEQUEUE_COUNT;
    const ev =
      deliveries > limit ? this.poisonResult(a, deliveries - 1) : await this.invokeActivity(a);
    if (this.dispatcher.isStopping && !this.store.isOpen) return;
    this.uncommitted.set(a.id, ev);
    this.commitResult(a, ev);
  }

  private commitResult(a: ActivityRow, ev: HistoryEvent): void {
    this.tx(() => commitActivityResult(this.writes, a, ev));
    this.uncommitted.delete(a.id);
  }

  private poisonResult(a: ActivityRow, starts: number): HistoryEvent {
    const message = `Activity function '${a.name}' was started ${starts} times without completing (poison activity): it is not run again.`;
    this.settings.log(`[durable] ${message} Instance '${a.instanceId}', task ${a.taskId}.`);
    return historyEvents.taskFailed(this.settings.clock.now(), a.taskId, message, message);
  }

  private async invokeActivity(a: ActivityRow): Promise<HistoryEvent> {
    try {
      const result =
        a.name === HTTP_ACTIVITY_NAME
          ? await runHttpActivity(a.input)
          : await this.settings.invoker.invokeActivity(a.name, a.input ?? undefined, a.instanceId);
      return historyEvents.taskCompleted(this.settings.clock.now(), a.taskId, toJsonText(result));
    } catch (e) {
      const message = errorMessage(e);
      const details =
        e instanceof FunctionInvocationError
          ? (e.stackTrace ?? message)
          : e instanceof Error
            ? (e.stack ?? message)
            : message;
      return historyEvents.taskFailed(
        this.settings.clock.now(),
        a.taskId,
        `Activity function '${a.name}' failed: ${message}`,
        details,
      );
    }
  }

  /** One episode: inbox and history in, the orchestrator's decisions out, committed as one transaction. */
  private async runEpisode(instanceId: string): Promise<void> {
    const instance = this.store.getInstance(instanceId);
    const rows = this.store.getInbox(instanceId);
    if (rows.length === 0) return;
    const now = this.settings.clock.now();
    const triage = triageInbox(
      instanceId,
      instance,
      rows.map((row) => readInboxMessage(row, now)),
      now,
    );
    if (triage.kind === 'plan') {
      const plan = triage.plan;
      if (plan) this.tx(() => commitEpisode(this.writes, plan, instance, now));
      return;
    }
    const { instance: running, newEvents, consumed } = triage;
    const past = this.store.getHistory(instanceId).map(parseHistoryEvent);
    const request = episodeRequest(running, past, newEvents, this.settings);
    if (!request) {
      this.tx(() => commitEpisode(this.writes, discardPlan(running, consumed), running, now));
      return;
    }
    let result: OrchestratorResult;
    try {
      result = {
        returned: await this.settings.invoker.invokeOrchestrator(running.name, request.payload),
      };
    } catch (e) {
      result = { threw: e };
    }
    if (this.dispatcher.isStopping && !this.store.isOpen) return;
    const plan = planEpisode({
      instance: running,
      history: request.history,
      newEvents,
      consumed,
      result,
      settings: this.settings,
      now,
    });
    this.tx(() => commitEpisode(this.writes, plan, running, now));
  }
}
