/**
 * DTFx history events as the Durable extension serialises them for the out-of-process worker:
 * PascalCase keys, numeric `EventType`, `Timestamp` as an ISO-8601 UTC string.
 */

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export const EVENT_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(EventType).map(([k, v]) => [v, k]),
);

/** DTFx OrchestrationStatus numbers, used in `ExecutionCompleted.OrchestrationStatus`. */
export const OrchestrationStatusNumber = {
  Running: 0,
  Completed: 1,
  ContinuedAsNew: 2,
  Failed: 3,
  Canceled: 4,
  Terminated: 5,
  Pending: 6,
  Suspended: 7,
} as const;

interface EventBase {
  EventId: number;
  /** ISO-8601 UTC. */
  Timestamp: string;
  /** Set on the copies handed to the worker: true for events of earlier episodes. */
  IsPlayed?: boolean;
}

export interface OrchestrationInstanceRef {
  InstanceId: string;
  ExecutionId: string;
}

export interface ParentInstanceInfo {
  Name: string;
  Version: string;
  OrchestrationInstance: OrchestrationInstanceRef;
  TaskScheduleId: number;
}

/** JSON text of a value (or null), as every `Input` / `Result` is stored. */
type JsonText = string | null;

export interface ExecutionStartedEvent extends EventBase {
  EventType: typeof EventType.ExecutionStarted;
  OrchestrationInstance: OrchestrationInstanceRef;
  ParentInstance: ParentInstanceInfo | null;
  Name: string;
  Version: string;
  Input: JsonText;
  Tags: null;
  Correlation: null;
  ParentTraceContext: null;
  ScheduledStartTime: null;
  Generation: number;
}
export interface ExecutionCompletedEvent extends EventBase {
  EventType: typeof EventType.ExecutionCompleted;
  /** A DTFx OrchestrationStatus number. */
  OrchestrationStatus: number;
  Result: JsonText;
  FailureDetails: unknown;
}
export interface ExecutionTerminatedEvent extends EventBase {
  EventType: typeof EventType.ExecutionTerminated;
  Input: string;
}
export interface TaskScheduledEvent extends EventBase {
  EventType: typeof EventType.TaskScheduled;
  Name: string;
  Version: string;
  Input: JsonText;
  Tags: null;
  ParentTraceContext: null;
}
export interface TaskCompletedEvent extends EventBase {
  EventType: typeof EventType.TaskCompleted;
  TaskScheduledId: number;
  Result: JsonText;
}
export interface TaskFailedEvent extends EventBase {
  EventType: typeof EventType.TaskFailed;
  TaskScheduledId: number;
  Reason: string;
  Details: string;
  FailureDetails: unknown;
}
export interface SubOrchestrationInstanceCreatedEvent extends EventBase {
  EventType: typeof EventType.SubOrchestrationInstanceCreated;
  Name: string;
  Version: string;
  InstanceId: string;
  Input: JsonText;
  ClientSpanId: null;
  Tags: null;
}
export interface SubOrchestrationInstanceCompletedEvent extends EventBase {
  EventType: typeof EventType.SubOrchestrationInstanceCompleted;
  TaskScheduledId: number;
  Result: JsonText;
}
export interface SubOrchestrationInstanceFailedEvent extends EventBase {
  EventType: typeof EventType.SubOrchestrationInstanceFailed;
  TaskScheduledId: number;
  Reason: string;
  Details: string;
  FailureDetails: unknown;
}
export interface TimerCreatedEvent extends EventBase {
  EventType: typeof EventType.TimerCreated;
  FireAt: string;
}
export interface TimerFiredEvent extends EventBase {
  EventType: typeof EventType.TimerFired;
  TimerId: number;
  FireAt: string;
}
export interface OrchestratorStartedEvent extends EventBase {
  EventType: typeof EventType.OrchestratorStarted;
}
export interface OrchestratorCompletedEvent extends EventBase {
  EventType: typeof EventType.OrchestratorCompleted;
}
export interface EventRaisedEvent extends EventBase {
  EventType: typeof EventType.EventRaised;
  Name: string;
  Input: JsonText;
  ParentTraceContext: null;
}
/** A message an orchestration sent to another instance (entity operations, lock requests, releases). */
export interface EventSentEvent extends EventBase {
  EventType: typeof EventType.EventSent;
  /** The target instance (an entity's scheduler id, `@name@key`). */
  InstanceId: string;
  /** `op` for operations and lock requests, `release` for lock releases, as in the extension. */
  Name: string;
  /** JSON text of the request message. */
  Input: string;
}
/** What rewind leaves in place of a failed event, as DTFx's rewind does. */
export interface GenericEvent extends EventBase {
  EventType: typeof EventType.GenericEvent;
  Data: string;
}
export interface ExecutionSuspendedEvent extends EventBase {
  EventType: typeof EventType.ExecutionSuspended;
  Reason: string | null;
}
export interface ExecutionResumedEvent extends EventBase {
  EventType: typeof EventType.ExecutionResumed;
  Reason: string | null;
}

