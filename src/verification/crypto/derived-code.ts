import { createHmac } from 'node:crypto';
import { CODE_LENGTH_RANGE, isCodeLength } from '../rules';
import { deriveKey } from './key-derivation';

/**
 * The code of one send, derived instead of drawn: HMAC-SHA256 under a key derived from the app
 * secret, over the instance id and the send number, then HOTP's dynamic truncation (RFC 4226
 * §5.3). An activity re-run after a crash (activities are at-least-once) texts the same code
 * again, a resend (the next send number) gets a new one, and without the secret the codes are
 * unpredictable.
 *
 * One departure from RFC 4226: the truncation takes 63 bits rather than 31, because 31 bits
 * cannot cover 10 digits (2^31 ≈ 2.1·10^9); with 63 bits the modulo bias is below 10^-8.
 */
const KEY_LABEL = 'sms-verification/derived-code/hmac-sha256/v1';

export function deriveCode(
  secret: string,
  instanceId: string,
  sendNumber: number,
  length: number,
): string {
  if (!isCodeLength(length)) {
    throw new RangeError(
      `code length must be an integer in ${CODE_LENGTH_RANGE.min}..${CODE_LENGTH_RANGE.max}`,
    );
  }
  if (!Number.isSafeInteger(sendNumber) || sendNumber < 1) {
    throw new RangeError('the send number must be a positive integer');
  }
  if (instanceId === '') throw new RangeError('the instance id must not be empty');
  const key = deriveKey(secret, KEY_LABEL);
  const mac = createHmac('sha256', key).update(`${instanceId}\n${sendNumber}`, 'utf8').digest();
  // Dynamic truncation: the low nibble of the last byte picks where the 8 bytes start (0..15).
  const offset = mac[mac.length - 1]! & 0x0f;
  const value = mac.readBigUInt64BE(offset) & 0x7fff_ffff_ffff_ffffn;
  return (value % 10n ** BigInt(length)).toString().padStart(length, '0');
}
