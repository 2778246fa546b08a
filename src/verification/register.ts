import { app } from '@azure/functions';
import * as df from 'durable-functions';
import {
  getSmsSender,
  getVerificationConfig,
  sealVerificationCode,
  verificationCodeMatches,
} from '../composition';
import { withErrors } from '../http/respond';
import { createSendSmsChallenge } from './activity';
import { getDurableClient } from './durable-client';
import { createGetVerification } from './get';
import { ACTIVITY, FUNCTION, ORCHESTRATION, ROUTE } from './names';
import { createSmsVerificationOrchestrator } from './orchestrator';
import { createHttpStart } from './start';
import { createSubmitVerificationCode } from './submit-code';

/** Registers the verification feature: its orchestrator, its activity and its three HTTP routes. */

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

// Anonymous like the official sample: phone verification is the first thing an unknown user does.
app.http(FUNCTION.httpStart, {
  route: ROUTE.httpStart,
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: withErrors(
    createHttpStart({ getClient: getDurableClient, verification: getVerificationConfig }),
  ),
});

app.http(FUNCTION.submitVerificationCode, {
  route: ROUTE.submitVerificationCode,
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: withErrors(
    createSubmitVerificationCode({
      getClient: getDurableClient,
      now: () => new Date(),
      sealCode: sealVerificationCode,
    }),
  ),
});

app.http(FUNCTION.getVerification, {
  route: ROUTE.getVerification,
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: withErrors(createGetVerification({ getClient: getDurableClient })),
});
