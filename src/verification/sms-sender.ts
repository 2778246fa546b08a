/** One outgoing SMS. `body` may contain a secret (the code): implementations never log it. */
export interface SmsMessage {
  readonly to: string;
  readonly body: string;
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
