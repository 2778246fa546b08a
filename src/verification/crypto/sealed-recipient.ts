import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from './key-derivation';

/**
 * A verification's recipient (its phone number, its email address, Verify's `To`) as the durable
 * history holds it: AES-256-GCM under its own subkey of `VERIFICATION_CODE_SECRET`, the instance id
 * and the input field as additional data. History, the management API's `showInput` and the storage
 * provider's tables then hold no full number or address; only the starters seal, and only
 * activities and the HTTP functions that answer the number's own caller open.
 */

/** The input field a sealed value stands for: a value sealed for one field never opens as another. */
export type RecipientField = 'phoneNumber' | 'email' | 'to';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Its own HKDF label: this key differs from every other key taken from the same secret. */
const KEY_LABEL = 'sms-verification/sealed-recipient/aes-256-gcm/v1';
/** An email address is at most 254 bytes: anything much longer is not ours and is not decrypted. */
const SEALED_PATTERN = /^[A-Za-z0-9_-]{38,400}$/;
const MAX_RECIPIENT_LENGTH = 254;

/** Seals one recipient for one instance. `iv` is injectable for tests only. */
export function sealRecipient(
  secret: string,
  instanceId: string,
  field: RecipientField,
  recipient: string,
  iv: Buffer = randomBytes(IV_BYTES),
): string {
  if (recipient === '' || recipient.length > MAX_RECIPIENT_LENGTH) {
    throw new RangeError('the recipient must be 1-254 characters');
  }
  if (instanceId === '') throw new RangeError('the instance id must not be empty');
  if (iv.length !== IV_BYTES) throw new RangeError('the IV must be 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', deriveKey(secret, KEY_LABEL), iv);
  cipher.setAAD(additionalData(instanceId, field));
  const ciphertext = Buffer.concat([cipher.update(recipient, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
}

/**
 * The recipient sealed for `instanceId` and `field`, or undefined for anything else (another
 * instance's, another field's, another secret's, tampered or malformed). Never throws.
 */
export function openRecipient(
  secret: string,
  instanceId: string,
  field: RecipientField,
  sealed: unknown,
): string | undefined {
  if (typeof sealed !== 'string' || !SEALED_PATTERN.test(sealed)) return undefined;
  try {
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    const decipher = createDecipheriv(
      'aes-256-gcm',
      deriveKey(secret, KEY_LABEL),
      bytes.subarray(0, IV_BYTES),
      { authTagLength: TAG_BYTES },
    );
    decipher.setAAD(additionalData(instanceId, field));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const recipient = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
    return recipient === '' ? undefined : recipient;
  } catch {
    return undefined;
  }
}

function additionalData(instanceId: string, field: RecipientField): Buffer {
  return Buffer.from(`${instanceId}\n${field}`, 'utf8');
}
