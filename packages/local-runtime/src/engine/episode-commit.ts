/**
 * The engine's writes to the store, each called inside the caller's transaction: an episode plan applied as a
 * whole, an activity result, a timer firing, a new instance, a queued message. What the dispatcher must learn
 * (ready instances, new activity and timer rows, status changes) is handed over only after the commit, so its
 * caches are never ahead of the store.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../contracts';
import type { EntityMessage } from '../entities/messages';
import {
  TERMINAL_STATUSES,
  type SqliteStore,
  type ActivityRow,
  type InstanceRow,
} from '../store/sqlite-store';
import { InstanceExistsError } from './engine-errors';
import { historyEvents, toJsonText, type HistoryEvent } from './history';
import { parentNotice, type EpisodePlan, type FinalStatus } from './episode-planner';
import { errorMessage } from './orchestrator-protocol';
import { HTTP_ACTIVITY_NAME, type Decision } from './replay';

/** Where orchestrations' entity messages go (the entity scheduler); called inside the episode's transaction. */
export interface EntityMessageSink {
  send(target: string, message: EntityMessage): void;
  /** The orchestration finished: the locks it still holds are released, as the extension does. */
  instanceFinished(instanceId: string): void;
}

/** What the writes need: the store, and the dispatcher's hooks, which they call only after the commit. */
export interface CommitTarget {
  readonly store: SqliteStore;
  readonly clock: Clock;
  /** The entity scheduler, when entities are attached. */
  entities(): EntityMessageSink | undefined;
  afterCommit(f: () => void): void;
  markRunnable(instanceId: string): void;
  notifyStatus(instanceId: string): void;
  queueActivity(row: ActivityRow): void;
  addTimer(rowId: number, fireAt: number): void;
}

export interface NewInstance {
  name: string;
  instanceId: string;
  inputText: string | null;
  version?: string;
  parent?: { instanceId: string; executionId: string; taskId: number; name: string };
}

