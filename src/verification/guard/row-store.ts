import type { TableClient, TransactionAction } from '@azure/data-tables';

import { storageFailure, type StorageAccess } from '../../storage/table-storage';
import { PartitionTable } from './partition-table';

/**
 * Rows of one partition holding a small JSON state each, written ETag-conditionally in one
 * entity-group transaction: the conversion counters and the verified-number records of the fraud
 * guard, on the same patterns (and the same table) as the velocity counters.
 */
export interface StoredRow {
  readonly state: unknown;
  readonly etag: string;
}

/** `etag` undefined means "must not exist yet". */
export interface RowWrite {
  readonly key: string;
  readonly state: unknown;
  readonly etag: string | undefined;
  /** When the row stops mattering: for a clean-up job, never read here. */
  readonly expiresAt: Date;
}

export interface RowStore {
  read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredRow>>;
  /** All or nothing; `conflict` when any condition failed. Upserts when `unconditional`. */
  write(writes: readonly RowWrite[], unconditional?: boolean): Promise<'ok' | 'conflict'>;
  /** Up to `limit` rows of the partition, for operators' reports. */
  list(limit: number): Promise<readonly { key: string; state: unknown }[]>;
  /** Deletes one row; false when it did not exist. */
  remove(key: string): Promise<boolean>;
}

type RowEntity = {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly state: string;
  readonly expiresAt: Date;
};

/** One partition of a table in the app's storage (`AzureWebJobsStorage`, Azurite locally). */
export class TableRowStore extends PartitionTable<RowEntity, unknown> implements RowStore {
  constructor(table: TableClient, partition: string, timeoutMs = 5000) {
    super(table, partition, timeoutMs, 'fraud guard table');
  }

  static create(storage: StorageAccess, tableName: string, partition: string): TableRowStore {
    return new TableRowStore(PartitionTable.clientFor(storage, tableName), partition);
  }

  read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredRow>> {
    return this.readRows(keys);
  }

  async write(writes: readonly RowWrite[], unconditional = false): Promise<'ok' | 'conflict'> {
    if (writes.length === 0) return 'ok';
    const actions: TransactionAction[] = writes.map((write) => {
      const entity: RowEntity = {
        partitionKey: this.partition,
        rowKey: write.key,
        state: JSON.stringify(write.state),
        expiresAt: write.expiresAt,
      };
      if (unconditional) return ['upsert', entity, 'Replace'];
      return write.etag === undefined
        ? ['create', entity]
        : ['update', entity, 'Replace', { etag: write.etag }];
    });
    return (await this.submit(actions)) === 'conflict' ? 'conflict' : 'ok';
  }

  async list(limit: number): Promise<readonly { key: string; state: unknown }[]> {
    await this.ensureTable();
    const rows: { key: string; state: unknown }[] = [];
    const pages = this.table
      .listEntities<RowEntity>({
        queryOptions: { filter: `PartitionKey eq '${this.partition}'` },
      })
      .byPage({ maxPageSize: Math.min(limit, 1000) });
    for await (const page of pages) {
      for (const entity of page) {
        const state = parseState(entity.state);
        if (state !== undefined) rows.push({ key: entity.rowKey, state });
        if (rows.length >= limit) return rows;
      }
    }
    return rows;
  }

  async remove(key: string): Promise<boolean> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(this.partition, key, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      return true;
    } catch (error: unknown) {
      if (storageFailure(error).status === 404) return false;
      throw this.storageError(error);
    }
  }

  protected decode(entity: RowEntity): unknown {
    return parseState(entity.state);
  }
}

function parseState(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
