/**
 * What the app's log lines may show of personal data. Codes, tokens and keys never reach a log at
 * all; phone numbers only through this.
 */

/** `+14255550100` → `+1******0100`: enough to correlate logs without logging the number. */
export function maskPhoneNumber(phoneNumber: string): string {
  if (phoneNumber.length <= 6) return '***';
  return `${phoneNumber.slice(0, 2)}${'*'.repeat(phoneNumber.length - 6)}${phoneNumber.slice(-4)}`;
}

/** `ada.lovelace@example.com` → `a***@e***.com`: the first letters and the top-level domain only. */
export function maskEmailAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '***';
  const domain = address.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${address.slice(0, 1)}***@${domain.slice(0, 1)}***${tld}`;
}

/** A phone number or, for the email channel, an email address, masked as above. */
export function maskRecipient(to: string): string {
  return to.includes('@') ? maskEmailAddress(to) : maskPhoneNumber(to);
}
