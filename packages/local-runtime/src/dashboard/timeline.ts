/**
 * The timeline of one instance, from the history view of the management API (`showHistory=true`):
 * one span per activity, sub-orchestration and timer, one point per external event.
 */

export type TimelineKind = 'orchestration' | 'activity' | 'suborchestration' | 'timer' | 'event';

export interface TimelineItem {
  readonly kind: TimelineKind;
  readonly name: string;
  /** ISO-8601. */
  readonly start: string;
  /** ISO-8601; null while it is still running (or a timer that has not fired). */
  readonly end: string | null;
  readonly durationMs: number | null;
  readonly outcome:
    'completed' | 'failed' | 'running' | 'pending' | 'fired' | 'cancelled' | 'raised';
}

type Event = Record<string, unknown>;
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function span(
  kind: TimelineKind,
  name: string,
  start: string | undefined,
  end: string | null,
  outcome: TimelineItem['outcome'],
): TimelineItem | undefined {
  if (start === undefined) return undefined;
  const durationMs = end === null ? null : Math.max(0, Date.parse(end) - Date.parse(start));
  return { kind, name, start, end, durationMs, outcome };
}

export function buildTimeline(history: readonly Event[]): TimelineItem[] {
  const items: (TimelineItem | undefined)[] = [];
  const firedTimers = new Set(
    history.filter((e) => e.EventType === 'TimerFired').map((e) => text(e.FireAt)),
  );
  const started = history.find((e) => e.EventType === 'ExecutionStarted');
  const finished = history.find(
    (e) =>
      e.EventType === 'ExecutionCompleted' ||
      e.EventType === 'ExecutionTerminated' ||
      e.EventType === 'ExecutionFailed',
  );
  if (started) {
    items.push(
      span(
        'orchestration',
        text(started.FunctionName) ?? 'orchestration',
        text(started.Timestamp),
        text(finished?.Timestamp) ?? null,
        finished
          ? finished.OrchestrationStatus === 'Failed' || finished.EventType === 'ExecutionFailed'
            ? 'failed'
            : 'completed'
          : 'running',
      ),
    );
  }
  for (const e of history) {
    const at = text(e.Timestamp);
    switch (e.EventType) {
      case 'TaskCompleted':
      case 'TaskFailed':
        items.push(
          span(
            'activity',
            text(e.FunctionName) ?? 'activity',
            text(e.ScheduledTime) ?? at,
            at ?? null,
            e.EventType === 'TaskFailed' ? 'failed' : 'completed',
          ),
        );
        break;
      case 'TaskScheduled':
        // The view keeps TaskScheduled only while the activity has not finished.
        items.push(span('activity', text(e.Name) ?? 'activity', at, null, 'running'));
        break;
      case 'SubOrchestrationInstanceCompleted':
      case 'SubOrchestrationInstanceFailed':
        items.push(
          span(
            'suborchestration',
            text(e.FunctionName) ?? 'sub-orchestration',
            text(e.ScheduledTime) ?? at,
            at ?? null,
            e.EventType === 'SubOrchestrationInstanceFailed' ? 'failed' : 'completed',
          ),
        );
        break;
      case 'SubOrchestrationInstanceCreated':
        items.push(
          span('suborchestration', text(e.Name) ?? 'sub-orchestration', at, null, 'running'),
        );
        break;
      case 'TimerCreated': {
        const fireAt = text(e.FireAt) ?? null;
        const fired = fireAt !== null && firedTimers.has(fireAt);
        // A timer that never fired in a finished orchestration was abandoned (e.g. the code came first).
        const outcome = fired ? 'fired' : finished ? 'cancelled' : 'pending';
        items.push(span('timer', `timer until ${fireAt ?? '?'}`, at, fireAt, outcome));
        break;
      }
      case 'EventRaised':
        items.push(span('event', text(e.Name) ?? 'event', at, at ?? null, 'raised'));
        break;
      default:
        break;
    }
  }
  return items.filter((i): i is TimelineItem => i !== undefined);
}