/** Every history event this engine writes (the DTFx types it never produces are not part of it). */
export type HistoryEvent =
  | ExecutionStartedEvent
  | ExecutionCompletedEvent
  | ExecutionTerminatedEvent
  | TaskScheduledEvent
  | TaskCompletedEvent
  | TaskFailedEvent
  | SubOrchestrationInstanceCreatedEvent
  | SubOrchestrationInstanceCompletedEvent
  | SubOrchestrationInstanceFailedEvent
  | TimerCreatedEvent
  | TimerFiredEvent
  | OrchestratorStartedEvent
  | OrchestratorCompletedEvent
  | EventRaisedEvent
  | EventSentEvent
  | GenericEvent
  | ExecutionSuspendedEvent
  | ExecutionResumedEvent;

/** The events that complete a scheduled task (activity or sub-orchestration), by `TaskScheduledId`. */
export type TaskOutcomeEvent =
  | TaskCompletedEvent
  | TaskFailedEvent
  | SubOrchestrationInstanceCompletedEvent
  | SubOrchestrationInstanceFailedEvent;

export function isTaskOutcome(e: HistoryEvent): e is TaskOutcomeEvent {
  return (
    e.EventType === EventType.TaskCompleted ||
    e.EventType === EventType.TaskFailed ||
    e.EventType === EventType.SubOrchestrationInstanceCompleted ||
    e.EventType === EventType.SubOrchestrationInstanceFailed
  );
}

const WRITTEN_TYPES: ReadonlySet<number> = new Set([
  EventType.ExecutionStarted,
  EventType.ExecutionCompleted,
  EventType.ExecutionTerminated,
  EventType.TaskScheduled,
  EventType.TaskCompleted,
  EventType.TaskFailed,
  EventType.SubOrchestrationInstanceCreated,
  EventType.SubOrchestrationInstanceCompleted,
  EventType.SubOrchestrationInstanceFailed,
  EventType.TimerCreated,
  EventType.TimerFired,
  EventType.OrchestratorStarted,
  EventType.OrchestratorCompleted,
  EventType.EventRaised,
  EventType.EventSent,
  EventType.GenericEvent,
  EventType.ExecutionSuspended,
  EventType.ExecutionResumed,
]);

export function isHistoryEvent(value: unknown): value is HistoryEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.EventType === 'number' &&
    WRITTEN_TYPES.has(v.EventType) &&
    typeof v.EventId === 'number' &&
    typeof v.Timestamp === 'string'
  );
}

/** Reads an event this engine stored (the store holds only what the builders below made). */
export function parseHistoryEvent(text: string): HistoryEvent {
  const v: unknown = JSON.parse(text);
  if (!isHistoryEvent(v)) throw new Error('Corrupt history event in the store');
  return v;
}

const base = (at: Date, eventId = -1): EventBase => ({
  EventId: eventId,
  Timestamp: at.toISOString(),
});

/** What an activity's and a sub-orchestration's success both carry. */
const completion = (at: Date, taskId: number, result: JsonText) => ({
  ...base(at),
  TaskScheduledId: taskId,
  Result: result,
});

/** What an activity's and a sub-orchestration's failure both carry. */
const failure = (at: Date, taskId: number, reason: string, details: string) => ({
  ...base(at),
  TaskScheduledId: taskId,
  Reason: reason,
  Details: details,
  FailureDetails: null,
});

/**
 * The one place each event's shape is decided: the engine and the tests build events only through these.
 * `eventId` is the task id for scheduling events (TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated);
 * every other event has -1, as in DTFx.
 */
