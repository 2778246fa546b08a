/**
 * Every name of the verification feature the Functions host sees, in one place. Orchestrations and activities are called
 * through the values `df.app.orchestration()` / `df.app.activity()` return; these constants exist
 * for registration and for the HTTP layer, which addresses them by name.
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

/** HTTP-triggered functions: the exported handler carries the same name as its registration. */
export const FUNCTION = {
  httpStart: 'httpStart',
  trustedStart: 'trustedStart',
  verificationStatus: 'verificationStatus',
  raiseVerificationEvent: 'raiseVerificationEvent',
  cancelVerification: 'cancelVerification',
  purgeVerification: 'purgeVerification',
  resendVerificationCode: 'resendVerificationCode',
  submitVerificationCode: 'submitVerificationCode',
  getVerification: 'getVerification',
  purgeExpiredVerifications: 'purgeExpiredVerifications',
  proofOfWorkChallenge: 'proofOfWorkChallenge',
  fraudGuardReport: 'fraudGuardReport',
} as const;

/** Routes below the host's `routePrefix` (`api`, see host.json). */
export const ROUTE = {
  httpStart: 'orchestrators/{orchestratorName}',
  /** authLevel `function`: for trusted back ends, answers the Durable management payload. */
  trustedStart: 'trusted/orchestrators/{orchestratorName}',
  verificationStatus: 'verifications/{id}/status',
  raiseEvent: 'verifications/{id}/events/{eventName}',
  cancelVerification: 'verifications/{id}/cancel',
  purgeVerification: 'verifications/{id}',
  resendCode: 'verifications/{id}/resend',
  submitVerificationCode: 'verifications/{id}/code',
  getVerification: 'verifications/{id}',
  /** Anonymous: an ALTCHA challenge for the next start (issue 22); 404 when proof of work is off. */
  proofOfWorkChallenge: 'verifications/challenge',
  /** authLevel `function`: the fraud guard's conversion counters and blocks. */
  fraudGuardReport: 'verifications/guard/report',
} as const;

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
