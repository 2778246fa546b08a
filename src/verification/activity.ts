import type { InvocationContext } from '@azure/functions';
import type { VerificationCrypto } from './crypto';
import {
  CODE_LENGTH_RANGE,
  isCodeLength,
  isVerificationRules,
  recipientFields,
  type DeliverySummary,
  type SmsChallengeInput,
  type SmsChallengeResult,
  type VerificationRules,
} from './rules';
import { maskPhoneNumber } from '../redact';
import { CHANNELS, isChannel, type Delivery } from '../delivery/channels';
import { openEmail, openPhoneNumber } from './recipient';

/**
 * `GetVerificationRules`: the app's settings for one instance. An activity, so the values are
 * recorded in history and a replay (even after the settings changed) decides the same way. New
 * instances get them from their first `SendSmsChallenge`; this stays for instances started by an
 * earlier release, which replay it.
 */
export function createGetVerificationRules(rules: () => VerificationRules) {
  return function getVerificationRules(): VerificationRules {
    return pickRules(rules());
  };
}

/** Only the three rules: the settings object also holds the code secret. */
function pickRules({
  timeoutSeconds,
  maxAttempts,
  codeLength,
}: VerificationRules): VerificationRules {
  return { timeoutSeconds, maxAttempts, codeLength };
}

/** Never widen the rules: settings out of range send nothing (the config loader checks them too). */
function rulesFromSettings(settings: VerificationRules): VerificationRules {
  const rules = pickRules(settings);
  if (!isVerificationRules(rules)) {
    throw new RangeError('The verification settings are outside the allowed ranges');
  }
  return rules;
}

export interface SendSmsChallengeDeps {
  /** The app's settings; read only by a first send (no `codeLength` in its input). */
  readonly rules: () => VerificationRules;
  /** Delivers the code by the input's channel (SMS when it names none). */
  readonly delivery: () => Delivery;
  readonly crypto: Pick<VerificationCrypto, 'deriveCode' | 'hashCode' | 'openRecipient'>;
  /** The fixed code of a test number (nothing is sent to it), or undefined. */
  readonly testCodeFor: (phoneNumber: string) => string | undefined;
}

/**
 * Derives the code of this send (the same on every re-run of the activity and for every channel of
 * the same send number: a fallback sends the same code by the next channel, a resend a new one),
 * delivers it in the instance's locale, and returns only its HMAC: the activity result is stored in
 * history, the code must not be. A first send (no `codeLength` in the input) takes the rules from the
 * settings, checks them before sending anything, and returns them with the hash. With a `channel` in
 * the input the result is an object that also says how the code went ({@link DeliverySummary}); without
 * one (instances started before channels existed, and callers that name none) it keeps the old shapes.
 */
export function createSendSmsChallenge(deps: SendSmsChallengeDeps) {
  return async function sendSmsChallenge(
    input: unknown,
    context: InvocationContext,
  ): Promise<SmsChallengeResult> {
    const request = readChallengeInput(input);
    const { instanceId, codeLength: given, sendNumber, locale } = request;
    // Sealed in history (plain in instances started before): opened here, for this send only.
    const phoneNumber = openPhoneNumber(deps.crypto.openRecipient, instanceId, request);
    if (phoneNumber === undefined) {
      throw new TypeError('SendSmsChallenge input has no E.164 number for this instance');
    }
    let rules: VerificationRules | undefined;
    let codeLength: number;
    if (given === undefined) {
      rules = rulesFromSettings(deps.rules());
      codeLength = rules.codeLength;
    } else {
      codeLength = given;
    }
    const channel = request.channel ?? 'sms';
    const fixed = deps.testCodeFor(phoneNumber);
    if (fixed !== undefined && fixed.length !== codeLength) {
      throw new RangeError(`The test number's code must have ${codeLength} digits`);
    }
    const code = fixed ?? deps.crypto.deriveCode(instanceId, sendNumber, codeLength);
    let summary: DeliverySummary;
    if (fixed !== undefined) {
      summary = { channel, provider: 'test-number', failedOver: [] };
      context.log(
        `Test number ${maskPhoneNumber(phoneNumber)}: ${channel} code not sent (send ${sendNumber}) for ${instanceId}`,
      );
    } else {
      const to =
        channel === 'email'
          ? requireEmail(openEmail(deps.crypto.openRecipient, instanceId, request))
          : phoneNumber;
      const receipt = await deps.delivery().deliver({ channel, to, code, locale });
      summary = {
        channel,
        provider: receipt.provider,
        failedOver: receipt.failedOver,
        ...(receipt.id === undefined ? {} : { id: receipt.id }),
      };
      const via =
        receipt.failedOver.length === 0 ? '' : ` after ${receipt.failedOver.join(', ')} failed`;
      const whom = channel === 'email' ? 'an email address' : maskPhoneNumber(phoneNumber);
      const what =
        receipt.alreadySent === true
          ? 'was already sent (re-run) to'
          : `sent by ${receipt.provider}${via} to`;
      context.log(
        `${CHANNEL_LABELS[channel]} challenge ${receipt.id ?? ''} (send ${sendNumber}) ${what} ${whom} for ${instanceId}`,
      );
    }
    const challengeHash = deps.crypto.hashCode(instanceId, code);
    if (request.channel === undefined) {
      return rules === undefined ? challengeHash : { challengeHash, rules };
    }
    return rules === undefined
      ? { challengeHash, delivery: summary }
      : { challengeHash, rules, delivery: summary };
  };
}

/** How the host log names each channel. */
const CHANNEL_LABELS = { sms: 'SMS', call: 'Call', whatsapp: 'WhatsApp', email: 'Email' } as const;

function requireEmail(email: string | undefined): string {
  if (email === undefined)
    throw new TypeError('SendSmsChallenge input has no email address for this instance');
  return email;
}

function readChallengeInput(raw: unknown): SmsChallengeInput {
  if (typeof raw !== 'object' || raw === null) {
    throw new TypeError('SendSmsChallenge input must be an object');
  }
  const { instanceId, codeLength, sendNumber, locale, channel } = raw as Partial<
    Record<keyof SmsChallengeInput, unknown>
  >;
  if (typeof instanceId !== 'string' || instanceId === '') {
    throw new TypeError('SendSmsChallenge input.instanceId is required');
  }
  if (codeLength !== undefined && !isCodeLength(codeLength)) {
    throw new TypeError(
      `SendSmsChallenge input.codeLength, when given, must be an integer in ${CODE_LENGTH_RANGE.min}..${CODE_LENGTH_RANGE.max}`,
    );
  }
  if (typeof sendNumber !== 'number' || !Number.isSafeInteger(sendNumber) || sendNumber < 1) {
    throw new TypeError('SendSmsChallenge input.sendNumber must be a positive integer');
  }
  if (locale !== undefined && typeof locale !== 'string') {
    throw new TypeError('SendSmsChallenge input.locale must be a string');
  }
  if (channel !== undefined && !isChannel(channel)) {
    throw new TypeError(`SendSmsChallenge input.channel must be one of ${CHANNELS.join(', ')}`);
  }
  return {
    ...(channel === undefined ? {} : { channel }),
    ...recipientFields(raw),
    instanceId,
    sendNumber,
    ...(codeLength === undefined ? {} : { codeLength }),
    ...(locale === undefined ? {} : { locale }),
  };
}
