/**
 * The shapes and rules of one Verify verification: what travels between the HTTP functions, the
 * orchestrator and its activity. Pure values and types, so the orchestrator may import them.
 */

/** Twilio's verification statuses this API reports. */
export const VERIFICATION_STATUSES = [
  'pending',
  'approved',
  'canceled',
  'expired',
  'max_attempts_reached',
] as const;
export type VerificationStatusName = (typeof VERIFICATION_STATUSES)[number];

/** The channels Verify names; only those in {@link ENABLED_CHANNELS} send anything today. */
export const VERIFY_CHANNELS = ['sms', 'call', 'email', 'whatsapp', 'sna'] as const;
export type VerifyChannel = (typeof VERIFY_CHANNELS)[number];

/** What a code's message is made of: the orchestration's input carries it to every send. */
export interface CodeMessage {
  readonly channel: VerifyChannel;
  /** Canonical BCP 47, chosen or inferred from the number's country. */
  readonly locale?: string;
  /** The service's friendly name or the request's `CustomFriendlyName`. */
  readonly friendlyName: string;
  /** The service's code length, or the custom code's. */
  readonly codeLength: number;
  readonly doNotShareWarning: boolean;
  readonly amount?: string;
  readonly payee?: string;
  readonly appHash?: string;
  /** A custom code sealed for this verification (never the code itself). */
  readonly sealedCustomCode?: string;
}

/**
 * Whom the code goes to (normalised E.164, or the email channel's address). The create writes it
 * sealed (AES-256-GCM bound to the verification sid, src/verification/crypto/sealed-recipient.ts)
 * and masked: history, the management API and the custom status never hold it plain. `to` is the
 * plain form of verifications created before: read so they complete, never written.
 */
export interface VerifyRecipient {
  readonly sealedTo?: string;
  /** `+1******0100` or `a***@e***.com`, for whoever reads the input. */
  readonly maskedTo?: string;
  readonly to?: string;
}

/** The sealed or plain `To`, whichever the input holds, passed on to a send as it is. */
export function recipientOf(input: VerifyRecipient): Pick<VerifyRecipient, 'sealedTo' | 'to'> {
  return input.sealedTo === undefined ? { to: input.to! } : { sealedTo: input.sealedTo };
}

/** The service's choices at creation and the caller's parameters, but whom to send to. */
export interface VerifyParameters extends CodeMessage {
  readonly serviceSid: string;
  /** The number type the guard saw (`MOBILE`, `FIXED_LINE`, ...), for `lookup`. */
  readonly lineType?: string;
  readonly lookupEnabled: boolean;
}

/** The orchestration input. */
export interface VerifyInput extends VerifyParameters, VerifyRecipient {}

/** A verification as the HTTP functions answer its caller: the input with its recipient opened. */
export interface OpenedVerifyInput extends VerifyParameters {
  readonly to: string;
}

/** The app's settings for one verification, recorded in history by the first send. */
export interface VerifyRules {
  readonly validitySeconds: number;
  readonly maxCheckAttempts: number;
  readonly maxSendAttempts: number;
}

/** The activity input: which code to text (the attempt number changes the SMS, not the code). */
export interface SendVerifyCodeInput extends CodeMessage, Pick<VerifyRecipient, 'sealedTo' | 'to'> {
  readonly verificationSid: string;
  readonly attempt: number;
}

/** What the first send returns (recorded in history): the code's hash and the rules it sent by. */
export interface FirstSend {
  readonly challengeHash: string;
  readonly rules: VerifyRules;
}

/** One entry of Verify's `send_code_attempts`. */
export interface SendCodeAttempt {
  readonly attempt_sid: string;
  readonly channel: VerifyChannel;
  readonly time: string;
}

/** The verdict of one request the orchestration answered (by request id). */
export type VerifyReply =
  'approved' | 'pending' | 'sent' | 'max_sends' | 'updated' | 'expired' | 'not_pending';

/** The orchestration's custom status: what the API answers, never the number or the code. */
export interface VerifyStatus {
  readonly status: VerificationStatusName;
  readonly serviceSid: string;
  readonly channel: VerifyChannel;
  readonly dateCreated: string;
  readonly dateUpdated: string;
  readonly expiresAt: string;
  readonly checkAttempts: number;
  readonly sendCodeAttempts: readonly SendCodeAttempt[];
  /** Verdicts by request id, bounded by the attempt limits (checks and sends that counted). */
  readonly replies: Readonly<Record<string, VerifyReply>>;
}

export interface CheckRequest {
  readonly requestId: string;
  readonly sealedAnswer: string;
}

export interface ResendRequest {
  readonly requestId: string;
}

export interface UpdateRequest {
  readonly requestId: string;
  readonly status: 'canceled' | 'approved';
}

/** A Verify sid: two letters and 32 lowercase hex digits. */
export const SID_PATTERN = {
  service: /^VA[0-9a-f]{32}$/,
  verification: /^VE[0-9a-f]{32}$/,
  apiKey: /^SK[0-9a-f]{32}$/,
  rateLimit: /^RK[0-9a-f]{32}$/,
  bucket: /^BL[0-9a-f]{32}$/,
} as const;

/**
 * The `attempt_sid` of a send: `VL` and the verification's hex with the attempt number in its
 * last four digits. Deterministic (the orchestrator computes it during replay).
 */
export function attemptSid(verificationSid: string, attempt: number): string {
  const hex = verificationSid.slice(2);
  return `VL${hex.slice(0, 28)}${attempt.toString(16).padStart(4, '0')}`;
}

/** Request ids the HTTP functions mint: replies are keyed by them in the custom status. */
export const REQUEST_ID_PATTERN = /^[0-9a-f]{32}$/;

/** The judge's answer: by its content and by when the app received it. */
export interface JudgedCode {
  readonly correct: boolean;
  readonly receivedAt: Date;
}

/** Replies kept in the custom status: more than the attempt limits allow to count. */
export const MAX_REPLIES = 32;
