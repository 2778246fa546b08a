/** One outgoing SMS. `body` may contain a secret (the code): implementations never log it. */
export interface SmsMessage {
  readonly to: string;
  readonly body: string;
}

export interface SmsReceipt {
  /** Provider message id (Twilio `SM...`). */
  readonly sid: string;
}

/** Sends SMS. Failures are AppErrors (UpstreamError, RateLimitedError) whose messages hold no body. */
export interface SmsSender {
  send(message: SmsMessage): Promise<SmsReceipt>;
}

/** `+14255550100` → `+1******0100`: enough to correlate logs without logging the number. */
export function maskPhoneNumber(phoneNumber: string): string {
  if (phoneNumber.length <= 6) return '***';
  return `${phoneNumber.slice(0, 2)}${'*'.repeat(phoneNumber.length - 6)}${phoneNumber.slice(-4)}`;
}
