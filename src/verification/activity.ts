import type { InvocationContext } from '@azure/functions';
import { generateCode, hashCode, renderMessage, type RandomInt } from './codes';
import { CODE_LENGTH_RANGE, E164_PATTERN, isCodeLength, type SmsChallengeInput } from './rules';
import { maskPhoneNumber, type SmsSender } from './sms-sender';

export interface SendSmsChallengeDeps {
  readonly sms: SmsSender;
  readonly codeSecret: string;
  readonly messageTemplate: string;
  /** Defaults to `crypto.randomInt`. */
  readonly random?: RandomInt;
}

/**
 * Draws the code (randomness belongs in an activity, never in the orchestrator), texts it, and
 * returns only its HMAC: the activity result is stored in history, the code must not be.
 */
export function createSendSmsChallenge(deps: SendSmsChallengeDeps) {
  return async function sendSmsChallenge(
    input: unknown,
    context: InvocationContext,
  ): Promise<string> {
    const { phoneNumber, instanceId, codeLength } = readInput(input);
    const code = generateCode(codeLength, deps.random);
    const receipt = await deps.sms.send({
      to: phoneNumber,
      body: renderMessage(deps.messageTemplate, code),
    });
    context.log(
      `SMS challenge ${receipt.sid} sent to ${maskPhoneNumber(phoneNumber)} for ${instanceId}`,
    );
    return hashCode(deps.codeSecret, instanceId, code);
  };
}

function readInput(raw: unknown): SmsChallengeInput {
  if (typeof raw !== 'object' || raw === null) {
    throw new TypeError('SendSmsChallenge input must be an object');
  }
  const { phoneNumber, instanceId, codeLength } = raw as Partial<
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
  return { phoneNumber, instanceId, codeLength };
}
