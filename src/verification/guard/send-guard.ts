import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

import { loadSections, type Env } from '../../config';
import { maskPhoneNumber } from '../../redact';
import { clientIpFrom, type HeaderSource } from './client-ip';
import { ConversionGuard, type Admission } from './conversion';
import {
  GUARD_REASONS,
  GuardUnavailableError,
  PhoneNumberInvalidError,
  PhonePolicyError,
} from './errors';
import { checkPhoneNumber, type AcceptedPhoneNumber } from './phone-policy';
import type { RowStore } from './row-store';
import {
  loadClientIpSettings,
  loadFraudGuardSettings,
  loadPhonePolicySettings,
  loadVelocitySettings,
  type FraudGuardSettings,
  type GuardSettings as VerificationGuardSettings,
} from './settings';
import {
  VelocityGuard,
  type GuardLogger,
  type SendAttempt,
  type SendPermit,
  type VelocityStore,
} from './velocity';
import { SafeListedNumbers } from './safe-list';
import { VerifiedNumbers } from './verified-numbers';

/**
 * Every setting of the fraud guard: the parts the verification section carries (policy, client
 * IP, velocity) and the issue-22 parts (`fraud`), all in `./settings.ts`.
 */
export interface GuardSettings extends VerificationGuardSettings {
  readonly fraud: FraudGuardSettings;
}

/** Every guard part, with the problems of all of them in one `ConfigError`. */
export function loadGuardSettings(env: Env): GuardSettings {
  return Object.freeze(
    loadSections({
      phonePolicy: () => loadPhonePolicySettings(env),
      clientIp: () => loadClientIpSettings(env),
      velocity: () => loadVelocitySettings(env),
      fraud: () => loadFraudGuardSettings(env),
    }),
  );
}

export interface SendGuardDeps {
  readonly settings: GuardSettings;
  readonly store: VelocityStore;
  /** The conversion counters and blocks (partition of the limits table). */
  readonly conversionStore: RowStore;
  /** The recently verified numbers (another partition of it). */
  readonly verifiedStore: RowStore;
  /** Verify's SafeList (`/v2/SafeList/Numbers`): a third partition of it. */
  readonly safeListStore: RowStore;
  /** `VERIFICATION_CODE_SECRET`. */
  readonly secret: string;
  readonly now: () => Date;
  readonly logger: GuardLogger;
}

export interface CheckOptions {
  /**
   * The caller is an authenticated back end that may not know its end user's address (the Verify
   * API's `DeviceIp`): without one, the send is not counted per client, rather than in the shared
   * bucket of unknown clients that anonymous requests without a usable address share.
   */
  readonly clientOptional?: boolean;
}

export interface GuardedSend extends AcceptedPhoneNumber {
  /** The store was unreachable and the fail mode is `open`: this send was not counted. */
  readonly degraded: boolean;
}

/** A safe-listed number's admission: no subject, so no refusal and nothing counted. */
const NOT_COUNTED: Admission = { subjects: [], rows: new Map(), dryRunHits: [] };

/**
 * The whole guard in front of one SMS, for the starter and the resend link: phone policy first,
 * then the velocity limits keyed by the normalised number and the trusted client IP. Throws the
 * refusal (an AppError with its status and `reason`); each refusal is logged once. One guard per
 * process, so concurrent sends share its grouped, conditional writes.
 */
export class SendGuard {
  private readonly velocity: VelocityGuard;
  readonly conversion: ConversionGuard;
  private readonly verified: VerifiedNumbers;
  /** Numbers exempt from the conversion block, managed through the Verify API's SafeList. */
  readonly safeList: SafeListedNumbers;

  constructor(private readonly deps: SendGuardDeps) {
    const { settings } = deps;
    this.velocity = new VelocityGuard({
      store: deps.store,
      settings: settings.velocity,
      budgets: settings.fraud.budgets,
      secret: deps.secret,
      now: deps.now,
      logger: deps.logger,
    });
    this.conversion = new ConversionGuard({
      store: deps.conversionStore,
      settings: settings.fraud.conversion,
      now: deps.now,
      logger: deps.logger,
    });
    this.verified = new VerifiedNumbers({
      store: deps.verifiedStore,
      secret: deps.secret,
      now: deps.now,
      days: settings.fraud.budgets.verifiedNumberDays,
    });
    this.safeList = new SafeListedNumbers({
      store: deps.safeListStore,
      secret: deps.secret,
      now: deps.now,
    });
  }