export const historyEvents = {
  executionStarted(
    at: Date,
    e: {
      instanceId: string;
      executionId: string;
      name: string;
      version: string | null;
      input: JsonText;
      parent?: ParentInstanceInfo | null;
    },
  ): ExecutionStartedEvent {
    return {
      EventType: EventType.ExecutionStarted,
      ...base(at),
      OrchestrationInstance: { InstanceId: e.instanceId, ExecutionId: e.executionId },
      ParentInstance: e.parent ?? null,
      Name: e.name,
      Version: e.version ?? '',
      Input: e.input,
      Tags: null,
      Correlation: null,
      ParentTraceContext: null,
      ScheduledStartTime: null,
      Generation: 0,
    };
  },
  executionCompleted(
    at: Date,
    status: number,
    result: JsonText,
    failureDetails: unknown = null,
  ): ExecutionCompletedEvent {
    return {
      EventType: EventType.ExecutionCompleted,
      ...base(at),
      OrchestrationStatus: status,
      Result: result,
      FailureDetails: failureDetails,
    };
  },
  executionTerminated(at: Date, reason: string): ExecutionTerminatedEvent {
    return { EventType: EventType.ExecutionTerminated, ...base(at), Input: reason };
  },
  executionSuspended(at: Date, reason: string | null): ExecutionSuspendedEvent {
    return { EventType: EventType.ExecutionSuspended, ...base(at), Reason: reason };
  },
  executionResumed(at: Date, reason: string | null): ExecutionResumedEvent {
    return { EventType: EventType.ExecutionResumed, ...base(at), Reason: reason };
  },
  taskScheduled(at: Date, taskId: number, name: string, input: JsonText): TaskScheduledEvent {
    return {
      EventType: EventType.TaskScheduled,
      ...base(at, taskId),
      Name: name,
      Version: '',
      Input: input,
      Tags: null,
      ParentTraceContext: null,
    };
  },
  taskCompleted(at: Date, taskId: number, result: JsonText): TaskCompletedEvent {
    return { EventType: EventType.TaskCompleted, ...completion(at, taskId, result) };
  },
  taskFailed(at: Date, taskId: number, reason: string, details: string): TaskFailedEvent {
    return { EventType: EventType.TaskFailed, ...failure(at, taskId, reason, details) };
  },
  subOrchestrationCreated(
    at: Date,
    taskId: number,
    e: { name: string; version: string | null; instanceId: string; input: JsonText },
  ): SubOrchestrationInstanceCreatedEvent {
    return {
      EventType: EventType.SubOrchestrationInstanceCreated,
      ...base(at, taskId),
      Name: e.name,
      Version: e.version ?? '',
      InstanceId: e.instanceId,
      Input: e.input,
      ClientSpanId: null,
      Tags: null,
    };
  },
  subOrchestrationCompleted(
    at: Date,
    taskId: number,
    result: JsonText,
  ): SubOrchestrationInstanceCompletedEvent {
    return {
      EventType: EventType.SubOrchestrationInstanceCompleted,
      ...completion(at, taskId, result),
    };
  },
  subOrchestrationFailed(
    at: Date,
    taskId: number,
    reason: string,
    details: string,
  ): SubOrchestrationInstanceFailedEvent {
    return {
      EventType: EventType.SubOrchestrationInstanceFailed,
      ...failure(at, taskId, reason, details),
    };
  },
  timerCreated(at: Date, timerId: number, fireAt: Date): TimerCreatedEvent {
    return {
      EventType: EventType.TimerCreated,
      ...base(at, timerId),
      FireAt: fireAt.toISOString(),
    };
  },
  timerFired(at: Date, timerId: number, fireAt: Date): TimerFiredEvent {
    return {
      EventType: EventType.TimerFired,
      ...base(at),
      TimerId: timerId,
      FireAt: fireAt.toISOString(),
    };
  },
  orchestratorStarted(at: Date): OrchestratorStartedEvent {
    return { EventType: EventType.OrchestratorStarted, ...base(at) };
  },
  orchestratorCompleted(at: Date): OrchestratorCompletedEvent {
    return { EventType: EventType.OrchestratorCompleted, ...base(at) };
  },
  eventRaised(at: Date, name: string, input: JsonText): EventRaisedEvent {
    return {
      EventType: EventType.EventRaised,
      ...base(at),
      Name: name,
      Input: input,
      ParentTraceContext: null,
    };
  },
  eventSent(at: Date, taskId: number, target: string, name: string, input: string): EventSentEvent {
    return {
      EventType: EventType.EventSent,
      ...base(at, taskId),
      InstanceId: target,
      Name: name,
      Input: input,
    };
  },
  genericEvent(at: Date, data: string): GenericEvent {
    return { EventType: EventType.GenericEvent, ...base(at), Data: data };
  },
};

/** JSON text of a value as the extension stores it (`undefined` → null). */
export function toJsonText(value: unknown): string | null {
  if (value === undefined) return null;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return JSON.stringify(Buffer.from(value).toString('base64'));
  }
  return JSON.stringify(value) ?? null;
}

/** Parses stored JSON text, falling back to the raw string (as the extension does for status fields). */
export function parseJsonLenient(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
