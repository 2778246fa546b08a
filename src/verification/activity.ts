import type { InvocationContext } from '@azure/functions';
import { hashCode, renderMessage } from './codes';
import { deriveCode } from './derived-code';
import {
  CODE_LENGTH_RANGE,
  E164_PATTERN,
  isCodeLength,
  type SmsChallengeInput,
  type VerificationRules,
} from './rules';
import { maskPhoneNumber, type SmsSender } from './sms-sender';
import type { SmsTemplateSettings } from '../config';
import { templateFor } from './sms-templates';

/**
 * `GetVerificationRules`: the app's settings for one instance. An activity, so the values are
 * recorded in history and a replay (even after the settings changed) decides the same way.
 */
export function createGetVerificationRules(rules: () => VerificationRules) {
  return function getVerificationRules(): VerificationRules {
    const { timeoutSeconds, maxAttempts, codeLength } = rules();
    return { timeoutSeconds, maxAttempts, codeLength };
  };
}

export interface SendSmsChallengeDeps {
  readonly sms: SmsSender;
  readonly codeSecret: string;
  /** The English (fallback) template, `VERIFICATION_MESSAGE_TEMPLATE`. */
  readonly messageTemplate: string;
  readonly templates: SmsTemplateSettings;
}

/**
 * Derives the code of this send (the same on every re-run of the activity, a new one for the next
 * send number), texts it in the instance's locale, and returns only its HMAC: the activity result
 * is stored in history, the code must not be.
 */
export function createSendSmsChallenge(deps: SendSmsChallengeDeps) {
  return async function sendSmsChallenge(
    input: unknown,
    context: InvocationContext,
  ): Promise<string> {
    const { phoneNumber, instanceId, codeLength, sendNumber, locale } = readInput(input);
    const code = deriveCode(deps.codeSecret, instanceId, sendNumber, codeLength);
    const { template } = templateFor(locale, deps.templates, deps.messageTemplate);
    const receipt = await deps.sms.send({ to: phoneNumber, body: renderMessage(template, code) });
    context.log(
      `SMS challenge ${receipt.sid} (send ${sendNumber}) sent to ${maskPhoneNumber(phoneNumber)} for ${instanceId}`,
    );
    return hashCode(deps.codeSecret, instanceId, code);
  };
}

function readInput(raw: unknown): SmsChallengeInput {
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
  if (!isCodeLength(codeLength)) {
    throw new TypeError(
      `SendSmsChallenge input.codeLength must be an integer in ${CODE_LENGTH_RANGE.min}..${CODE_LENGTH_RANGE.max}`,
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
    codeLength,
    sendNumber,
    ...(locale === undefined ? {} : { locale }),
  };
}
