import { randomUUID } from 'node:crypto';
import { maskEmailAddress, maskPhoneNumber } from '../redact';
import type { VerificationCrypto } from './crypto';
import { E164_PATTERN, EMAIL_PATTERN, type RecipientFields, type VerificationInput } from './rules';

/**
 * Whom a verification sends to, between its sealed form in history and the plain one the activities
 * and HTTP functions need (see {@link RecipientFields}). The orchestrator never comes here: it
 * passes the fields on as they are.
 */

export type SealRecipient = VerificationCrypto['sealRecipient'];
export type OpenRecipient = VerificationCrypto['openRecipient'];

/** A new instance's id, chosen before `startNew` so the recipient can be sealed to it (the extension's GUID shape). */
export function newInstanceId(): string {
  return randomUUID().replaceAll('-', '');
}

/** What a starter writes of the recipient: the number and the address, each sealed and masked. */
export function sealedRecipient(
  seal: SealRecipient,
  instanceId: string,
  recipient: { readonly phoneNumber: string; readonly email?: string | undefined },
): Pick<
  VerificationInput,
  'sealedPhoneNumber' | 'maskedPhoneNumber' | 'sealedEmail' | 'maskedEmail'
> {
  return {
    sealedPhoneNumber: seal(instanceId, 'phoneNumber', recipient.phoneNumber),
    maskedPhoneNumber: maskPhoneNumber(recipient.phoneNumber),
    ...(recipient.email === undefined
      ? {}
      : {
          sealedEmail: seal(instanceId, 'email', recipient.email),
          maskedEmail: maskEmailAddress(recipient.email),
        }),
  };
}

/** The E.164 number of an input in either shape; undefined when it has none or its seal does not open. */
export function openPhoneNumber(
  open: OpenRecipient,
  instanceId: string,
  fields: RecipientFields,
): string | undefined {
  const number =
    fields.sealedPhoneNumber === undefined
      ? fields.phoneNumber
      : open(instanceId, 'phoneNumber', fields.sealedPhoneNumber);
  return number !== undefined && E164_PATTERN.test(number) ? number : undefined;
}

/** The email address of an input in either shape; undefined when it has none or its seal does not open. */
export function openEmail(
  open: OpenRecipient,
  instanceId: string,
  fields: RecipientFields,
): string | undefined {
  const address =
    fields.sealedEmail === undefined ? fields.email : open(instanceId, 'email', fields.sealedEmail);
  return address !== undefined && EMAIL_PATTERN.test(address) ? address : undefined;
}
