import { createRequire } from 'node:module';

import type * as AltchaLib from 'altcha-lib' with { 'resolution-mode': 'import' };
import type * as AltchaSha from 'altcha-lib/algorithms/sha' with { 'resolution-mode': 'import' };

import { ForbiddenError, NotFoundError } from '../../errors';
import { deriveKey } from '../crypto/key-derivation';
import { GUARD_REASONS } from './errors';
import type { RowStore } from './row-store';
import type { ProofOfWorkSettings } from './settings';

/**
 * Optional proof of work for the anonymous starter (issue 22), with ALTCHA (`altcha-lib`, no third
 * party): `GET /api/verifications/challenge` hands out a signed challenge, and a start then carries
 * the solved payload (base64 JSON, as the ALTCHA widget submits it) in the `x-altcha` header.
 *
 * The challenge is ALTCHA v2's deterministic mode over SHA-256: the server picks a secret counter
 * in [cost/2, cost] and signs the key it derives, so the client must try counters from 0 until it
 * finds it (on average 0.75 × cost SHA-256 computations) while verifying costs the server one HMAC.
 * Each solved challenge is accepted once: its signature is recorded in Table Storage (a create,
 * which conflicts on reuse), shared by every instance, until the challenge expires.
 */
export const PROOF_OF_WORK_HEADER = 'x-altcha';

// altcha-lib ships CommonJS builds, but its type declarations are ES modules only: the types come
// from the declarations, the code from the CommonJS build (what `require` resolves).
const load = createRequire(__filename);
const { createChallenge, randomInt, verifySolution } = load('altcha-lib') as typeof AltchaLib;
const { deriveKey: sha } = load('altcha-lib/algorithms/sha') as typeof AltchaSha;
type Challenge = AltchaLib.Challenge;

const SIGNATURE_LABEL = 'sms-verification/altcha/challenge-signature/v1';
const KEY_SIGNATURE_LABEL = 'sms-verification/altcha/key-signature/v1';
/** Bounds the work done on a header the client controls. */
const MAX_PAYLOAD_LENGTH = 4096;

/** 403: proof of work is on and the start carries no valid, unused solution. */
export class ProofOfWorkRequiredError extends ForbiddenError {
  readonly reason = GUARD_REASONS.proofOfWorkRequired;

  constructor() {
    super(
      `Solve a challenge from GET /api/verifications/challenge and send it in the ${PROOF_OF_WORK_HEADER} header.`,
    );
  }

  override extensions(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

export interface ProofOfWorkDeps {
  readonly settings: ProofOfWorkSettings;
  /**
   * `VERIFICATION_CODE_SECRET` (the two HMAC keys are derived from it) and where used challenges
   * are remembered (a partition of the limits table): read only when proof of work is on, so a
   * disabled check needs neither setting.
   */
  readonly secret: () => string;
  readonly store: () => RowStore;
  readonly now: () => Date;
}

export class ProofOfWork {
  constructor(private readonly deps: ProofOfWorkDeps) {}

  private get signatureSecret(): string {
    return deriveKey(this.deps.secret(), SIGNATURE_LABEL).toString('base64url');
  }

  private get keySignatureSecret(): string {
    return deriveKey(this.deps.secret(), KEY_SIGNATURE_LABEL).toString('base64url');
  }

  get enabled(): boolean {
    return this.deps.settings.enabled;
  }

  /** A new challenge; 404 when proof of work is off. */
  async challenge(): Promise<Challenge> {
    if (!this.enabled) throw new NotFoundError('Proof of work is not required here.');
    const { cost, expirySeconds } = this.deps.settings;
    return createChallenge({
      algorithm: 'SHA-256',
      cost: 1,
      counter: randomInt(cost, Math.ceil(cost / 2)),
      deriveKey: sha,
      expiresAt: new Date(this.deps.now().getTime() + expirySeconds * 1000),
      hmacSignatureSecret: this.signatureSecret,
      hmacKeySignatureSecret: this.keySignatureSecret,
    });
  }

  /** Throws {@link ProofOfWorkRequiredError} unless `header` holds a valid solution used for the first time. */
  async requireSolved(header: string | null): Promise<void> {
    if (!this.enabled) return;
    const payload = parsePayload(header);
    if (payload === undefined) throw new ProofOfWorkRequiredError();
    let verified = false;
    try {
      const result = await verifySolution({
        challenge: payload.challenge,
        solution: payload.solution,
        deriveKey: sha,
        hmacSignatureSecret: this.signatureSecret,
        hmacKeySignatureSecret: this.keySignatureSecret,
      });
      verified = result.verified;
    } catch {
      verified = false;
    }
    const signature = payload.challenge.signature;
    if (!verified || typeof signature !== 'string') throw new ProofOfWorkRequiredError();
    const expiresAt = payload.challenge.parameters.expiresAt;
    const used = await this.deps.store().write([
      {
        key: `w-${signature.slice(0, 64)}`,
        state: { usedAt: this.deps.now().getTime() },
        etag: undefined,
        expiresAt: new Date(typeof expiresAt === 'number' ? expiresAt * 1000 : Date.now()),
      },
    ]);
    if (used === 'conflict') throw new ProofOfWorkRequiredError();
  }
}

interface SolvedPayload {
  readonly challenge: Challenge;
  readonly solution: {
    readonly counter: number;
    readonly derivedKey: string;
    readonly time?: number;
  };
}

function parsePayload(header: string | null): SolvedPayload | undefined {
  if (header === null || header.length > MAX_PAYLOAD_LENGTH) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { challenge, solution } = value as Record<string, unknown>;
    if (typeof challenge !== 'object' || challenge === null) return undefined;
    if (typeof solution !== 'object' || solution === null) return undefined;
    const parameters = (challenge as Record<string, unknown>).parameters;
    if (typeof parameters !== 'object' || parameters === null) return undefined;
    const { counter, derivedKey } = solution as Record<string, unknown>;
    if (typeof counter !== 'number' || typeof derivedKey !== 'string') return undefined;
    return value as SolvedPayload;
  } catch {
    return undefined;
  }
}
