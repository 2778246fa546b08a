import type { SmsMessage, SmsReceipt, SmsSender } from '../../../src/verification/sms-sender';
import type { RowStore, RowWrite, StoredRow } from '../../../src/verification/guard/row-store';
import type {
  AcsIdentityMapping,
  CallerKey,
  IdentityMapStore,
  InsertResult,
} from '../../../src/me/identity-map';

/** In-memory doubles of the app's own interfaces: test support, kept out of the deployed `src/`. */

/** Records messages instead of sending them: for unit tests. */
export class InMemorySmsSender implements SmsSender {
  readonly sent: SmsMessage[] = [];
  private failure: Error | undefined;

  /** Makes the next `send` calls fail with `error` until cleared with `failWith(undefined)`. */
  failWith(error: Error | undefined): void {
    this.failure = error;
  }

  send(message: SmsMessage): Promise<SmsReceipt> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.sent.push(message);
    return Promise.resolve({ sid: `SM${String(this.sent.length).padStart(32, '0')}` });
  }
}

/** The identity map in a Map, with the same atomic insert-if-absent contract. */
export class InMemoryIdentityMapStore implements IdentityMapStore {
  private readonly rows = new Map<string, AcsIdentityMapping>();

  get(key: CallerKey): Promise<AcsIdentityMapping | undefined> {
    return Promise.resolve(this.rows.get(rowKey(key)));
  }

  insertIfAbsent(mapping: AcsIdentityMapping): Promise<InsertResult> {
    const existing = this.rows.get(rowKey(mapping));
    if (existing !== undefined) return Promise.resolve({ created: false, mapping: existing });
    const stored = { ...mapping };
    this.rows.set(rowKey(mapping), stored);
    return Promise.resolve({ created: true, mapping: stored });
  }

  delete(key: CallerKey, communicationUserId?: string): Promise<boolean> {
    const existing = this.rows.get(rowKey(key));
    if (existing === undefined) return Promise.resolve(false);
    if (communicationUserId !== undefined && existing.communicationUserId !== communicationUserId) {
      return Promise.resolve(false);
    }
    this.rows.delete(rowKey(key));
    return Promise.resolve(true);
  }

  /** Number of stored mappings (test helper). */
  get size(): number {
    return this.rows.size;
  }
}

function rowKey(key: CallerKey): string {
  return `${key.tenantId}\u0000${key.objectId}`;
}

/** The fraud guard's RowStore contract in memory: ETag-conditional, all-or-nothing writes. */
export class InMemoryRowStore implements RowStore {
  readonly rows = new Map<string, StoredRow>();
  private version = 0;

  read(keys: readonly string[]): Promise<ReadonlyMap<string, StoredRow>> {
    const found = new Map<string, StoredRow>();
    for (const key of keys) {
      const row = this.rows.get(key);
      if (row !== undefined) found.set(key, row);
    }
    return Promise.resolve(found);
  }

  write(writes: readonly RowWrite[], unconditional = false): Promise<'ok' | 'conflict'> {
    const clean = writes.every((write) => this.rows.get(write.key)?.etag === write.etag);
    if (!unconditional && !clean) return Promise.resolve('conflict');
    for (const write of writes) {
      // Stored as JSON, as the table does: no shared references with the caller.
      const state: unknown = JSON.parse(JSON.stringify(write.state));
      this.rows.set(write.key, { state, etag: `W/"${++this.version}"` });
    }
    return Promise.resolve('ok');
  }

  remove(key: string): Promise<boolean> {
    return Promise.resolve(this.rows.delete(key));
  }

  list(limit: number): Promise<readonly { key: string; state: unknown }[]> {
    return Promise.resolve(
      [...this.rows].slice(0, limit).map(([key, row]) => ({ key, state: row.state })),
    );
  }
}
