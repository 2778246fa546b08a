import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from './key-derivation';

/**
 * The token of a capability link: it opens one operation (its purpose) on one verification, so no
 * host key ever reaches an anonymous caller. An HMAC of the purpose and instance id; it does not
 * expire by itself, the verification's retention bounds it.
 */
const TOKEN_KEY_LABEL = 'sms-verification/capability-link/hmac-sha256/v1';
/** 32 bytes of HMAC-SHA256 in base64url. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The token for one purpose on one instance: base64url(HMAC-SHA256(HKDF(secret), purpose, id)). */
export function linkToken(secret: string, instanceId: string, purpose: string): string {
  return tokenBytes(secret, instanceId, purpose).toString('base64url');
}

/**
 * True only for the token of exactly this instance and purpose. Constant-time over the token
 * bytes; anything malformed is simply false, so callers answer every failure with the same 404.
 */
export function verifyLinkToken(
  secret: string,
  instanceId: string,
  purpose: string,
  token: unknown,
): boolean {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return false;
  const presented = Buffer.from(token, 'base64url');
  const expected = tokenBytes(secret, instanceId, purpose);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

function tokenBytes(secret: string, instanceId: string, purpose: string): Buffer {
  const key = deriveKey(secret, TOKEN_KEY_LABEL);
  return createHmac('sha256', key).update(`${purpose}\n${instanceId}`, 'utf8').digest();
}
