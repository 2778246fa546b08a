import type { LinkSettings } from './settings';
import { linkToken } from './crypto/link-tokens';
import { VERIFICATION_FUNCTIONS, type LinkFunctionName } from './names';

/**
 * Capability links: each URI of the 202 answer carries a token that opens one operation (its
 * purpose) on one verification, so no host key ever reaches an anonymous caller. The tokens are in
 * crypto/link-tokens.ts.
 */
export const LINK_PURPOSES = ['status', 'code', 'cancel', 'purge', 'resend'] as const;
export type LinkPurpose = (typeof LINK_PURPOSES)[number];

/** The query parameter of every link. Not `code`: the Functions host reads that as a key. */
export const LINK_TOKEN_PARAM = 'token';

/** host.json's `extensions.http.routePrefix` (a unit test keeps the two equal). */
export const ROUTE_PREFIX = 'api';

/** The 202 answer's links: the official sample's names, plus `resendPostUri`. */
export interface VerificationLinks {
  readonly id: string;
  readonly statusQueryGetUri: string;
  readonly sendEventPostUri: string;
  readonly terminatePostUri: string;
  readonly purgeHistoryDeleteUri: string;
  readonly resendPostUri: string;
}

/** The function each URI of the 202 answer points at. `{eventName}` stays literal in `sendEventPostUri`, as in the sample. */
const ANSWER_LINKS = {
  statusQueryGetUri: 'verificationStatus',
  sendEventPostUri: 'raiseVerificationEvent',
  terminatePostUri: 'cancelVerification',
  purgeHistoryDeleteUri: 'purgeVerification',
  resendPostUri: 'resendVerificationCode',
} as const satisfies Record<Exclude<keyof VerificationLinks, 'id'>, LinkFunctionName>;

/** Every link for one instance, on the configured public origin. */
export function buildVerificationLinks(
  secret: string,
  settings: LinkSettings,
  instanceId: string,
): VerificationLinks {
  const link = (name: LinkFunctionName): string => {
    const { route, purpose } = VERIFICATION_FUNCTIONS[name];
    const path = route.replace('{id}', encodeURIComponent(instanceId));
    const token = linkToken(secret, instanceId, purpose);
    // Built by hand, not with URL: URL would percent-encode the literal `{eventName}`.
    return `${settings.publicOrigin.origin}/${ROUTE_PREFIX}/${path}?${LINK_TOKEN_PARAM}=${token}`;
  };
  return {
    id: instanceId,
    statusQueryGetUri: link(ANSWER_LINKS.statusQueryGetUri),
    sendEventPostUri: link(ANSWER_LINKS.sendEventPostUri),
    terminatePostUri: link(ANSWER_LINKS.terminatePostUri),
    purgeHistoryDeleteUri: link(ANSWER_LINKS.purgeHistoryDeleteUri),
    resendPostUri: link(ANSWER_LINKS.resendPostUri),
  };
}
