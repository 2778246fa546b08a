import type { InvocationContext } from '@azure/functions';
import { hashCode } from '../verification/crypto/code-hash';
import { deriveCode } from '../verification/crypto/derived-code';
import { openAnswer } from '../verification/crypto/sealed-answer';
import { maskRecipient } from '../redact';
import type { ChannelSenders } from './channels';
import { renderVerifyMessage } from './messages';
import { openTo } from './recipient';
import type { FirstSend, SendVerifyCodeInput, VerifyRules } from './rules';

export interface SendVerifyCodeDeps {
  readonly channels: ChannelSenders;
  readonly codeSecret: () => string;
  readonly rules: () => VerifyRules;
}

/** The additional data a custom code is sealed with: its seal can never pass as a check's answer. */
export function customCodeScope(verificationSid: string): string {
  return `${verificationSid}/custom-code`;
}

/**
 * `SendVerifyCode`: texts the verification's code and returns only its HMAC (history must never
 * hold the code). The code is derived from the verification sid (attempt 1's, every time: a
 * resend texts the same code, and an at-least-once re-run too), or opened from the sealed custom
 * code. The first attempt also returns the rules from the settings, recorded in history.
 */
export function createSendVerifyCode(deps: SendVerifyCodeDeps) {
  return async function sendVerifyCode(
    raw: unknown,
    context: InvocationContext,
  ): Promise<FirstSend | string> {
    const input = raw as SendVerifyCodeInput;
    const secret = deps.codeSecret();
    // Sealed in history (plain in verifications created before): opened for this send only.
    const to = openTo(secret, input.verificationSid, input);
    if (to === undefined) throw new Error('The recipient of this verification cannot be opened');
    const code = codeOf(secret, input);
    const body = renderVerifyMessage({
      locale: input.locale,
      friendlyName: input.friendlyName,
      code,
      doNotShareWarning: input.doNotShareWarning,
      ...(input.amount === undefined ? {} : { amount: input.amount }),
      ...(input.payee === undefined ? {} : { payee: input.payee }),
      ...(input.appHash === undefined ? {} : { appHash: input.appHash }),
    });
    const send = deps.channels[input.channel];
    if (send === undefined) throw new Error(`No sender for the ${input.channel} channel`);
    const receipt = await send({
      to,
      body,
      code,
      locale: input.locale,
      occurrence: input.attempt,
      deduplicate: input.sealedCustomCode === undefined,
    });
    context.log(
      `Verify code ${receipt.sid} (attempt ${input.attempt}) sent to ${maskRecipient(to)} for ${input.verificationSid}`,
    );
    const challengeHash = hashCode(secret, input.verificationSid, code);
    if (input.attempt !== 1) return challengeHash;
    const { validitySeconds, maxCheckAttempts, maxSendAttempts } = deps.rules();
    return { challengeHash, rules: { validitySeconds, maxCheckAttempts, maxSendAttempts } };
  };
}

function codeOf(secret: string, input: SendVerifyCodeInput): string {
  if (input.sealedCustomCode === undefined) {
    return deriveCode(secret, input.verificationSid, 1, input.codeLength);
  }
  const opened = openAnswer(secret, customCodeScope(input.verificationSid), {
    sealedAnswer: input.sealedCustomCode,
  });
  if (opened === undefined)
    throw new Error('The custom code of this verification cannot be opened');
  return opened.code;
}
