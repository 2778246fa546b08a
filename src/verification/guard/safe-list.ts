import { createHmac, randomBytes } from 'node:crypto';

import { deriveKey } from '../crypto/key-derivation';
import type { RowStore } from './row-store';

const KEY_LABEL = 'sms-verification/safe-list/hmac-sha256/v1';

/** Entries do not expire; the date only tells a clean-up job to leave them alone. */
const NEVER = new Date('9999-12-31T00:00:00Z');

export interface SafeListEntry {
  /** `GN` and 32 hex digits, as Twilio's SafeList resource. */
  readonly sid: string;
  readonly dateCreated: string;
}

export interface SafeListDeps {
  readonly store: RowStore;
  /** `VERIFICATION_CODE_SECRET`: rows are keyed by an HMAC of the number, never the number. */
  readonly secret: string;
  readonly now: () => Date;
}

/**
 * Verify's SafeList (`/v2/SafeList/Numbers`, issue 22): numbers an operator vouches for, exempt
 * from the conversion block and not counted for it. Rows hold only a SID and a date under an HMAC
 * of the number: the number itself is never at rest, so the API echoes the one it was given.
 * Complements the `VERIFICATION_FRAUD_GUARD_SAFE_LIST` setting (fixed numbers and prefixes).
 */
export class SafeListedNumbers {
  private readonly key: Buffer;

  constructor(private readonly deps: SafeListDeps) {
    this.key = deriveKey(deps.secret, KEY_LABEL);
  }

  async find(e164: string): Promise<SafeListEntry | undefined> {
    const row = (await this.deps.store.read([this.rowKey(e164)])).values().next().value;
    return readEntry(row?.state);
  }

  /** Adds the number, or answers the entry it already has (Twilio's create is idempotent). */
  async add(e164: string): Promise<SafeListEntry> {
    const entry: SafeListEntry = {
      sid: `GN${randomBytes(16).toString('hex')}`,
      dateCreated: this.deps.now().toISOString(),
    };
    const written = await this.deps.store.write([
      { key: this.rowKey(e164), state: entry, etag: undefined, expiresAt: NEVER },
    ]);
    if (written === 'ok') return entry;
    return (await this.find(e164)) ?? entry;
  }

  /** False when the number was not on the list. */
  remove(e164: string): Promise<boolean> {
    return this.deps.store.remove(this.rowKey(e164));
  }

  private rowKey(e164: string): string {
    return `s-${createHmac('sha256', this.key).update(e164, 'utf8').digest('base64url').slice(0, 32)}`;
  }
}

function readEntry(state: unknown): SafeListEntry | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const { sid, dateCreated } = state as Partial<Record<keyof SafeListEntry, unknown>>;
  return typeof sid === 'string' && typeof dateCreated === 'string'
    ? { sid, dateCreated }
    : undefined;
}