  /**
   * Phone policy; then, read in parallel, the conversion block of the number's prefix and
   * country and whether the number was verified recently; then the velocity budgets, which count
   * the send; then the send is counted for conversion. A recently verified number is exempt from
   * the conversion block and counted per client, so strangers cannot lock its owner out. A
   * number on the SafeList is neither refused by the conversion block nor counted for it.
   */
  async check(
    phoneNumber: unknown,
    headers: HeaderSource,
    options: CheckOptions = {},
  ): Promise<GuardedSend> {
    const { settings } = this.deps;
    let accepted: AcceptedPhoneNumber;
    try {
      accepted = checkPhoneNumber(phoneNumber, {
        ...settings.phonePolicy,
        ...settings.fraud.numberPolicy,
      });
    } catch (error: unknown) {
      this.logPolicyRefusal(phoneNumber, error);
      throw error;
    }
    const lookups = await this.lookUp(accepted);
    if (lookups !== undefined && lookups.admission.refusal !== undefined && !lookups.owner) {
      const refusal = lookups.admission.refusal;
      this.deps.logger.warn(
        `Verification send refused by ${refusal.reason} (${refusal.subject} ${refusal.subjectValue}) for ${maskPhoneNumber(accepted.e164)}`,
      );
      throw refusal;
    }
    const permit = await this.countVelocity(headers, options, {
      phoneNumber: accepted.e164,
      country: accepted.country,
      verifiedOwner: lookups?.owner === true,
    });
    if (lookups !== undefined) await this.countSend(lookups.admission);
    return { ...accepted, degraded: permit.degraded || lookups === undefined };
  }

  /**
   * The guard in front of one email (the Verify API's `Channel=email`): no phone policy and no conversion
   * block, which judge phone numbers and their ranges; the per-recipient limit and cooldown (the per-number
   * rule, keyed by the address's hash), the per-client and the global limits count the send.
   * `address` is normalised (lower-cased) by the caller.
   */
  async checkEmail(
    address: string,
    headers: HeaderSource,
    options: CheckOptions = {},
  ): Promise<{ readonly degraded: boolean }> {
    return this.countVelocity(headers, options, { phoneNumber: address, recipient: 'email' });
  }

  private countVelocity(
    headers: HeaderSource,
    options: CheckOptions,
    recipient: Omit<SendAttempt, 'clientIp' | 'unknownClient'>,
  ): Promise<SendPermit> {
    const { clientIp } = this.deps.settings;
    return this.velocity.checkAndRecord({
      ...recipient,
      clientIp: clientIpFrom(headers, clientIp),
      unknownClient: clientIp.header !== undefined && options.clientOptional !== true,
    });
  }

  /**
   * A verification of `e164` was approved: its owner is "recent" from now on, and its prefix and
   * country count one completion. Storage errors propagate (the caller's activity retries).
   */
  async recordVerified(e164: string): Promise<void> {
    const country = parsePhoneNumberFromString(e164)?.country;
    const [, safe] = await Promise.all([this.verified.record(e164), this.safeListed(e164)]);
    // A safe-listed number's sends were not counted: neither is its completion.
    if (safe === undefined) await this.conversion.recordCompletion(e164, country);
  }

  /** Undefined when storage is unreachable and the fail mode is `open`. */
  private async lookUp(
    accepted: AcceptedPhoneNumber,
  ): Promise<{ admission: Admission; owner: boolean } | undefined> {
    try {
      const [admission, owner, safe] = await Promise.all([
        this.conversion.admit(accepted.e164, accepted.country),
        this.verified.isRecentlyVerified(accepted.e164),
        this.safeListed(accepted.e164),
      ]);
      if (safe !== undefined) return { admission: NOT_COUNTED, owner };
      return { admission, owner };
    } catch (error: unknown) {
      const masked = maskPhoneNumber(accepted.e164);
      if (this.deps.settings.velocity.failMode === 'open') {
        this.deps.logger.warn(
          `Fraud guard store unreachable; fail mode open skips the conversion check for ${masked}`,
        );
        return undefined;
      }
      this.deps.logger.warn(
        `Verification send refused by ${GUARD_REASONS.guardUnavailable} for ${masked}: the fraud guard store is unreachable`,
      );
      throw new GuardUnavailableError({ cause: error });
    }
  }

  /**
   * The number's SafeList entry. The SafeList only exempts from the conversion block and its counts,
   * so with conversion `off` it is not read: two Table reads per verification saved.
   */
  private safeListed(e164: string): ReturnType<SafeListedNumbers['find']> {
    return this.conversion.mode === 'off' ? Promise.resolve(undefined) : this.safeList.find(e164);
  }

  /** The send was allowed and counted by velocity; losing its conversion count only weakens stats. */
  private async countSend(admission: Admission): Promise<void> {
    try {
      await this.conversion.recordSend(admission);
    } catch {
      this.deps.logger.warn('Fraud guard could not count a send for conversion');
    }
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
