import type { TableClient, TableTransactionResponse, TransactionAction } from '@azure/data-tables';

import { storageFailure, tableClientFor, type StorageAccess } from '../../storage/table-storage';

/**
 * What the guard's tables share: one partition of a table in the app's storage, created on first use,
 * point reads in parallel, ETag-conditional entity-group transactions, a bounded time per storage call,
 * and storage errors reduced to their status (SDK errors carry the signed request).
 */
export abstract class PartitionTable<TEntity extends object, TState> {
  private ready: Promise<void> | undefined;

  protected constructor(
    protected readonly table: TableClient,
    protected readonly partition: string,
    protected readonly timeoutMs: number,
    /** Names the table in errors: "<name> storage failed (HTTP 503)". */
    private readonly name: string,
  ) {}

  /** The guard retries conflicts itself and must answer quickly when storage is down: one retry only. */
  protected static clientFor(storage: StorageAccess, tableName: string): TableClient {
    return tableClientFor(storage, tableName, {
      retryOptions: { maxRetries: 1, retryDelayInMs: 100, maxRetryDelayInMs: 500 },
    });
  }

  /** A row whose entity does not decode is treated as absent (its create then conflicts). */
  protected abstract decode(entity: TEntity): TState | undefined;

  /** Point reads in parallel: one round trip of latency, and no partition scan. */
  protected async readRows(
    keys: readonly string[],
  ): Promise<ReadonlyMap<string, { state: TState; etag: string }>> {
    await this.ensureTable();
    const found = await Promise.all(keys.map((key) => this.readOne(key)));
    const rows = new Map<string, { state: TState; etag: string }>();
    found.forEach((row, i) => {
      if (row !== undefined) rows.set(keys[i]!, row);
    });
    return rows;
  }

  /** All or nothing; `conflict` when a row taken for absent exists (409) or changed since read (412). */
  protected async submit(
    actions: TransactionAction[],
  ): Promise<TableTransactionResponse | 'conflict'> {
    await this.ensureTable();
    try {
      return await this.table.submitTransaction(actions, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error: unknown) {
      const status = storageFailure(error).status;
      if (status === 409 || status === 412) return 'conflict';
      throw this.storageError(error);
    }
  }

  protected ensureTable(): Promise<void> {
    this.ready ??= this.table
      .createTable({ abortSignal: AbortSignal.timeout(this.timeoutMs) })
      .catch((error: unknown) => {
        this.ready = undefined;
        throw this.storageError(error);
      });
    return this.ready;
  }

  protected storageError(error: unknown): Error {
    const failure = storageFailure(error);
    return failure.status === undefined
      ? new Error(`${this.name} storage unreachable (${failure.networkCode})`)
      : new Error(`${this.name} storage failed (HTTP ${failure.status})`);
  }

  private async readOne(key: string): Promise<{ state: TState; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity<TEntity>(this.partition, key, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      const state = this.decode(entity);
      return state === undefined ? undefined : { state, etag: entity.etag };
    } catch (error: unknown) {
      if (storageFailure(error).status === 404) return undefined;
      throw this.storageError(error);
    }
  }
}
