/**
 * What an orchestration's inbox holds, as an episode reads it: one history event per row. Terminate, suspend
 * and resume are the DTFx events `ExecutionTerminated`, `ExecutionSuspended` and `ExecutionResumed`, like every
 * other message; rows of the control kinds that earlier versions wrote are read as the same events.
 */
import type { InboxRow } from '../store/sqlite-store';
import {
  historyEvents,
  parseHistoryEvent,
  type ExecutionResumedEvent,
  type ExecutionSuspendedEvent,
  type ExecutionTerminatedEvent,
  type HistoryEvent,
} from './history';

export interface InboxMessage {
  /** The inbox row, deleted when the episode that consumed it commits. */
  id: number;
  /** Execution the message belongs to; null = whichever execution is current. */
  executionId: string | null;
  event: HistoryEvent;
}

export type ControlOperation = 'terminate' | 'suspend' | 'resume';

export type ControlEvent =
  ExecutionTerminatedEvent | ExecutionSuspendedEvent | ExecutionResumedEvent;

/** The history event a client's terminate, suspend or resume sends (a terminate without reason records ''). */
export function controlEvent(op: ControlOperation, at: Date, reason: string | null): ControlEvent {
  switch (op) {
    case 'terminate':
      return historyEvents.executionTerminated(at, reason ?? '');
    case 'suspend':
      return historyEvents.executionSuspended(at, reason);
    case 'resume':
      return historyEvents.executionResumed(at, reason);
  }
}

/**
 * Reads one inbox row. A legacy control row (payload `{reason}`, no time of its own) becomes its event stamped
 * `now`, so an upgrade honours what was queued before it.
 */
export function readInboxMessage(row: InboxRow, now: Date): InboxMessage {
  const event =
    row.kind === 'event'
      ? parseHistoryEvent(row.payload)
      : controlEvent(row.kind, now, legacyReason(row.payload));
  return { id: row.id, executionId: row.executionId, event };
}

function legacyReason(payload: string): string | null {
  try {
    const v: unknown = JSON.parse(payload);
    if (
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { reason?: unknown }).reason === 'string'
    ) {
      return (v as { reason: string }).reason;
    }
  } catch {
    // a corrupt control message carries no reason
  }
  return null;
}
