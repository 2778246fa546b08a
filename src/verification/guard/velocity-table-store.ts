import type { TableClient, TransactionAction } from '@azure/data-tables';

import type { StorageAccess } from '../../storage/table-storage';
import { PartitionTable } from './partition-table';
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
export class TableVelocityStore
  extends PartitionTable<CounterEntity, CounterState>
  implements VelocityStore
{
  private readonly windowMs: number;

  constructor(table: TableClient, options: TableVelocityStoreOptions = {}) {
    super(table, PARTITION, options.timeoutMs ?? 5000, 'velocity table');
    this.windowMs = options.windowMs ?? 3_600_000;
  }

  /** The app's storage (`AzureWebJobsStorage`): a connection string locally, the managed identity in Azure. */
  static create(
    storage: StorageAccess,
    tableName: string,
    options: TableVelocityStoreOptions = {},
  ): TableVelocityStore {
    return new TableVelocityStore(PartitionTable.clientFor(storage, tableName), options);
  }

  read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredCounter>> {
    return this.readRows(keys);
  }

  async write(writes: readonly CounterWrite[]): Promise<ReadonlyMap<string, string> | 'conflict'> {
    if (writes.length === 0) return new Map();
    const actions: TransactionAction[] = writes.map((write) => {
      const entity = this.toEntity(write.key, write.state);
      return write.etag === undefined
        ? ['create', entity]
        : ['update', entity, 'Replace', { etag: write.etag }];
    });
    const response = await this.submit(actions);
    if (response === 'conflict') return 'conflict';
    // Sub-responses come in the order of the operations; update responses carry no row key.
    const etags = new Map<string, string>();
    writes.forEach((write, i) => {
      const etag = response.subResponses[i]?.etag;
      if (etag !== undefined) etags.set(write.key, etag);
    });
    return etags;
  }

  /** A row that does not look like a counter is treated as absent; its create then conflicts. */
  protected decode(entity: Partial<CounterEntity>): CounterState | undefined {
    const { windowStart, count, lastAt } = entity;
    if (
      typeof windowStart !== 'number' ||
      typeof count !== 'number' ||
      typeof lastAt !== 'number'
    ) {
      return undefined;
    }
    return { windowStart, count, lastAt };
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
}
