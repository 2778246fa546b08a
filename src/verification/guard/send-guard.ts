import type { ClientIpSettings, PhonePolicySettings } from '../../config';
import type { HeaderSource } from './client-ip';
import { clientIpFrom } from './client-ip';
import { PhoneNumberInvalidError, PhonePolicyError } from './errors';
import { checkPhoneNumber, type AcceptedPhoneNumber } from './phone-policy';
import type { GuardLogger, VelocityGuard } from './velocity';
import { maskPhoneNumber } from '../sms-sender';

export interface SendGuardDeps {
  readonly phonePolicy: PhonePolicySettings;
  readonly clientIp: ClientIpSettings;
  readonly velocity: VelocityGuard;
  readonly logger: GuardLogger;
}

/**
 * The fraud guard in front of every SMS: the phone policy (valid number, allowed type and country),
 * then the velocity limits. Throws the refusal (400/403/429/503, each with its `reason`); when it
 * returns, the send has been counted and may go out.
 */
export class SendGuard {
  constructor(private readonly deps: SendGuardDeps) {}

  /** A new verification: the caller's number is checked, then its send is counted. */
  async admitStart(phoneNumber: unknown, headers: HeaderSource): Promise<AcceptedPhoneNumber> {
    let accepted: AcceptedPhoneNumber;
    try {
      accepted = checkPhoneNumber(phoneNumber, this.deps.phonePolicy);
    } catch (error: unknown) {
      if (error instanceof PhonePolicyError || error instanceof PhoneNumberInvalidError) {
        // Masked even when invalid: whatever the caller typed may still be someone's number.
        const shown = typeof phoneNumber === 'string' ? maskPhoneNumber(phoneNumber.trim()) : '-';
        this.deps.logger.warn(`Verification refused for ${shown}: ${error.reason}`);
      }
      throw error;
    }
    await this.admitSend(accepted.e164, headers);
    return accepted;
  }

  /** Another send to a number the policy accepted at start (a resend): only the limits apply. */
  async admitSend(e164: string, headers: HeaderSource): Promise<void> {
    await this.deps.velocity.checkAndRecord({
      phoneNumber: e164,
      clientIp: clientIpFrom(headers, this.deps.clientIp),
    });
  }
}
