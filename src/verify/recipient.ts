import { openRecipient, sealRecipient } from '../verification/crypto/sealed-recipient';
import { maskRecipient } from '../redact';
import type { VerifyRecipient } from './rules';

/**
 * A verification's `To` between history (sealed to the verification sid, see {@link VerifyRecipient})
 * and the places that need it plain: the send activity and the HTTP functions answering the account.
 */

/** What the create writes of `To`: sealed and masked, never plain. */
export function sealTo(
  secret: string,
  verificationSid: string,
  to: string,
): Required<Pick<VerifyRecipient, 'sealedTo' | 'maskedTo'>> {
  return {
    sealedTo: sealRecipient(secret, verificationSid, 'to', to),
    maskedTo: maskRecipient(to),
  };
}

/** `To` of an input (or send) in either shape; undefined when it has none or its seal does not open. */
export function openTo(
  secret: string,
  verificationSid: string,
  recipient: Pick<VerifyRecipient, 'sealedTo' | 'to'>,
): string | undefined {
  if (recipient.sealedTo === undefined) return recipient.to;
  return openRecipient(secret, verificationSid, 'to', recipient.sealedTo);
}
