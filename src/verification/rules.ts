import {
  isChannel,
  type Channel,
  type DeliveryProvider,
  type SmsProviderName,
} from '../delivery/channels';

// The orchestrator imports only this module (and names.ts): the delivery vocabulary it needs, from here.
export { isChannel, type Channel, type DeliveryProvider };
import type { EVENT_TYPES } from './names';

/**
 * The rules of a verification, each stated once: phone-number shape, code lengths, the states an
 * instance reports and the shapes that travel between starter, orchestrator and activities. Pure
 * values and types, so the orchestrator may import them.
 */

/** E.164: `+` and 8-15 digits, no leading zero. */
export const E164_PATTERN = /^\+[1-9]\d{7,14}$/;

/**
 * NIST SP 800-63B asks for at least 20 bits of entropy: 6 decimal digits. 4 is allowed for parity
 * with the official sample (`azure-functions-durable-js:samples-ts/functions/smsPhoneVerification.ts`).
 */
export const CODE_LENGTH_RANGE = { min: 4, max: 10 } as const;
export const MAX_ATTEMPTS_RANGE = { min: 1, max: 10 } as const;
export const TIMEOUT_SECONDS_RANGE = { min: 10, max: 3600 } as const;

export function isCodeLength(value: unknown): value is number {
  return isIntegerIn(value, CODE_LENGTH_RANGE);
}

/** What the orchestration reports in `customStatus.state`, and its final outcome. */
export const VERIFICATION_STATES = [
  'awaiting_code',
  'verified',
  'expired',
  'too_many_attempts',
  'canceled',
] as const;
export type VerificationState = (typeof VERIFICATION_STATES)[number];

/** The orchestration's `customStatus`. */
export interface VerificationStatus {
  readonly state: VerificationState;
  readonly attemptsRemaining: number;
  /** ISO-8601 deadline for submitting a code. */
  readonly expiresAt: string;
  /** Digits of the code: the links need it to restore leading zeros of an answer sent as a number. */
  readonly codeLength: number;
  /** Every send so far (the latest {@link MAX_REPORTED_DELIVERIES}), first send first. */
  readonly deliveries?: readonly ReportedDelivery[];
  /** The fallback step waiting for its timer, if any. */
  readonly nextFallback?: { readonly channel: Channel; readonly at: string };
}

/** One send in `customStatus`: by which channel and provider, which code (send number), when. */
export interface ReportedDelivery {
  readonly channel: Channel;
  readonly provider: DeliveryProvider | 'unknown';
  readonly sendNumber: number;
  readonly at: string;
}
export const MAX_REPORTED_DELIVERIES = 10;

/** A later step of a verification's workflow: the same code by `channel`, `afterSeconds` after the step before. */
export interface FallbackStep {
  readonly channel: Channel;
  readonly afterSeconds: number;
}
export const MAX_FALLBACK_STEPS = 3;
export const FALLBACK_AFTER_SECONDS_RANGE = { min: 10, max: 3600 } as const;

/**
 * Whom a verification sends to, as its input and its activities' inputs carry it. The starters write
 * only the sealed fields (AES-256-GCM bound to the instance id, crypto/sealed-recipient.ts): history
 * holds no full number or address. The plain fields are in instances started before: read so they
 * complete, never written for a new one. Only activities and HTTP functions open the sealed ones.
 */
export interface RecipientFields {
  readonly sealedPhoneNumber?: string;
  /** The `email` channel's destination, sealed. */
  readonly sealedEmail?: string;
  /** Plain E.164 of instances started before recipients were sealed. */
  readonly phoneNumber?: string;
  /** Plain address of instances started before recipients were sealed. */
  readonly email?: string;
}
const RECIPIENT_FIELDS = ['sealedPhoneNumber', 'sealedEmail', 'phoneNumber', 'email'] as const;

/** The recipient fields of a value as they are (strings only): what the orchestrator passes on. */
export function recipientFields(value: object): RecipientFields {
  const fields: Record<string, string> = {};
  for (const name of RECIPIENT_FIELDS) {
    const field = (value as Record<string, unknown>)[name];
    if (typeof field === 'string') fields[name] = field;
  }
  return fields;
}

/** True when a value names its phone number, sealed or (an earlier release's) plain. */
export function hasPhoneNumber(fields: RecipientFields): boolean {
  return fields.sealedPhoneNumber !== undefined || fields.phoneNumber !== undefined;
}

/**
 * The orchestration input: only what the caller decides (whom to text, in which language). The
 * rules are never part of it; whoever starts an instance, they come from {@link VerificationRules}.
 */