function newExecutionId(): string {
  return randomUUID().replace(/-/g, '');
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

/** Queues a message for an instance's next episode. */
export function queueMessage(
  t: CommitTarget,
  instanceId: string,
  executionId: string | null,
  event: HistoryEvent,
): void {
  t.store.addInbox(instanceId, executionId, 'event', JSON.stringify(event));
  t.afterCommit(() => t.markRunnable(instanceId));
}

/** Creates (or replaces a finished) instance and queues its ExecutionStarted. */
export function writeNewInstance(t: CommitTarget, args: NewInstance): void {
  const existing = t.store.getInstance(args.instanceId);
  if (existing && !TERMINAL_STATUSES.has(existing.runtimeStatus)) {
    throw new InstanceExistsError(args.instanceId, existing.runtimeStatus);
  }
  if (existing) t.store.clearInstanceWork(args.instanceId);
  const now = t.clock.now();
  const executionId = newExecutionId();
  t.store.putInstance({
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
  queueMessage(t, args.instanceId, executionId, started);
  t.afterCommit(() => t.notifyStatus(args.instanceId));
}

/**
 * Applies an episode's plan. Nothing is applied when the instance moved on to another execution (restarted,
 * purged) while the orchestrator ran. `instance` is the row the plan was made from (only a plan that discards
 * the messages of an unknown instance comes without one).
 */
export function commitEpisode(
  t: CommitTarget,
  plan: EpisodePlan,
  instance: InstanceRow | undefined,
  now: Date,
): void {
  const current = t.store.getInstance(plan.instanceId);
  if (plan.executionId !== null && current?.executionId !== plan.executionId) return;
  t.store.deleteInboxRows(plan.consumed);
  const outcome = plan.outcome;
  if (outcome.kind === 'discarded' || !instance) return;
  const updated: InstanceRow = {
    ...instance,
    customStatus: plan.customStatus,
    lastUpdatedTime: now.getTime(),
  };
  startWork(t, updated, plan.work, now);
  for (const timerId of plan.canceledTimers) t.store.deleteTimer(instance.instanceId, timerId);
  switch (outcome.kind) {
    case 'finished':
      t.store.appendHistory(
        instance.instanceId,
        plan.append.map((e) => JSON.stringify(e)),
      );
      finish(t, updated, outcome.status, outcome.output, now);
      return;
    case 'continuedAsNew':
      continueAsNew(t, updated, outcome.input, now);
      return;
    case 'suspended':
    case 'running':
      if (plan.append.length > 0)
        t.store.appendHistory(
          instance.instanceId,
          plan.append.map((e) => JSON.stringify(e)),
        );
      t.store.putInstance({
        ...updated,
        runtimeStatus: outcome.kind === 'suspended' ? 'Suspended' : 'Running',
      });
      t.afterCommit(() => t.notifyStatus(instance.instanceId));
  }
}

/** An activity's result (TaskCompleted or TaskFailed) replaces its row, unless the row is already gone. */
export function commitActivityResult(t: CommitTarget, a: ActivityRow, result: HistoryEvent): void {
  if (!t.store.takeActivity(a.id)) return; // the instance was restarted, terminated or purged
  const inst = t.store.getInstance(a.instanceId);
  if (!inst || inst.executionId !== a.executionId) return;
  queueMessage(t, a.instanceId, a.executionId, result);
}

/** A due timer's row becomes a TimerFired message, unless it was canceled, purged or restarted meanwhile. */
export function commitTimerFired(t: CommitTarget, rowId: number, now: Date): void {
  const row = t.store.getTimer(rowId);
  if (!row || !t.store.takeTimer(rowId)) return;
  const ev = historyEvents.timerFired(now, row.timerId, new Date(row.fireAt));
  queueMessage(t, row.instanceId, row.executionId, ev);
}

function startWork(t: CommitTarget, inst: InstanceRow, work: readonly Decision[], now: Date): void {
  for (const d of work) {
    if (d.kind === 'activity') {
      const input =
        d.name === HTTP_ACTIVITY_NAME ? toJsonText(d.input) : activityInputString(d.input);
      const id = t.store.addActivity(inst.instanceId, inst.executionId, d.id, d.name, input);
      const row: ActivityRow = {
        id,
        instanceId: inst.instanceId,
        executionId: inst.executionId,
        taskId: d.id,
        name: d.name,
        input,
      };
      t.afterCommit(() => t.queueActivity(row));
    } else if (d.kind === 'timer') {
      if (d.canceled) continue;
      const fireAt = d.fireAt.getTime();
      const rowId = t.store.addTimer(inst.instanceId, inst.executionId, d.id, fireAt);
      t.afterCommit(() => t.addTimer(rowId, fireAt));
    } else if (d.kind === 'entity') {
      const entities = t.entities();
      if (!entities) throw new Error('Durable entities are not available in this engine');
      entities.send(d.target, d.message);
    } else {
      try {
        writeNewInstance(t, {
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
        queueMessage(t, inst.instanceId, inst.executionId, failed);
      }
    }
  }
}

function continueAsNew(
  t: CommitTarget,
  inst: InstanceRow,
  inputText: string | null,
  now: Date,
): void {
  const executionId = newExecutionId();
  t.store.deleteHistory(inst.instanceId);
  t.store.deleteTimers(inst.instanceId);
  t.store.deleteActivities(inst.instanceId);
  t.store.putInstance({
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
  queueMessage(t, inst.instanceId, executionId, started);
  t.afterCommit(() => t.notifyStatus(inst.instanceId));
}

/** The end of an execution (its history is already appended): pending work goes, the parent is told. */
function finish(
  t: CommitTarget,
  inst: InstanceRow,
  status: FinalStatus,
  output: string | null,
  now: Date,
): void {
  t.store.deleteTimers(inst.instanceId);
  t.store.deleteActivities(inst.instanceId);
  t.entities()?.instanceFinished(inst.instanceId);
  t.store.putInstance({ ...inst, runtimeStatus: status, output, lastUpdatedTime: now.getTime() });
  if (
    inst.parentInstanceId !== null &&
    inst.parentExecutionId !== null &&
    inst.parentTaskId !== null
  ) {
    const parent = t.store.getInstance(inst.parentInstanceId);
    if (parent && parent.executionId === inst.parentExecutionId) {
      const notice = parentNotice(inst, inst.parentTaskId, status, output, now);
      queueMessage(t, parent.instanceId, parent.executionId, notice);
    }
  }
  t.afterCommit(() => t.notifyStatus(inst.instanceId));
}
