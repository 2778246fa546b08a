/**
 * The rules of one orchestration episode, as pure functions (no store, no invoker, no clock: `now` is an
 * input), in the spirit of durabletask-go's `OrchestrationRuntimeState.ApplyActions`:
 *
 * 1. `triageInbox`: control events first (a terminate wins over everything queued; while suspended, other
 *    events stay queued), messages of an older execution dropped; either a finished plan or the new events
 *    the orchestrator must see.
 * 2. `episodeRequest`: the history handed to the orchestrator (past events played, new ones not) and its
 *    payload.
 * 3. `planEpisode`: from what the orchestrator returned (or threw) to the plan the commit step applies:
 *    history to append, work to start, timers to cancel, custom status, and the outcome.
 */
import { TERMINAL_STATUSES, type InstanceRow } from '../store/sqlite-store';
import { eventNameOf } from '../entities/messages';
import {
  EventType,
  OrchestrationStatusNumber,
  historyEvents,
  parseJsonLenient,
  toJsonText,
  type ExecutionTerminatedEvent,
  type HistoryEvent,
} from './history';
import type { ControlEvent, InboxMessage } from './inbox-messages';
import {
  HTTP_POLLING_INTERVAL_MS,
  orchestratorPayload,
  readOrchestratorResult,
  topLevelActions,
  type OrchestratorPayload,
  type OrchestratorResult,
  type TimerSettings,
} from './orchestrator-protocol';
import { replay, type Decision } from './replay';

export type FinalStatus = 'Completed' | 'Failed' | 'Terminated';

export type EpisodeOutcome =
  /** Nothing for the orchestrator: only the consumed messages go. */
  | { kind: 'discarded' }
  /** Suspended (or still suspended): the suspension is recorded, other events stay queued. */
  | { kind: 'suspended' }
  | { kind: 'running' }
  /** The execution ends and a new one starts with `input` (JSON text). */
  | { kind: 'continuedAsNew'; input: string | null }
  | { kind: 'finished'; status: FinalStatus; output: string | null; failureDetails: unknown };

export interface EpisodePlan {
  instanceId: string;
  /**
   * The execution the plan was made for: if the instance moved on meanwhile, nothing is applied. Null for the
   * messages of an unknown or finished instance, which go whatever happened since.
   */
  executionId: string | null;
  /** Inbox rows the episode consumed. */
  consumed: readonly number[];
  /** History events appended to the execution, in order (ExecutionCompleted and OrchestratorCompleted included). */
  append: readonly HistoryEvent[];
  /** The decisions whose work starts now: activity and timer rows, entity messages, child instances. */
  work: readonly Decision[];
  /** Task ids of timers the orchestrator canceled: their rows go. */
  canceledTimers: readonly number[];
  /** The instance's custom status afterwards (JSON text). */
  customStatus: string | null;
  outcome: EpisodeOutcome;
}

/** Either the plan is already decided, or these new events go to the orchestrator. */
export type Triage =
  | { kind: 'plan'; plan: EpisodePlan | undefined }
  | { kind: 'replay'; instance: InstanceRow; newEvents: HistoryEvent[]; consumed: number[] };

function discard(
  instanceId: string,
  executionId: string | null,
  consumed: readonly number[],
): EpisodePlan {
  return {
    instanceId,
    executionId,
    consumed,
    append: [],
    work: [],
    canceledTimers: [],
    customStatus: null,
    outcome: { kind: 'discarded' },
  };
}

export function isControlEvent(e: HistoryEvent): e is ControlEvent {
  return (
    e.EventType === EventType.ExecutionTerminated ||
    e.EventType === EventType.ExecutionSuspended ||
    e.EventType === EventType.ExecutionResumed
  );
}

/**
 * Step 1. The messages of an unknown or finished instance are dropped, as the extension drops them. An empty
 * inbox needs no plan.
 */
