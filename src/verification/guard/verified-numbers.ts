import { createHmac } from 'node:crypto';

import { deriveKey } from '../crypto/key-derivation';
import type { RowStore } from './row-store';

const KEY_LABEL = 'sms-verification/verified-number/hmac-sha256/v1';

export interface VerifiedNumbersDeps {
  readonly store: RowStore;
  /** `VERIFICATION_CODE_SECRET`: rows are keyed by an HMAC of the number, never the number. */
  readonly secret: string;
  readonly now: () => Date;
  /** How long a verification makes its number's owner "recent"; 0 turns the rule off. */
  readonly days: number;
}

/**
 * The numbers verified through this app recently (issue 22): a successful verification records
 * when, keyed by an HMAC of the number, so the guard can keep strangers from locking the owner
 * out. Nothing in a row tells whose number it is.
 */
export class VerifiedNumbers {
  private readonly key: Buffer;

  constructor(private readonly deps: VerifiedNumbersDeps) {
    this.key = deriveKey(deps.secret, KEY_LABEL);
  }

  get enabled(): boolean {
    return this.deps.days > 0;
  }

  async isRecentlyVerified(e164: string): Promise<boolean> {
    if (!this.enabled) return false;
    const row = (await this.deps.store.read([this.rowKey(e164)])).values().next().value;
    const verifiedAt = (row?.state as { verifiedAt?: unknown } | undefined)?.verifiedAt;
    if (typeof verifiedAt !== 'number') return false;
    return this.deps.now().getTime() - verifiedAt < this.deps.days * 86_400_000;
  }

  async record(e164: string): Promise<void> {
    if (!this.enabled) return;
    const now = this.deps.now().getTime();
    await this.deps.store.write(
      [
        {
          key: this.rowKey(e164),
          state: { verifiedAt: now },
          etag: undefined,
          expiresAt: new Date(now + this.deps.days * 86_400_000),
        },
      ],
      true,
    );
  }

  private rowKey(e164: string): string {
    return `v-${createHmac('sha256', this.key).update(e164, 'utf8').digest('base64url').slice(0, 32)}`;
  }
}
