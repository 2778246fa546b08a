import { buildVerificationLinks, type LinkPurpose, type VerificationLinks } from '../links';
import type { JudgedAnswer } from '../rules';
import type { LinkSettings } from '../settings';
import { hashCode, judgeAnswer } from './code-hash';
import { deriveCode } from './derived-code';
import { verifyLinkToken } from './link-tokens';
import { sealAnswer, type SealedAnswerPayload } from './sealed-answer';
import { openRecipient, sealRecipient, type RecipientField } from './sealed-recipient';

/**
 * Everything the feature does with `VERIFICATION_CODE_SECRET`, closed over it: the handlers, the
 * activity and the orchestrator get these functions and never the secret. Built once, in
 * register.ts. Each function is deterministic for a given secret except the two that seal (a fresh IV).
 */
export interface VerificationCrypto {
  /** The 202 answer's capability links for one instance, on the configured origin. */
  links(instanceId: string, settings: LinkSettings): VerificationLinks;
  /** Constant-time check of a link token for one instance and purpose. */
  verifyLinkToken(instanceId: string, purpose: LinkPurpose, token: unknown): boolean;
  /** The code of one send: the same on every re-run of the activity. */
  deriveCode(instanceId: string, sendNumber: number, length: number): string;
  /** The code's keyed hash, the only trace of it in history. */
  hashCode(instanceId: string, code: string): string;
  /** Seals `{code, receivedAt}` for one instance (AES-256-GCM, instance id as AAD). */
  sealAnswer(instanceId: string, code: string, receivedAt: Date): SealedAnswerPayload;
  /** Seals a recipient (number, address) for one field of one instance's input (AES-256-GCM). */
  sealRecipient(instanceId: string, field: RecipientField, recipient: string): string;
  /** Opens what {@link sealRecipient} sealed for this instance and field; undefined otherwise. */
  openRecipient(instanceId: string, field: RecipientField, sealed: unknown): string | undefined;
  /** The orchestrator's judge: opens `{ sealedAnswer }`, never throws on input. */
  judgeAnswer(
    instanceId: string,
    expectedHash: string,
    payload: unknown,
    codeLength: number,
  ): JudgedAnswer | undefined;
}

export function createVerificationCrypto(secret: string): VerificationCrypto {
  return {
    links: (instanceId, settings) => buildVerificationLinks(secret, settings, instanceId),
    verifyLinkToken: (instanceId, purpose, token) =>
      verifyLinkToken(secret, instanceId, purpose, token),
    deriveCode: (instanceId, sendNumber, length) =>
      deriveCode(secret, instanceId, sendNumber, length),
    hashCode: (instanceId, code) => hashCode(secret, instanceId, code),
    sealAnswer: (instanceId, code, receivedAt) =>
      sealAnswer(secret, instanceId, { code, receivedAt }),
    sealRecipient: (instanceId, field, recipient) =>
      sealRecipient(secret, instanceId, field, recipient),
    openRecipient: (instanceId, field, sealed) => openRecipient(secret, instanceId, field, sealed),
    judgeAnswer: (instanceId, expectedHash, payload, codeLength) =>
      judgeAnswer(secret, instanceId, expectedHash, payload, codeLength),
  };
}
