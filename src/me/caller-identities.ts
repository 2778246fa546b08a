import type { AcsScope, AcsToken } from '../acs/model';
import { NotFoundError, UpstreamError } from '../errors';
import type { AcsIdentityService } from '../acs/identity-service';
import type { AcsIdentityMapping, CallerKey, IdentityMapStore } from './identity-map';

/** A token for the caller's own ACS identity. */
export interface CallerAcsToken extends AcsToken {
  readonly communicationUserId: string;
  /** True when this call created the caller's identity. */
  readonly created: boolean;
}

export type CallerAcsOperations = Pick<
  AcsIdentityService,
  'createIdentity' | 'issueToken' | 'revokeTokens' | 'deleteIdentity'
>;

/**
 * Self-service ACS identities: every operation works on the identity mapped to the authenticated caller
 * (tenant id + object id), so a caller can never name, and therefore never act on, another user's identity.
 */
export class CallerAcsIdentities {
  constructor(
    private readonly store: IdentityMapStore,
    private readonly acs: CallerAcsOperations,
    private readonly options: {
      readonly now?: () => Date;
      /** Told about an extra identity that could not be deleted (never a token). */
      readonly onOrphan?: (communicationUserId: string, error: unknown) => void;
    } = {},
  ) {}

  /**
   * Issues a token for the caller's identity, creating identity and mapping on first use. Concurrent first
   * calls race on the conditional insert: the losers delete the identity they created and use the winner's.
   */
  async issueToken(
    caller: CallerKey,
    scopes: readonly AcsScope[],
    expiresInMinutes?: number,
  ): Promise<CallerAcsToken> {
    const existing = await this.store.get(caller);
    if (existing !== undefined) {
      const token = await this.tokenForMapping(caller, existing, scopes, expiresInMinutes);
      if (token !== undefined) return token;
    }

    // One ACS call creates the identity and its first token; a lost race simply deletes both.
    const created = await this.acs.createIdentity({
      scopes,
      ...(expiresInMinutes === undefined ? {} : { expiresInMinutes }),
    });
    if (created.token === undefined || created.expiresOn === undefined) {
      await this.discard(created.communicationUserId);
      throw new UpstreamError('acs-identity', 'Azure Communication Services returned no token.');
    }
    let stored: { created: boolean; mapping: AcsIdentityMapping };
    try {
      stored = await this.store.insertIfAbsent({
        tenantId: caller.tenantId,
        objectId: caller.objectId,
        communicationUserId: created.communicationUserId,
        createdAt: (this.options.now?.() ?? new Date()).toISOString(),
      });
    } catch (error) {
      await this.discard(created.communicationUserId);
      throw error;
    }
    if (stored.created) {
      return {
        communicationUserId: created.communicationUserId,
        token: created.token,
        expiresOn: created.expiresOn,
        created: true,
      };
    }
    await this.discard(created.communicationUserId);
    const token = await this.acs.issueToken(
      stored.mapping.communicationUserId,
      scopes,
      expiresInMinutes,
    );
    return { communicationUserId: stored.mapping.communicationUserId, ...token, created: false };
  }

  /** Revokes every token of the caller's identity. @throws NotFoundError when the caller has none. */
  async revokeTokens(caller: CallerKey): Promise<AcsIdentityMapping> {
    const mapping = await this.required(caller);
    try {
      await this.acs.revokeTokens(mapping.communicationUserId);
    } catch (error) {
      if (error instanceof NotFoundError) {
        await this.store.delete(caller, mapping.communicationUserId);
        throw noIdentity();
      }
      throw error;
    }
    return mapping;
  }

  /**
   * Deletes the caller's ACS identity (which also invalidates its tokens), then the mapping. In that order, a
   * failure in between leaves a mapping to a deleted identity, which the next token request repairs, instead
   * of a live identity nobody can reach.
   */
  async deleteIdentity(caller: CallerKey): Promise<AcsIdentityMapping> {
    const mapping = await this.required(caller);
    try {
      await this.acs.deleteIdentity(mapping.communicationUserId);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    await this.store.delete(caller, mapping.communicationUserId);
    return mapping;
  }

  private async tokenForMapping(
    caller: CallerKey,
    mapping: AcsIdentityMapping,
    scopes: readonly AcsScope[],
    expiresInMinutes: number | undefined,
  ): Promise<CallerAcsToken | undefined> {
    try {
      const token = await this.acs.issueToken(
        mapping.communicationUserId,
        scopes,
        expiresInMinutes,
      );
      return { communicationUserId: mapping.communicationUserId, ...token, created: false };
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      // The identity was deleted behind the mapping's back: drop the stale row and start afresh.
      await this.store.delete(caller, mapping.communicationUserId);
      return undefined;
    }
  }

  private async required(caller: CallerKey): Promise<AcsIdentityMapping> {
    const mapping = await this.store.get(caller);
    if (mapping === undefined) throw noIdentity();
    return mapping;
  }

  private async discard(communicationUserId: string): Promise<void> {
    try {
      await this.acs.deleteIdentity(communicationUserId);
    } catch (error) {
      this.options.onOrphan?.(communicationUserId, error);
    }
  }
}

function noIdentity(): NotFoundError {
  return new NotFoundError('You have no communication identity yet; request a token first.');
}
