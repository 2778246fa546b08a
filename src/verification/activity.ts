import type { InvocationContext } from '@azure/functions';
import type { VerificationCrypto } from './crypto';
import {
  CODE_LENGTH_RANGE,
  E164_PATTERN,
  isCodeLength,
  isVerificationRules,
  type FirstSmsChallenge,
  type SmsChallengeInput,
  type VerificationRules,
} from './rules';
import { maskPhoneNumber } from '../redact';
import type { SmsSender } from './sms-sender';
import type { SmsTemplateSettings } from './settings';
import { renderMessage, templateFor } from './sms-templates';

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
  readonly sms: SmsSender;
  readonly crypto: Pick<VerificationCrypto, 'deriveCode' | 'hashCode'>;
  /** The English (fallback) template, `VERIFICATION_MESSAGE_TEMPLATE`. */
  readonly messageTemplate: string;
  readonly templates: SmsTemplateSettings;
}

/**
 * Derives the code of this send (the same on every re-run of the activity, a new one for the next
 * send number), texts it in the instance's locale, and returns only its HMAC: the activity result
 * is stored in history, the code must not be. A first send (no `codeLength` in the input) takes
 * the rules from the settings, checks them before texting anything, and returns them with the
 * hash; a resend returns the hash alone.
 */
export function createSendSmsChallenge(deps: SendSmsChallengeDeps) {
  return async function sendSmsChallenge(
    input: unknown,
    context: InvocationContext,
  ): Promise<string | FirstSmsChallenge> {
    const {
      phoneNumber,
      instanceId,
      codeLength: given,
      sendNumber,
      locale,
    } = readChallengeInput(input);
    let rules: VerificationRules | undefined;
    let codeLength: number;
    if (given === undefined) {
      rules = rulesFromSettings(deps.rules());
      codeLength = rules.codeLength;
    } else {
      codeLength = given;
    }
    const code = deps.crypto.deriveCode(instanceId, sendNumber, codeLength);
    const { template } = templateFor(locale, deps.templates, deps.messageTemplate);
    const receipt = await deps.sms.send({ to: phoneNumber, body: renderMessage(template, code) });
    context.log(
      `SMS challenge ${receipt.sid} (send ${sendNumber}) ${receipt.alreadySent === true ? 'was already sent (re-run) to' : 'sent to'} ${maskPhoneNumber(phoneNumber)} for ${instanceId}`,
    );
    const challengeHash = deps.crypto.hashCode(instanceId, code);
    return rules === undefined ? challengeHash : { challengeHash, rules };
  };
}

function readChallengeInput(raw: unknown): SmsChallengeInput {
  if (typeof raw !== 'object' || raw === null) {
    throw new TypeError('SendSmsChallenge input must be an object');
  }
  const { phoneNumber, instanceId, codeLength, sendNumber, locale } = raw as Partial<
    Record<keyof SmsChallengeInput, unknown>
  >;
  if (typeof phoneNumber !== 'string' || !E164_PATTERN.test(phoneNumber)) {
    throw new TypeError('SendSmsChallenge input.phoneNumber must be an E.164 number');
  }
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
  return {
    phoneNumber,
    instanceId,
    sendNumber,
    ...(codeLength === undefined ? {} : { codeLength }),
    ...(locale === undefined ? {} : { locale }),
  };
}
