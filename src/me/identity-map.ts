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
