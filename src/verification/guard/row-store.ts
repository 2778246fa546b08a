import type { TableClient, TransactionAction } from '@azure/data-tables';

import { storageFailure, tableClientFor, type StorageAccess } from '../../storage/table-storage';

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
export class TableRowStore implements RowStore {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly table: TableClient,
    private readonly partition: string,
    private readonly timeoutMs = 5000,
  ) {}

  static create(storage: StorageAccess, tableName: string, partition: string): TableRowStore {
    const table = tableClientFor(storage, tableName, {
      retryOptions: { maxRetries: 1, retryDelayInMs: 100, maxRetryDelayInMs: 500 },
    });
    return new TableRowStore(table, partition);
  }

  async read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredRow>> {
    await this.ensureTable();
    const found = await Promise.all(keys.map((key) => this.readOne(key)));
    const rows = new Map<string, StoredRow>();
    found.forEach((row, i) => {
      if (row !== undefined) rows.set(keys[i]!, row);
    });
    return rows;
  }

  async write(writes: readonly RowWrite[], unconditional = false): Promise<'ok' | 'conflict'> {
    if (writes.length === 0) return 'ok';
    await this.ensureTable();
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
    try {
      await this.table.submitTransaction(actions, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      return 'ok';
    } catch (error: unknown) {
      const status = storageFailure(error).status;
      if (status === 409 || status === 412) return 'conflict';
      throw storageError(error);
    }
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
      throw storageError(error);
    }
  }

  private async readOne(key: string): Promise<StoredRow | undefined> {
    try {
      const entity = await this.table.getEntity<RowEntity>(this.partition, key, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      const state = parseState(entity.state);
      return state === undefined ? undefined : { state, etag: entity.etag };
    } catch (error: unknown) {
      if (storageFailure(error).status === 404) return undefined;
      throw storageError(error);
    }
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

function parseState(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function storageError(error: unknown): Error {
  const failure = storageFailure(error);
  return failure.status === undefined
    ? new Error(`fraud guard table storage unreachable (${failure.networkCode})`)
    : new Error(`fraud guard table storage failed (HTTP ${failure.status})`);
}
