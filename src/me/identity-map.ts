/** Who the caller is, as proven by a validated token: the Entra tenant and object ids. */
export interface CallerKey {
  readonly tenantId: string;
  readonly objectId: string;
}

/** One app user's ACS identity. */
export interface AcsIdentityMapping extends CallerKey {
  readonly communicationUserId: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface InsertResult {
  /** False when another call stored a mapping first; `mapping` is then the stored (winning) one. */
  readonly created: boolean;
  readonly mapping: AcsIdentityMapping;
}

/**
 * The user → ACS identity map. Implementations must make `insertIfAbsent` atomic: of concurrent inserts for
 * one caller exactly one returns `created: true` and all of them return the same mapping.
 */
export interface IdentityMapStore {
  get(key: CallerKey): Promise<AcsIdentityMapping | undefined>;
  insertIfAbsent(mapping: AcsIdentityMapping): Promise<InsertResult>;
  /**
   * Removes the caller's mapping. With `communicationUserId`, only if it still maps to that identity (so a
   * stale delete cannot remove a newer mapping). Returns whether a mapping was removed.
   */
  delete(key: CallerKey, communicationUserId?: string): Promise<boolean>;
}

/** Key characters Table Storage forbids (`/ \ # ?` and control characters) are refused, not escaped. */
const KEY_PATTERN = /^[A-Za-z0-9._-]{1,256}$/;

export function isValidCallerKeyPart(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/** For unit tests and single-process development. */
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
