import { createHmac, timingSafeEqual } from 'node:crypto';

import type { LinkSettings } from '../config';
import { ROUTE } from './names';
import { deriveKey } from './key-derivation';

/**
 * Capability links: each URI of the 202 answer carries a token that opens one operation on one
 * verification, so no host key ever reaches an anonymous caller. The token is an HMAC of the
 * purpose and instance id; it does not expire by itself, the verification's retention bounds it.
 */
export const LINK_PURPOSES = ['status', 'code', 'cancel', 'purge', 'resend'] as const;
export type LinkPurpose = (typeof LINK_PURPOSES)[number];

/** The query parameter of every link. Not `code`: the Functions host reads that as a key. */
export const LINK_TOKEN_PARAM = 'token';

/**
 * The app's per-verification routes (below the host's `api` prefix), one per purpose, for the
 * registrations to use. `{eventName}` stays literal in `sendEventPostUri`, as in the seed.
 */
export const LINK_ROUTES = {
  status: ROUTE.verificationStatus,
  code: ROUTE.raiseEvent,
  cancel: ROUTE.cancelVerification,
  purge: ROUTE.purgeVerification,
  resend: ROUTE.resendCode,
} as const satisfies Record<LinkPurpose, string>;

const ROUTE_PREFIX = 'api';

/** The 202 answer's links: the seed's names, plus `resendPostUri`. */
export interface VerificationLinks {
  readonly id: string;
  readonly statusQueryGetUri: string;
  readonly sendEventPostUri: string;
  readonly terminatePostUri: string;
  readonly purgeHistoryDeleteUri: string;
  readonly resendPostUri: string;
}

const TOKEN_KEY_LABEL = 'sms-verification/capability-link/hmac-sha256/v1';
/** 32 bytes of HMAC-SHA256 in base64url. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The token for one purpose on one instance: base64url(HMAC-SHA256(HKDF(secret), purpose, id)). */
export function linkToken(secret: string, instanceId: string, purpose: LinkPurpose): string {
  return tokenBytes(secret, instanceId, purpose).toString('base64url');
}

/**
 * True only for the token of exactly this instance and purpose. Constant-time over the token
 * bytes; anything malformed is simply false, so callers answer every failure with the same 404.
 */
export function verifyLinkToken(
  secret: string,
  instanceId: string,
  purpose: LinkPurpose,
  token: unknown,
): boolean {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return false;
  const presented = Buffer.from(token, 'base64url');
  const expected = tokenBytes(secret, instanceId, purpose);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** Every link for one instance, on the configured public origin. */
export function buildVerificationLinks(
  secret: string,
  settings: LinkSettings,
  instanceId: string,
): VerificationLinks {
  const link = (purpose: LinkPurpose): string => {
    const path = LINK_ROUTES[purpose].replace('{id}', encodeURIComponent(instanceId));
    const token = linkToken(secret, instanceId, purpose);
    // Built by hand, not with URL: URL would percent-encode the literal `{eventName}`.
    return `${settings.publicOrigin.origin}/${ROUTE_PREFIX}/${path}?${LINK_TOKEN_PARAM}=${token}`;
  };
  return {
    id: instanceId,
    statusQueryGetUri: link('status'),
    sendEventPostUri: link('code'),
    terminatePostUri: link('cancel'),
    purgeHistoryDeleteUri: link('purge'),
    resendPostUri: link('resend'),
  };
}

function tokenBytes(secret: string, instanceId: string, purpose: LinkPurpose): Buffer {
  const key = deriveKey(secret, TOKEN_KEY_LABEL);
  return createHmac('sha256', key).update(`${purpose}\n${instanceId}`, 'utf8').digest();
}
