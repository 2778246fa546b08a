/**
 * Rewind of a Failed orchestration, as DTFx does it: the history keeps everything that succeeded, and the
 * events of what failed (the failed activities' `TaskScheduled` + `TaskFailed`, a failed sub-orchestration's
 * `SubOrchestrationInstanceFailed`, the failed `ExecutionCompleted`) are replaced by `GenericEvent`s. The
 * next episode replays the orchestrator: completed activities answer from history, the failed ones have no
 * scheduling event any more and are scheduled again under the same task id, and a failed sub-orchestration
 * is rewound the same way (its `SubOrchestrationInstanceCreated` stays, so the parent waits for it again).
 */
import type { RuntimeStatus } from '../store/sqlite-store';
import { InvalidInstanceStateError } from './engine-errors';
import { queueMessage, type CommitTarget } from './episode-commit';
import { EventType, historyEvents, parseHistoryEvent, type HistoryEvent } from './history';

/**
 * The instance exists but is not Failed. The extension (2.13.x and 3.x, the versions extension bundle 4.26+
 * carries) answers 410 Gone for a Completed, Terminated or Canceled one and 500 for the others, whose
 * `RewindAsync` throws InvalidOperationException into its generic handler.
 */
export class NotFailedError extends InvalidInstanceStateError {
  constructor(
    instanceId: string,
    readonly status: RuntimeStatus,
  ) {
    super(
      `The rewind operation is only supported on failed orchestration instances: '${instanceId}' is ${status}.`,
    );
    this.name = 'NotFailedError';
  }
}

/**
 * Rewinds `instanceId` (call inside a transaction). Returns false when no such instance exists; throws
 * `NotFailedError` when it is not Failed.
 */
export function rewindInstance(
  t: CommitTarget,
  instanceId: string,
  reason: string | null,
): boolean {
  const row = t.store.getInstance(instanceId);
  if (!row) return false;
  if (row.runtimeStatus !== 'Failed') throw new NotFailedError(instanceId, row.runtimeStatus);
  rewindFailed(t, instanceId, reason ?? '');
  return true;
}

function rewindFailed(t: CommitTarget, instanceId: string, reason: string): void {
  const row = t.store.getInstance(instanceId);
  if (!row) return;
  const now = t.clock.now();
  const history = t.store.getHistory(instanceId).map(parseHistoryEvent);
  const failedActivities = new Set<number>();
  const failedChildren = new Set<number>();
  for (const e of history) {
    if (e.EventType === EventType.TaskFailed) failedActivities.add(e.TaskScheduledId);
    if (e.EventType === EventType.SubOrchestrationInstanceFailed)
      failedChildren.add(e.TaskScheduledId);
  }
  const rewound = (e: HistoryEvent): HistoryEvent =>
    historyEvents.genericEvent(now, `Rewound: ${JSON.stringify(e)}`);
  const kept: HistoryEvent[] = history.map((e) => {
    switch (e.EventType) {
      case EventType.TaskScheduled:
        return failedActivities.has(e.EventId) ? rewound(e) : e;
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceFailed:
      case EventType.ExecutionCompleted:
        return rewound(e);
      case EventType.SubOrchestrationInstanceCreated:
        if (failedChildren.has(e.EventId)) {
          const child = t.store.getInstance(e.InstanceId);
          if (child && child.runtimeStatus === 'Failed') rewindFailed(t, e.InstanceId, reason);
        }
        return e;
      default:
        return e;
    }
  });
  t.store.deleteHistory(instanceId);
  t.store.appendHistory(
    instanceId,
    kept.map((e) => JSON.stringify(e)),
  );
  t.store.putInstance({
    ...row,
    runtimeStatus: 'Pending',
    output: null,
    lastUpdatedTime: now.getTime(),
  });
  // The message that runs the next episode; the orchestrator sees a GenericEvent it ignores.
  const message = historyEvents.genericEvent(now, `Rewind requested: ${reason}`);
  queueMessage(t, instanceId, row.executionId, message);
  t.afterCommit(() => t.notifyStatus(instanceId));
}
