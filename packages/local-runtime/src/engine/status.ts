/** The status object of the Durable HTTP API (EXT StatusResponsePayload) and its history view. */
import {
  EVENT_TYPE_NAMES,
  EventType,
  type HistoryEvent,
  parseJsonLenient,
  type SubOrchestrationInstanceCreatedEvent,
  type TaskScheduledEvent,
} from './history';
import { RUNTIME_STATUSES, type InstanceRow } from '../store/sqlite-store';

/** `DateTime.ToString("s") + "Z"`: whole seconds, UTC. */
export function formatStatusTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  // `YYYY-MM-DDTHH:mm:ss.sssZ` for years 0–9999 (a slice, as every status read formats two times).
  return iso.length === 24 ? `${iso.slice(0, 19)}Z` : iso.replace(/\.\d{3}Z$/, 'Z');
}

export interface StatusOptions {
  showInput: boolean;
  showHistory: boolean;
  showHistoryOutput: boolean;
}

export function toStatusObject(
  row: InstanceRow,
  opts: StatusOptions,
  history?: readonly HistoryEvent[],
): Record<string, unknown> {
  const status: Record<string, unknown> = {
    name: row.name,
    instanceId: row.instanceId,
    runtimeStatus: row.runtimeStatus,
    input: opts.showInput ? parseJsonLenient(row.input) : null,
    customStatus: parseJsonLenient(row.customStatus),
    output: parseJsonLenient(row.output),
    createdTime: formatStatusTime(row.createdTime),
    lastUpdatedTime: formatStatusTime(row.lastUpdatedTime),
  };
  if (opts.showHistory && history) status.historyEvents = toHistoryView(history, opts);
  return status;
}

/** The extension's transformation of raw history for `showHistory=true` (DurableClient.cs). */
export function toHistoryView(
  history: readonly HistoryEvent[],
  opts: StatusOptions,
): Record<string, unknown>[] {
  const scheduledById = new Map<
    number,
    TaskScheduledEvent | SubOrchestrationInstanceCreatedEvent
  >();
  const completedIds = new Set<number>();
  for (const e of history) {
    if (
      e.EventType === EventType.TaskScheduled ||
      e.EventType === EventType.SubOrchestrationInstanceCreated
    ) {
      scheduledById.set(e.EventId, e);
    }
    if (
      (e.EventType === EventType.TaskCompleted ||
        e.EventType === EventType.TaskFailed ||
        e.EventType === EventType.SubOrchestrationInstanceCompleted ||
        e.EventType === EventType.SubOrchestrationInstanceFailed) &&
      typeof e.TaskScheduledId === 'number'
    ) {
      completedIds.add(e.TaskScheduledId);
    }
  }
  const out: Record<string, unknown>[] = [];
  for (const e of history) {
    const t = e.EventType;
    if (t === EventType.OrchestratorStarted || t === EventType.OrchestratorCompleted) continue;
    if (
      (t === EventType.TaskScheduled || t === EventType.SubOrchestrationInstanceCreated) &&
      completedIds.has(e.EventId)
    ) {
      continue;
    }
    const v: Record<string, unknown> = { ...e, EventType: EVENT_TYPE_NAMES[t] ?? String(t) };
    delete v.EventId;
    delete v.IsPlayed;
    if (
      t === EventType.TaskCompleted ||
      t === EventType.TaskFailed ||
      t === EventType.SubOrchestrationInstanceCompleted ||
      t === EventType.SubOrchestrationInstanceFailed
    ) {
      const scheduled =
        typeof e.TaskScheduledId === 'number' ? scheduledById.get(e.TaskScheduledId) : undefined;
      if (scheduled) {
        v.FunctionName = scheduled.Name;
        v.ScheduledTime = scheduled.Timestamp;
        v.Input = scheduled.Input;
      }
      delete v.TaskScheduledId;
    }
    if (t === EventType.ExecutionStarted) {
      v.FunctionName = v.Name;
      delete v.Name;
      delete v.OrchestrationInstance;
      delete v.ParentInstance;
      delete v.Version;
      delete v.Tags;
    }
    if (t === EventType.ExecutionCompleted && typeof e.OrchestrationStatus === 'number') {
      v.OrchestrationStatus = RUNTIME_STATUSES[e.OrchestrationStatus] ?? e.OrchestrationStatus;
    }
    if (t === EventType.TimerFired) delete v.TimerId;
    if ('Result' in v) {
      if (opts.showHistoryOutput)
        v.Result = parseJsonLenient(typeof v.Result === 'string' ? v.Result : null);
      else delete v.Result;
    }
    if ('Input' in v) {
      if (!opts.showInput) delete v.Input;
      else v.Input = parseJsonLenient(typeof v.Input === 'string' ? v.Input : null);
    }
    out.push(v);
  }
  return out;
}