export function triageInbox(
  instanceId: string,
  instance: InstanceRow | undefined,
  inbox: readonly InboxMessage[],
  now: Date,
): Triage {
  if (inbox.length === 0) return { kind: 'plan', plan: undefined };
  if (!instance || TERMINAL_STATUSES.has(instance.runtimeStatus)) {
    return {
      kind: 'plan',
      plan: discard(
        instanceId,
        null,
        inbox.map((m) => m.id),
      ),
    };
  }
  const current = (m: InboxMessage): boolean =>
    m.executionId === null || m.executionId === instance.executionId;
  const newEvents: HistoryEvent[] = [historyEvents.orchestratorStarted(now)];
  const consumed: number[] = [];
  let suspended = instance.runtimeStatus === 'Suspended';
  let terminated: ExecutionTerminatedEvent | undefined;
  // Control events first, whatever their place in the inbox.
  for (const m of inbox) {
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
      newEvents.push(e);
    } else if (e.EventType === EventType.ExecutionResumed && suspended) {
      suspended = false;
      newEvents.push(e);
    }
  }
  if (terminated) {
    const output = JSON.stringify(terminated.Input);
    return {
      kind: 'plan',
      plan: {
        instanceId,
        executionId: instance.executionId,
        // Everything queued goes with the execution.
        consumed: inbox.map((m) => m.id),
        append: [...newEvents, terminated, ...closingEvents(now, 'Terminated', output, null)],
        work: [],
        canceledTimers: [],
        customStatus: instance.customStatus,
        outcome: { kind: 'finished', status: 'Terminated', output, failureDetails: null },
      },
    };
  }
  if (suspended) {
    return {
      kind: 'plan',
      plan: {
        instanceId,
        executionId: instance.executionId,
        consumed,
        append: newEvents.slice(1),
        work: [],
        canceledTimers: [],
        customStatus: instance.customStatus,
        outcome: { kind: 'suspended' },
      },
    };
  }
  for (const m of inbox) {
    if (isControlEvent(m.event)) continue;
    consumed.push(m.id);
    if (current(m)) newEvents.push(m.event);
  }
  // Only stale messages (from an earlier execution): nothing for the orchestrator to see.
  if (newEvents.length === 1) {
    return { kind: 'plan', plan: discard(instanceId, instance.executionId, consumed) };
  }
  return { kind: 'replay', instance, newEvents, consumed };
}

export interface EpisodeRequest {
  /** Past events (`IsPlayed: true`) then the new ones (`IsPlayed: false`). */
  history: HistoryEvent[];
  payload: OrchestratorPayload;
}

/** Step 2. Undefined when the history has no ExecutionStarted (nothing to run: discard the messages). */
export function episodeRequest(
  instance: InstanceRow,
  past: readonly HistoryEvent[],
  newEvents: readonly HistoryEvent[],
  settings: TimerSettings,
): EpisodeRequest | undefined {
  const history: HistoryEvent[] = [
    ...past.map((e) => ({ ...e, IsPlayed: true })),
    ...newEvents.map((e) => ({ ...e, IsPlayed: false })),
  ];
  const payload = orchestratorPayload({
    instanceId: instance.instanceId,
    parentInstanceId: instance.parentInstanceId,
    history,
    isReplaying: past.length > 0,
    settings,
  });
  return payload ? { history, payload } : undefined;
}

/** The plan when `episodeRequest` found nothing to run. */
export function discardPlan(instance: InstanceRow, consumed: readonly number[]): EpisodePlan {
  return discard(instance.instanceId, instance.executionId, consumed);
}

