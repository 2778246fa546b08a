import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from '@azure/functions';
import { VerifyApiError } from './errors';
import { SID_PATTERN } from './rules';
import type { ApiKeyRecord } from './store';

/**
 * Twilio's authentication: HTTP Basic with the account SID and auth token, or with an API key
 * (`SK…`) and its secret. Only the account credentials may manage API keys (as with Twilio's
 * standard keys). Every failure is the same 401 (20003): nothing tells which half was wrong.
 */
export type Principal =
  { readonly kind: 'account' } | { readonly kind: 'apiKey'; readonly sid: string };

export interface AuthDeps {
  readonly accountSid: () => string;
  readonly authToken: () => string;
  readonly findKey: (sid: string) => Promise<ApiKeyRecord | undefined>;
}

const BASIC = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i;

export async function authenticate(request: HttpRequest, deps: AuthDeps): Promise<Principal> {
  const credentials = readBasic(request.headers.get('authorization'));
  if (credentials === undefined) throw new VerifyApiError('authenticate');
  const { user, password } = credentials;
  if (user === deps.accountSid()) {
    if (secretEquals(password, deps.authToken())) return { kind: 'account' };
    throw new VerifyApiError('authenticate');
  }
  if (SID_PATTERN.apiKey.test(user)) {
    const key = await deps.findKey(user);
    if (key !== undefined && hashEquals(hashSecret(password), key.secretHash)) {
      return { kind: 'apiKey', sid: key.sid };
    }
  }
  throw new VerifyApiError('authenticate');
}

function readBasic(header: string | null): { user: string; password: string } | undefined {
  const encoded = header === null ? undefined : BASIC.exec(header.trim())?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Constant time whatever the lengths: both sides are hashed under a per-process key first. */
const COMPARE_KEY = randomBytes(32);
function secretEquals(presented: string, expected: string): boolean {
  const a = createHmac('sha256', COMPARE_KEY).update(presented, 'utf8').digest();
  const b = createHmac('sha256', COMPARE_KEY).update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function hashEquals(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An API key secret is 32 random bytes, so a plain SHA-256 is enough to store it (no dictionary
 * to defeat); the table never holds the secret.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newApiKeySecret(): string {
  return randomBytes(24).toString('base64url');
}

/** A fresh sid: the prefix and 32 random lowercase hex digits. */
export function newSid(prefix: 'VA' | 'VE' | 'SK' | 'RK' | 'BL'): string {
  return `${prefix}${randomBytes(16).toString('hex')}`;
}