export interface VerificationInput extends RecipientFields {
  /** The number masked (`+1******0100`) by the starter, for whoever reads the input. */
  readonly maskedPhoneNumber?: string;
  /** The address masked (`a***@e***.com`), when there is one. */
  readonly maskedEmail?: string;
  /** Canonical BCP 47 tag, or absent for the default template. */
  readonly locale?: string;
  /**
   * {@link CURRENT_INPUT_VERSION} for instances the starters launch: the first SMS activity also
   * records the rules. Absent for instances started by releases before it, which replay their
   * history as it was written: the `GetVerificationRules` activity first. It picks a code path
   * that replay requires, never a rule.
   */
  readonly version?: typeof CURRENT_INPUT_VERSION;
  /** The first send's channel; absent means SMS. */
  readonly channel?: Channel;
  /** Later steps (validated and bounded by the starter): the same code by other channels. */
  readonly fallback?: readonly FallbackStep[];
  /**
   * True for instances the starters launch since issue 22: the orchestration publishes its
   * lifecycle events and records an approval for the fraud guard (each an activity that does
   * nothing when its feature is off). Absent in instances started before, which replay without.
   */
  readonly reportsLifecycle?: true;
}

/** The history shape of new instances (see {@link VerificationInput.version}). */
export const CURRENT_INPUT_VERSION = 2;

/** The app's settings for one instance, recorded in its history by the `GetVerificationRules` activity. */
export interface VerificationRules {
  readonly timeoutSeconds: number;
  readonly maxAttempts: number;
  readonly codeLength: number;
}

export function isFallbackStep(value: unknown): value is FallbackStep {
  if (typeof value !== 'object' || value === null) return false;
  const { channel, afterSeconds } = value as Record<string, unknown>;
  return isChannel(channel) && isIntegerIn(afterSeconds, FALLBACK_AFTER_SECONDS_RANGE);
}

/** True only for rules inside the ranges the app allows: anything else fails the instance. */
export function isVerificationRules(value: unknown): value is VerificationRules {
  if (typeof value !== 'object' || value === null) return false;
  const { timeoutSeconds, maxAttempts, codeLength } = value as Record<string, unknown>;
  return (
    isIntegerIn(timeoutSeconds, TIMEOUT_SECONDS_RANGE) &&
    isIntegerIn(maxAttempts, MAX_ATTEMPTS_RANGE) &&
    isCodeLength(codeLength)
  );
}

/**
 * The activity input. The instance id and the send number (1 for the first SMS, 2 for the first
 * resend, …) determine the code, so a re-run of the same send texts the same code.
 */
export interface SmsChallengeInput extends RecipientFields {
  readonly instanceId: string;
  /**
   * The recorded rules' code length, so a resend texts a code the orchestrator judges with those
   * rules. Absent on the first send, which reads the rules from the settings and returns them
   * ({@link FirstSmsChallenge}): one activity and one episode fewer before the SMS goes out.
   */
  readonly codeLength?: number;
  readonly sendNumber: number;
  readonly locale?: string;
  /** The channel of this send; absent means SMS and the old result shapes (see {@link SmsChallengeResult}). */
  readonly channel?: Channel;
}

/** What the first send returns: the rules it texted by, recorded in history with the hash. */
export interface FirstSmsChallenge {
  readonly challengeHash: string;
  readonly rules: VerificationRules;
  /** How the code went; present when the input named a channel. */
  readonly delivery?: DeliverySummary;
}

/** How one send went, recorded in history: never the code or the destination. */
export interface DeliverySummary {
  readonly channel: Channel;
  readonly provider: DeliveryProvider;
  /** SMS providers that failed before `provider` carried the same code. */
  readonly failedOver: readonly SmsProviderName[];
  /** The provider's message, call or operation id. */
  readonly id?: string;
}

/**
 * The send activity's result: the hash alone (a resend without a channel), the first send's rules and
 * hash, or, when the input named a channel, the hash with the delivery summary (and the rules on a first
 * send).
 */
export type SmsChallengeResult =
  | string
  | FirstSmsChallenge
  | { readonly challengeHash: string; readonly delivery: DeliverySummary };

/** An email destination: a practical check (the provider is the judge of deliverability). */
export const EMAIL_PATTERN = /^[^\s@<>",;]{1,64}@[^\s@<>",;]+\.[^\s@<>",;]{2,}$/;
export const MAX_EMAIL_LENGTH = 254;

function isIntegerIn(
  value: unknown,
  range: { readonly min: number; readonly max: number },
): boolean {
  return (
    typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max
  );
}

/** The answer the orchestrator judges: by its content and by when the app received it. */
export interface JudgedAnswer {
  readonly correct: boolean;
  readonly receivedAt: Date;
}

export type VerificationEventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** What the orchestrator decides about an event: replay-safe values only. */
export interface LifecycleEvent {
  readonly type: VerificationEventType;
  /** The send this event is about (code sent); distinguishes the ids of repeated types. */
  readonly sendNumber?: number;
  readonly channel?: Channel;
}

/** The orchestrator's request to the publishing activity: the number (sealed) is masked before it leaves. */
export interface PublishRequest extends Pick<RecipientFields, 'sealedPhoneNumber' | 'phoneNumber'> {
  readonly instanceId: string;
  readonly events: readonly LifecycleEvent[];
}

/** The input of `RecordVerifiedNumber`: the approved number, sealed for the instance. */
export interface RecordVerifiedInput extends Pick<
  RecipientFields,
  'sealedPhoneNumber' | 'phoneNumber'
> {
  /** Present with the sealed number, which it opens (absent in instances started before). */
  readonly instanceId?: string;
}