/** Step 3: the outcome rules. The instance completes (or fails) only when no uncanceled task is open. */
export function planEpisode(args: {
  instance: InstanceRow;
  history: readonly HistoryEvent[];
  newEvents: readonly HistoryEvent[];
  consumed: readonly number[];
  result: OrchestratorResult;
  settings: TimerSettings;
  now: Date;
}): EpisodePlan {
  const { instance, now } = args;
  const read = readOrchestratorResult(args.result);
  const state = 'state' in read ? read.state : undefined;
  let failure = 'failure' in read ? read.failure : undefined;
  let decisions: Decision[] = [];
  let canceledTimers: number[] = [];
  let outcome: EpisodeOutcome = { kind: 'running' };
  if (state) {
    const schema = typeof state.schemaVersion === 'number' ? state.schemaVersion : 1;
    const r = replay({
      history: args.history,
      actions: topLevelActions(state),
      instanceId: instance.instanceId,
      executionId: instance.executionId,
      splitLongTimers: schema >= 2,
      maximumShortTimerMs: args.settings.maximumShortTimerMs,
      longRunningTimerIntervalMs: args.settings.longRunningTimerIntervalMs,
      httpPolling: schema >= 2,
      httpPollingIntervalMs: HTTP_POLLING_INTERVAL_MS,
    });
    decisions = r.decisions;
    canceledTimers = r.canceledTimerIds;
    if (r.failure) failure = r.failure;
    else if (typeof state.error === 'string') {
      if (r.openTasks === 0) failure = state.error;
    } else if (state.isDone && r.openTasks === 0) {
      outcome = r.continueAsNew
        ? { kind: 'continuedAsNew', input: toJsonText(r.continueAsNew.input) }
        : {
            kind: 'finished',
            status: 'Completed',
            output: toJsonText(state.output),
            failureDetails: state.failureDetails ?? null,
          };
    }
  }
  if (failure !== undefined) {
    outcome = {
      kind: 'finished',
      status: 'Failed',
      output: JSON.stringify(`Orchestrator function '${instance.name}' failed: ${failure}`),
      failureDetails: state?.failureDetails ?? null,
    };
  }
  const customStatus =
    state && state.customStatus !== undefined ? toJsonText(state.customStatus) : null;
  const scheduled = [...args.newEvents, ...decisions.map((d) => schedulingEvent(d, now))];
  const base = {
    instanceId: instance.instanceId,
    executionId: instance.executionId,
    consumed: args.consumed,
    customStatus,
  };
  switch (outcome.kind) {
    case 'finished':
      return {
        ...base,
        append: [
          ...scheduled,
          ...closingEvents(now, outcome.status, outcome.output, outcome.failureDetails),
        ],
        // Fire-and-forget entity messages of the last episode (signals, releases) are still sent.
        work: decisions.filter((d) => d.kind === 'entity'),
        canceledTimers: [],
        outcome,
      };
    case 'continuedAsNew':
      // The new execution starts with an empty history.
      return { ...base, append: [], work: decisions, canceledTimers, outcome };
    default:
      return {
        ...base,
        append: [...scheduled, historyEvents.orchestratorCompleted(now)],
        work: decisions,
        canceledTimers,
        outcome,
      };
  }
}

/** What ends an execution's history. */
function closingEvents(
  now: Date,
  status: FinalStatus,
  output: string | null,
  failureDetails: unknown,
): HistoryEvent[] {
  return [
    historyEvents.executionCompleted(
      now,
      OrchestrationStatusNumber[status],
      output,
      failureDetails ?? null,
    ),
    historyEvents.orchestratorCompleted(now),
  ];
}

/** The message a finished child sends its parent (`parentTaskId` is the parent's task id for it). */
export function parentNotice(
  child: InstanceRow,
  parentTaskId: number,
  status: FinalStatus,
  output: string | null,
  now: Date,
): HistoryEvent {
  if (status === 'Completed')
    return historyEvents.subOrchestrationCompleted(now, parentTaskId, output);
  const message = parseJsonLenient(output);
  return historyEvents.subOrchestrationFailed(
    now,
    parentTaskId,
    typeof message === 'string' ? message : `Sub-orchestration '${child.name}' ${status}`,
    typeof message === 'string' ? message : JSON.stringify(message),
  );
}

export function schedulingEvent(d: Decision, now: Date): HistoryEvent {
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
