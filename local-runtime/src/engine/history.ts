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

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  Timestamp: string;
  IsPlayed?: boolean;
  [key: string]: unknown;
}

export function isHistoryEvent(value: unknown): value is HistoryEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.EventType === 'number' &&
    typeof v.EventId === 'number' &&
    typeof v.Timestamp === 'string'
  );
}

export function parseHistoryEvent(text: string): HistoryEvent {
  const v: unknown = JSON.parse(text);
  if (!isHistoryEvent(v)) throw new Error('Corrupt history event in the store');
  return v;
}

export function makeEvent(
  type: number,
  at: Date,
  fields: Record<string, unknown> = {},
  eventId = -1,
): HistoryEvent {
  return { EventType: type, EventId: eventId, Timestamp: at.toISOString(), ...fields };
}

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
