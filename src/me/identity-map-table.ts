import type { TableClient } from '@azure/data-tables';

import { UpstreamError, UpstreamUnavailableError } from '../errors';
import { storageFailure, tableClientFor, type StorageAccess } from '../storage/table-storage';
import { withSpan } from '../telemetry';
import type { AcsIdentityMapping, CallerKey, IdentityMapStore, InsertResult } from './identity-map';

const SERVICE = 'table-storage';
/** Only the service: keys (tenant and object ids) identify a person and stay out of spans. */
const SPAN = { 'peer.service': SERVICE, 'db.system': 'azure_table' } as const;
const RETRY = { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 } as const;
/**
 * Bound of one store call, retries included. The core pipeline has no timeout of its own, so a hung
 * connection would hold the `/api/me/acs/*` invocation until the Functions host's timeout (as in the
 * velocity store).
 */
const DEFAULT_TIMEOUT_MS = 5000;

export interface TableIdentityMapOptions {
  readonly timeoutMs?: number;
}

interface MappingEntity {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly communicationUserId: string;
  readonly createdAt: string;
}

/**
 * The user → ACS identity map in Azure Table Storage: partition key = tenant id, row key = object id.
 * `insertIfAbsent` relies on Insert Entity failing with 409 when the row exists, which makes it atomic.
 */
export class TableIdentityMapStore implements IdentityMapStore {
  private ready: Promise<void> | undefined;

  private readonly timeoutMs: number;

  constructor(
    private readonly table: TableClient,
    options: TableIdentityMapOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The app's storage: a connection string locally, the Function App's managed identity in Azure. */
  static create(
    storage: StorageAccess,
    tableName: string,
    options: TableIdentityMapOptions = {},
  ): TableIdentityMapStore {
    return new TableIdentityMapStore(
      tableClientFor(storage, tableName, { retryOptions: RETRY }),
      options,
    );
  }

  /** A fresh signal per call: it bounds the call with its retries. */
  private deadline(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.timeoutMs) };
  }

  async get(key: CallerKey): Promise<AcsIdentityMapping | undefined> {
    await this.ensureTable();
    try {
      const entity = await withSpan('table.getEntity', SPAN, () =>
        this.table.getEntity<MappingEntity>(key.tenantId, key.objectId, this.deadline()),
      );
      return toMapping(entity);
    } catch (error) {
      if (storageFailure(error).status === 404) return undefined;
      throw storageError(error);
    }
  }

  async insertIfAbsent(mapping: AcsIdentityMapping): Promise<InsertResult> {
    await this.ensureTable();
    const entity: MappingEntity = {
      partitionKey: mapping.tenantId,
      rowKey: mapping.objectId,
      communicationUserId: mapping.communicationUserId,
      createdAt: mapping.createdAt,
    };
    try {
      await withSpan('table.createEntity', SPAN, () =>
        this.table.createEntity(entity, this.deadline()),
      );
      return { created: true, mapping };
    } catch (error) {
      if (storageFailure(error).status !== 409) throw storageError(error);
    }
    const winner = await this.get(mapping);
    // The winner was deleted between our 409 and this read: rare enough to report rather than loop.
    if (winner === undefined) {
      throw new UpstreamError(
        SERVICE,
        'The identity mapping changed concurrently; retry the request.',
      );
    }
    return { created: false, mapping: winner };
  }

  async delete(key: CallerKey, communicationUserId?: string): Promise<boolean> {
    await this.ensureTable();
    let etag = '*';
    if (communicationUserId !== undefined) {
      let entity;
      try {
        entity = await withSpan('table.getEntity', SPAN, () =>
          this.table.getEntity<MappingEntity>(key.tenantId, key.objectId, this.deadline()),
        );
      } catch (error) {
        if (storageFailure(error).status === 404) return false;
        throw storageError(error);
      }
      if (entity.communicationUserId !== communicationUserId) return false;
      etag = entity.etag;
    }
    try {
      await withSpan('table.deleteEntity', SPAN, () =>
        this.table.deleteEntity(key.tenantId, key.objectId, { etag, ...this.deadline() }),
      );
      return true;
    } catch (error) {
      const status = storageFailure(error).status;
      // 404: already gone; 412: replaced since we read it, so it is no longer ours to delete.
      if (status === 404 || status === 412) return false;
      throw storageError(error);
    }
  }

  private ensureTable(): Promise<void> {
    this.ready ??= withSpan('table.createTable', SPAN, () =>
      this.table.createTable(this.deadline()),
    ).catch((error: unknown) => {
      this.ready = undefined;
      throw storageError(error);
    });
    return this.ready;
  }
}

function toMapping(entity: MappingEntity): AcsIdentityMapping | undefined {
  if (typeof entity.communicationUserId !== 'string' || entity.communicationUserId === '')
    return undefined;
  return {
    tenantId: entity.partitionKey,
    objectId: entity.rowKey,
    communicationUserId: entity.communicationUserId,
    createdAt: typeof entity.createdAt === 'string' ? entity.createdAt : '',
  };
}

/** SDK errors carry the request (with its signed headers), so only the status and code survive. */
function storageError(error: unknown): Error {
  const failure = storageFailure(error);
  if (failure.status === undefined) {
    return new UpstreamUnavailableError(SERVICE, 'Table storage could not be reached.', {
      cause: new Error(failure.networkCode),
    });
  }
  return new UpstreamError(
    SERVICE,
    `Table storage failed (HTTP ${failure.status}).`,
    failure.status,
  );
}
