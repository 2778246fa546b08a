/**
 * What the app's log lines may show of personal data. Codes, tokens and keys never reach a log at
 * all; phone numbers only through this.
 */

/** `+14255550100` → `+1******0100`: enough to correlate logs without logging the number. */
export function maskPhoneNumber(phoneNumber: string): string {
  if (phoneNumber.length <= 6) return '***';
  return `${phoneNumber.slice(0, 2)}${'*'.repeat(phoneNumber.length - 6)}${phoneNumber.slice(-4)}`;
}
