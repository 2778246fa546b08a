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
  SendSmsChallenge: 'SendSmsChallenge',
} as const;

export const EVENT = {
  SmsChallengeResponse: 'SmsChallengeResponse',
} as const;

/** HTTP-triggered functions: the exported handler carries the same name as its registration. */
export const FUNCTION = {
  httpStart: 'httpStart',
  submitVerificationCode: 'submitVerificationCode',
  getVerification: 'getVerification',
} as const;

/** Routes below the host's `routePrefix` (`api`, see host.json). */
export const ROUTE = {
  httpStart: 'orchestrators/{orchestratorName}',
  submitVerificationCode: 'verifications/{id}/code',
  getVerification: 'verifications/{id}',
} as const;

/**
 * Orchestrations that the public starter may launch. Anything else (including ones added later for
 * internal use) answers 404 from `POST /api/orchestrators/{name}`.
 */
export const HTTP_STARTABLE_ORCHESTRATIONS: readonly OrchestrationName[] = [
  ORCHESTRATION.SmsPhoneVerification,
];
