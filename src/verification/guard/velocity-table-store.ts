import type { TableClient, TransactionAction } from '@azure/data-tables';

import { storageFailure, tableClientFor, type StorageAccess } from '../../storage/table-storage';
import type { CounterState, CounterWrite, StoredCounter, VelocityStore } from './velocity';

/**
 * Every counter lives in one partition, so a send's counters (number, IP, prefix, global) change
 * in one entity-group transaction: one round trip, all or nothing. A partition serves about 2,000
 * entities/s, far above any SMS budget; the global counter is the real serialisation point.
 * Azurite (LokiJS) indexes `PartitionKey` only, so locally a point read or update scans the
 * partition and gets slower as counters accumulate (README, Performance); Azure indexes both keys.
 */
const PARTITION = 'velocity';

// A type alias, not an interface: the SDK's entity type needs an index signature.
type CounterEntity = {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly windowStart: number;
  readonly count: number;
  readonly lastAt: number;
  /** When the row no longer limits anything: for a later clean-up job, never read here. */
  readonly expiresAt: Date;
};

export interface TableVelocityStoreOptions {
  /** Per storage call; an unreachable endpoint fails within this. Default 5,000 ms. */
  readonly timeoutMs?: number;
  /** Used for `expiresAt` only. Default: one hour after the window starts. */
  readonly windowMs?: number;
}

/** The velocity counters in Azure Table Storage (Azurite locally), with ETag-conditional writes. */
export class TableVelocityStore implements VelocityStore {
  private ready: Promise<void> | undefined;
  private readonly timeoutMs: number;
  private readonly windowMs: number;

  constructor(
    private readonly table: TableClient,
    options: TableVelocityStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.windowMs = options.windowMs ?? 3_600_000;
  }

  /** The app's storage (`AzureWebJobsStorage`): a connection string locally, the managed identity in Azure. */
  static create(
    storage: StorageAccess,
    tableName: string,
    options: TableVelocityStoreOptions = {},
  ): TableVelocityStore {
    const table = tableClientFor(storage, tableName, {
      // The guard retries conflicts itself and must answer quickly when storage is down.
      retryOptions: { maxRetries: 1, retryDelayInMs: 100, maxRetryDelayInMs: 500 },
    });
    return new TableVelocityStore(table, options);
  }

  async read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredCounter>> {
    await this.ensureTable();
    // Point reads in parallel: one round trip of latency, and no partition scan.
    const found = await Promise.all(keys.map((key) => this.readOne(key)));
    const counters = new Map<string, StoredCounter>();
    found.forEach((counter, i) => {
      if (counter !== undefined) counters.set(keys[i]!, counter);
    });
    return counters;
  }

  async write(writes: readonly CounterWrite[]): Promise<ReadonlyMap<string, string> | 'conflict'> {
    if (writes.length === 0) return new Map();
    await this.ensureTable();
    const actions: TransactionAction[] = writes.map((write) => {
      const entity = this.toEntity(write.key, write.state);
      return write.etag === undefined
        ? ['create', entity]
        : ['update', entity, 'Replace', { etag: write.etag }];
    });
    try {
      const response = await this.table.submitTransaction(actions, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      // Sub-responses come in the order of the operations; update responses carry no row key.
      const etags = new Map<string, string>();
      writes.forEach((write, i) => {
        const etag = response.subResponses[i]?.etag;
        if (etag !== undefined) etags.set(write.key, etag);
      });
      return etags;
    } catch (error: unknown) {
      const status = storageFailure(error).status;
      // 409: a row we took for absent exists; 412: a row changed since we saw it.
      if (status === 409 || status === 412) return 'conflict';
      throw storageError(error);
    }
  }

  private async readOne(key: string): Promise<StoredCounter | undefined> {
    try {
      const entity = await this.table.getEntity<CounterEntity>(PARTITION, key, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      const state = toState(entity);
      return state === undefined ? undefined : { state, etag: entity.etag };
    } catch (error: unknown) {
      if (storageFailure(error).status === 404) return undefined;
      throw storageError(error);
    }
  }

  private toEntity(key: string, state: CounterState): CounterEntity {
    return {
      partitionKey: PARTITION,
      rowKey: key,
      windowStart: state.windowStart,
      count: state.count,
      lastAt: state.lastAt,
      expiresAt: new Date(Math.max(state.windowStart + this.windowMs, state.lastAt)),
    };
  }

  private ensureTable(): Promise<void> {
    this.ready ??= this.table
      .createTable({ abortSignal: AbortSignal.timeout(this.timeoutMs) })
      .catch((error: unknown) => {
        this.ready = undefined;
        throw storageError(error);
      });
    return this.ready;
  }
}

/** A row that does not look like a counter is treated as absent; its create then conflicts. */
function toState(entity: Partial<CounterEntity>): CounterState | undefined {
  const { windowStart, count, lastAt } = entity;
  if (typeof windowStart !== 'number' || typeof count !== 'number' || typeof lastAt !== 'number') {
    return undefined;
  }
  return { windowStart, count, lastAt };
}

/** SDK errors carry the signed request; only the status (or network code) is kept. */
function storageError(error: unknown): Error {
  const failure = storageFailure(error);
  return failure.status === undefined
    ? new Error(`velocity table storage unreachable (${failure.networkCode})`)
    : new Error(`velocity table storage failed (HTTP ${failure.status})`);
}
