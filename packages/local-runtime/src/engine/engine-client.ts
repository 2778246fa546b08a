/**
 * The operations the management API calls on the engine, as durabletask-go's client calls only its backend
 * (`backend/client.go`): each one reads, or writes in a transaction of its own, so the API layer never sees the
 * store, its rows' bookkeeping or its transactions.
 */
import {
  TERMINAL_STATUSES,
  type InstanceQuery,
  type InstanceRow,
  type RuntimeStatus,
} from '../store/sqlite-store';
import type { DurableEngineCore } from './engine';
import { InvalidInstanceStateError } from './engine-errors';
import type { NewInstance } from './episode-commit';
import { parseHistoryEvent, type HistoryEvent } from './history';
import type { ControlOperation } from './inbox-messages';

/** What became of a message sent to an instance. */
export type Delivery =
  | { kind: 'queued' }
  | { kind: 'notFound' }
  /** The instance already finished: the message is not queued (the extension answers 410). */
  | { kind: 'finished'; status: RuntimeStatus };

export interface PurgeFilter {
  createdTimeFrom: number;
  createdTimeTo: number;
  /** Empty: any status (instances that are not finished are skipped anyway). */
  runtimeStatus: readonly RuntimeStatus[];
}

export class EngineClient {
  constructor(private readonly core: DurableEngineCore) {}

  /** The engine's clock (the default end of a purge range). */
  now(): Date {
    return this.core.clock.now();
  }

  /** Notified whenever the instance's status row changes; returns the unsubscribe function. */
  onStatusChange(instanceId: string, listener: () => void): () => void {
    return this.core.onStatusChange(instanceId, listener);
  }

  /** The instance's row; undefined when there is none, or once the engine stopped (its store is closed). */
  getInstance(instanceId: string): InstanceRow | undefined {
    return this.core.store.isOpen ? this.core.store.getInstance(instanceId) : undefined;
  }

  /** The history of the instance's current execution; empty once the engine stopped, like `getInstance`. */
  getHistory(instanceId: string): HistoryEvent[] {
    if (!this.core.store.isOpen) return [];
    return this.core.store.getHistory(instanceId).map(parseHistoryEvent);
  }

  queryInstances(query: InstanceQuery): InstanceRow[] {
    return this.core.store.queryInstances(query);
  }

  /** Starts an instance (or replaces a finished one); throws `InstanceExistsError` for an unfinished one. */
  startNew(args: NewInstance): void {
    this.core.tx(() => this.core.startInstance(args));
  }

  raiseEvent(instanceId: string, eventName: string, inputText: string | null): Delivery {
    return this.core.tx(() => {
      const refused = refusal(this.core.store.getInstance(instanceId));
      if (refused) return refused;
      this.core.raiseEvent(instanceId, eventName, inputText);
      return { kind: 'queued' };
    });
  }

  /**
   * Terminate, suspend or resume. Throws `InvalidInstanceStateError` for a suspend of a suspended instance or a
   * resume of one that is not suspended: the extension's `SuspendAsync`/`ResumeAsync` throw
   * InvalidOperationException there, which its HttpApiHandler answers with 500 (2.13.x and 3.x alike).
   */
  control(instanceId: string, op: ControlOperation, reason: string | null): Delivery {
    return this.core.tx(() => {
      const row = this.core.store.getInstance(instanceId);
      const refused = refusal(row);
      if (refused) return refused;
      const status = row?.runtimeStatus;
      if (op === 'suspend' && status === 'Suspended') {
        throw new InvalidInstanceStateError(
          `Cannot suspend the orchestration instance ${instanceId} because instance is in the ${status} state.`,
        );
      }
      if (op === 'resume' && status !== 'Suspended') {
        throw new InvalidInstanceStateError(
          `Cannot resume the orchestration instance ${instanceId} because instance is in the ${status} state.`,
        );
      }
      this.core.sendControl(instanceId, op, reason);
      return { kind: 'queued' };
    });
  }

  /** Deletes a finished instance; false when there is none or it is not finished. */
  purge(instanceId: string): boolean {
    return this.core.tx(() => this.core.purge(instanceId));
  }

  /** Deletes the finished instances that match; how many. */
  purgeBy(filter: PurgeFilter): number {
    return this.core.tx(() => {
      const rows = this.core.store.queryInstances(filter);
      return rows.filter((r) => this.core.purge(r.instanceId)).length;
    });
  }

  /** Rewinds a Failed instance; false when there is none, `NotFailedError` when it is not Failed. */
  rewind(instanceId: string, reason: string | null): boolean {
    return this.core.tx(() => this.core.rewind(instanceId, reason));
  }
}

/** Why a message for the instance in `row` is not queued; undefined when it can be. */
function refusal(row: InstanceRow | undefined): Delivery | undefined {
  if (!row) return { kind: 'notFound' };
  if (TERMINAL_STATUSES.has(row.runtimeStatus)) {
    return { kind: 'finished', status: row.runtimeStatus };
  }
  return undefined;
}
