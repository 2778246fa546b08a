import type { HttpMethod } from '@azure/functions';
import type { LinkPurpose } from './links';

/**
 * Every name of the verification feature the Functions host sees, in one place. Orchestrations and
 * activities are called through the values `df.app.orchestration()` / `df.app.activity()` return;
 * these constants exist for registration and for the HTTP layer, which addresses them by name.
 */
export const ORCHESTRATION = {
  SmsPhoneVerification: 'SmsPhoneVerification',
} as const;
export type OrchestrationName = (typeof ORCHESTRATION)[keyof typeof ORCHESTRATION];

export const ACTIVITY = {
  GetVerificationRules: 'GetVerificationRules',
  SendSmsChallenge: 'SendSmsChallenge',
  RecordVerifiedNumber: 'RecordVerifiedNumber',
} as const;

/**
 * Events the orchestration waits for. Only `SmsChallengeResponse` may be raised through a link's
 * `{eventName}`; the others are raised by the app's own cancel and resend links.
 */
export const EVENT = {
  SmsChallengeResponse: 'SmsChallengeResponse',
  CancelRequested: 'VerificationCancelRequested',
  ResendRequested: 'VerificationResendRequested',
} as const;

/** One HTTP function: its route below the host's `routePrefix` (`api`, see host.json), method and auth level. */
interface VerificationFunction {
  readonly route: string;
  readonly method: HttpMethod;
  readonly authLevel: 'anonymous' | 'function';
  /** The per-verification links: the purpose whose token opens this function. */
  readonly purpose?: LinkPurpose;
}

/**
 * The HTTP functions of the feature by name (the registration's, and the OpenAPI operation id).
 * The anonymous link functions each check their link's token before anything else.
 */
export const VERIFICATION_FUNCTIONS = {
  /** The official sample's starter, anonymous: its answer carries capability links, never a host key. */
  httpStart: { route: 'orchestrators/{orchestratorName}', method: 'POST', authLevel: 'anonymous' },
  /** For trusted back ends: a function key gets the Durable management payload (system key). */
  trustedStart: {
    route: 'trusted/orchestrators/{orchestratorName}',
    method: 'POST',
    authLevel: 'function',
  },
  verificationStatus: {
    route: 'verifications/{id}/status',
    method: 'GET',
    authLevel: 'anonymous',
    purpose: 'status',
  },
  raiseVerificationEvent: {
    route: 'verifications/{id}/events/{eventName}',
    method: 'POST',
    authLevel: 'anonymous',
    purpose: 'code',
  },
  cancelVerification: {
    route: 'verifications/{id}/cancel',
    method: 'POST',
    authLevel: 'anonymous',
    purpose: 'cancel',
  },
  purgeVerification: {
    route: 'verifications/{id}',
    method: 'DELETE',
    authLevel: 'anonymous',
    purpose: 'purge',
  },
  resendVerificationCode: {
    route: 'verifications/{id}/resend',
    method: 'POST',
    authLevel: 'anonymous',
    purpose: 'resend',
  },
  submitVerificationCode: {
    route: 'verifications/{id}/code',
    method: 'POST',
    authLevel: 'anonymous',
    purpose: 'code',
  },
  getVerification: {
    route: 'verifications/{id}',
    method: 'GET',
    authLevel: 'anonymous',
    purpose: 'status',
  },
  /** Issue 22: an ALTCHA challenge for the next anonymous start; 404 when proof of work is off. */
  proofOfWorkChallenge: { route: 'verifications/challenge', method: 'GET', authLevel: 'anonymous' },
  /** Issue 22: the fraud guard's conversion counters and blocks. */
  fraudGuardReport: { route: 'verifications/guard/report', method: 'GET', authLevel: 'function' },
} as const satisfies Record<string, VerificationFunction>;
export type VerificationFunctionName = keyof typeof VERIFICATION_FUNCTIONS;

/** The functions that a link token opens: every one but the two starters. */
export type LinkFunctionName = Exclude<
  VerificationFunctionName,
  'httpStart' | 'trustedStart' | 'proofOfWorkChallenge' | 'fraudGuardReport'
>;

/** The retention timer (not HTTP). */
export const RETENTION_FUNCTION = 'purgeExpiredVerifications';

/** Hourly: finished verifications are purged within an hour of passing the retention. */
export const RETENTION_SCHEDULE = '0 17 * * * *';

/**
 * Orchestrations that the public starter may launch. Anything else (including ones added later for
 * internal use) answers 404 from `POST /api/orchestrators/{name}`.
 */
export const HTTP_STARTABLE_ORCHESTRATIONS: readonly OrchestrationName[] = [
  ORCHESTRATION.SmsPhoneVerification,
];

/**
 * The lifecycle events of a verification, as webhooks receive them (Standard Webhooks: `type`,
 * `timestamp`, `data`; the `webhook-id` header is the event id). Never a code or a full number:
 * the number travels masked (`+1******0100`) with its country. See `events/`.
 */
export const EVENT_TYPES = {
  created: 'verification.created',
  codeSent: 'verification.code_sent',
  approved: 'verification.approved',
  canceled: 'verification.canceled',
  expired: 'verification.expired',
  maxAttemptsReached: 'verification.max_attempts_reached',
  failed: 'verification.failed',
  blocked: 'verification.blocked',
} as const;
