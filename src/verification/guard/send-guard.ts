import { maskPhoneNumber } from '../../redact';
import { clientIpFrom, type HeaderSource } from './client-ip';
import { PhoneNumberInvalidError, PhonePolicyError } from './errors';
import { checkPhoneNumber, type AcceptedPhoneNumber } from './phone-policy';
import type { GuardSettings } from './settings';
import { VelocityGuard, type GuardLogger, type VelocityStore } from './velocity';

export interface SendGuardDeps {
  readonly settings: GuardSettings;
  readonly store: VelocityStore;
  /** `VERIFICATION_CODE_SECRET`. */
  readonly secret: string;
  readonly now: () => Date;
  readonly logger: GuardLogger;
}

export interface GuardedSend extends AcceptedPhoneNumber {
  /** The store was unreachable and the fail mode is `open`: this send was not counted. */
  readonly degraded: boolean;
}

/**
 * The whole guard in front of one SMS, for the starter and the resend link: phone policy first,
 * then the velocity limits keyed by the normalised number and the trusted client IP. Throws the
 * refusal (an AppError with its status and `reason`); each refusal is logged once. One guard per
 * process, so concurrent sends share its grouped, conditional writes.
 */
export class SendGuard {
  private readonly velocity: VelocityGuard;

  constructor(private readonly deps: SendGuardDeps) {
    this.velocity = new VelocityGuard({
      store: deps.store,
      settings: deps.settings.velocity,
      secret: deps.secret,
      now: deps.now,
      logger: deps.logger,
    });
  }

  async check(phoneNumber: unknown, headers: HeaderSource): Promise<GuardedSend> {
    let accepted: AcceptedPhoneNumber;
    try {
      accepted = checkPhoneNumber(phoneNumber, this.deps.settings.phonePolicy);
    } catch (error: unknown) {
      this.logPolicyRefusal(phoneNumber, error);
      throw error;
    }
    const clientIp = clientIpFrom(headers, this.deps.settings.clientIp);
    const permit = await this.velocity.checkAndRecord({ phoneNumber: accepted.e164, clientIp });
    return { ...accepted, degraded: permit.degraded };
  }

  private logPolicyRefusal(input: unknown, error: unknown): void {
    if (error instanceof PhonePolicyError) {
      // The input passed validation, so it is a phone number: masked, like every log line.
      const masked = maskPhoneNumber(String(input).replace(/[^\d+]/g, ''));
      this.deps.logger.warn(`Verification send refused by ${error.reason} for ${masked}`);
    } else if (error instanceof PhoneNumberInvalidError) {
      // Not a number: nothing of the input is logged (it could be anything, including a code).
      this.deps.logger.warn(`Verification send refused by ${error.reason}`);
    }
  }
}
