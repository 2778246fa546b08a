import * as df from 'durable-functions';
import { createSendSmsChallenge } from './activities/send-sms-challenge';
import { getSmsSender, getVerificationConfig, verificationCodeMatches } from './composition';
import { ACTIVITY, ORCHESTRATION } from './names';
import { createSmsVerificationOrchestrator } from './orchestrations/sms-verification';

/**
 * Registers the orchestrator and its activity. Loaded from index.ts, because the host's `main`
 * glob only picks up index.js and functions/*.js.
 */
export const sendSmsChallenge = df.app.activity(ACTIVITY.SendSmsChallenge, {
  handler: (input: unknown, context) => {
    const verification = getVerificationConfig();
    return createSendSmsChallenge({
      sms: getSmsSender(),
      codeSecret: verification.codeSecret,
      messageTemplate: verification.messageTemplate,
    })(input, context);
  },
});

/** Exported so tests can replay exactly what is registered. */
export const smsPhoneVerificationHandler = createSmsVerificationOrchestrator({
  sendSmsChallenge,
  codeMatches: verificationCodeMatches,
});

export const smsPhoneVerification = df.app.orchestration(
  ORCHESTRATION.SmsPhoneVerification,
  smsPhoneVerificationHandler,
);
