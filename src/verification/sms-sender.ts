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

/** Records messages instead of sending them: for unit tests and offline experiments. */
export class InMemorySmsSender implements SmsSender {
  readonly sent: SmsMessage[] = [];
  private failure: Error | undefined;

  /** Makes the next `send` calls fail with `error` until cleared with `failWith(undefined)`. */
  failWith(error: Error | undefined): void {
    this.failure = error;
  }

  send(message: SmsMessage): Promise<SmsReceipt> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.sent.push(message);
    return Promise.resolve({ sid: `SM${String(this.sent.length).padStart(32, '0')}` });
  }
}

/** `+14255550100` → `+1******0100`: enough to correlate logs without logging the number. */
export function maskPhoneNumber(phoneNumber: string): string {
  if (phoneNumber.length <= 6) return '***';
  return `${phoneNumber.slice(0, 2)}${'*'.repeat(phoneNumber.length - 6)}${phoneNumber.slice(-4)}`;
}
