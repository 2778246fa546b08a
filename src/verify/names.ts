/** Every name of the Verify API the Functions host sees, in one place. */
export const VERIFY_ORCHESTRATION = 'VerifyV2Verification';

export const VERIFY_ACTIVITY = {
  SendVerificationCode: 'SendVerifyCode',
} as const;

/** What the HTTP functions raise into a verification; each carries a request id for its reply. */
export const VERIFY_EVENT = {
  Check: 'VerifyCheckRequested',
  Resend: 'VerifyResendRequested',
  Update: 'VerifyUpdateRequested',
} as const;

/** The Verify API's base below the host's `routePrefix`: `client.verify.baseUrl = <origin>/api/verify`. */
export const VERIFY_ROUTE_BASE = 'verify';
