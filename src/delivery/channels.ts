/**
 * The delivery feature's vocabulary: the channels a code travels by, the SMS providers, and the one call
 * every orchestrator makes (through its send activity): deliver this code by this channel to this
 * destination in this locale. Pure values and types, so orchestrators may import them.
 */

export const CHANNELS = ['sms', 'call', 'whatsapp', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

export const SMS_PROVIDERS = ['twilio', 'acs'] as const;
export type SmsProviderName = (typeof SMS_PROVIDERS)[number];

/** Who carried a code: an SMS provider, the channel's only provider, or nobody (a test number). */
export type DeliveryProvider =
  SmsProviderName | 'twilio-voice' | 'twilio-whatsapp' | 'acs-email' | 'test-number';

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

/** One code to deliver. `code` is a secret: no implementation logs it or puts it in an error. */
export interface DeliveryRequest {
  readonly channel: Channel;
  /** E.164 for `sms`, `call`, `whatsapp`; an email address for `email`. */
  readonly to: string;
  readonly code: string;
  /** Canonical BCP 47 tag, or undefined for English. */
  readonly locale: string | undefined;
  /**
   * SMS only: the text a caller rendered itself (the Verify API's message, with its service name and PSD2
   * fields) instead of the locale's template, and its re-run identity for the providers that can tell.
   */
  readonly rendered?: RenderedSms;
}

/** An SMS text rendered by the caller. `body` holds the code: never logged. */
export interface RenderedSms {
  readonly body: string;
  /** As `SmsMessage.occurrence` (src/verification/sms-sender.ts): a re-run after a crash does not resend. */
  readonly occurrence?: number;
  /** False for a text another verification may share (a caller's custom code): always send. */
  readonly deduplicate?: boolean;
}

/**
 * What a delivery reports, recorded in history by the send activity: channel and provider, the providers
 * that failed before it, and the provider's message id. Never the code or the full destination.
 */
export interface DeliveryReceipt {
  readonly channel: Channel;
  readonly provider: DeliveryProvider;
  /** SMS providers that failed (5xx, timeout, unreachable) before `provider` took the same code. */
  readonly failedOver: readonly SmsProviderName[];
  /** The provider's id (`SM…`, `CA…`, ACS message or operation id); absent for a test number. */
  readonly id?: string;
  /** The provider already had this very message (a re-run of the send after a crash): not sent again. */
  readonly alreadySent?: boolean;
}

/** Delivers codes. Failures are AppErrors whose messages hold neither the code nor the destination. */
export interface Delivery {
  /** The channels this deployment has. */
  enabled(): readonly Channel[];
  deliver(request: DeliveryRequest): Promise<DeliveryReceipt>;
}

/** One channel's (or one SMS provider's) sender: the message is already rendered. */
export interface ChannelSender<M> {
  send(message: M): Promise<{ readonly id: string; readonly alreadySent?: boolean }>;
}
