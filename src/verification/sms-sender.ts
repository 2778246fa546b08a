/** One outgoing SMS. `body` may contain a secret (the code): implementations never log it. */
export interface SmsMessage {
  readonly to: string;
  readonly body: string;
  /**
   * How many times this very text has been meant for this number so far, this send included (1 unless
   * the same code is sent again on purpose, as Verify's resend does). A re-run after a crash finds
   * `occurrence` earlier copies at the provider and does not send; a deliberate resend finds one fewer.
   */
  readonly occurrence?: number;
  /** False when the same text may belong to another verification (a caller's custom code): always send. */
  readonly deduplicate?: boolean;
}

export interface SmsReceipt {
  /** Provider message id (Twilio `SM...`). */
  readonly sid: string;
  /** The provider already had this very message for this number (a re-run after a crash): not sent again. */
  readonly alreadySent?: boolean;
}

/** Sends SMS. Failures are AppErrors (UpstreamError, RateLimitedError) whose messages hold no body. */
export interface SmsSender {
  send(message: SmsMessage): Promise<SmsReceipt>;
}
