import { app } from '@azure/functions';
import * as df from 'durable-functions';
import {
  announceBlockedStart,
  getProofOfWork,
  getSendGuard,
  getSmsSender,
  getVerificationConfig,
  judgeVerificationAnswer,
  sealVerificationAnswer,
  verificationLinks,
  verifyVerificationLink,
} from '../composition';
import { withErrors } from '../http/respond';
import { createGetVerificationRules, createSendSmsChallenge } from './activity';
import { getDurableClient } from './durable-client';
import {
  createCancelVerification,
  createGetVerification,
  createPurgeVerification,
  createRaiseVerificationEvent,
  createResendVerificationCode,
  createSubmitVerificationCode,
  createVerificationStatus,
} from './link-handlers';
import { ACTIVITY, FUNCTION, ORCHESTRATION, RETENTION_SCHEDULE, ROUTE } from './names';
import { createSmsVerificationOrchestrator } from './orchestrator';
import { E164_PATTERN } from './rules';
import { createPurgeExpiredVerifications } from './retention';
import { createHttpStart, createTrustedStart } from './start';
import { createChallengeHandler, createGuardReportHandler } from './guard/handlers';
import { publishVerificationEvents } from './events/register';

/**
 * Registers the verification feature: its orchestrator, its activities, the starters, the
 * per-verification links and the retention timer.
 */

export const getVerificationRules = df.app.activity(ACTIVITY.GetVerificationRules, {
  handler: createGetVerificationRules(getVerificationConfig),
});

export const sendSmsChallenge = df.app.activity(ACTIVITY.SendSmsChallenge, {
  handler: (input: unknown, context) => {
    const verification = getVerificationConfig();
    return createSendSmsChallenge({
      rules: getVerificationConfig,
      sms: getSmsSender(),
      codeSecret: verification.codeSecret,
      messageTemplate: verification.messageTemplate,
      templates: verification.smsTemplates,
    })(input, context);
  },
});

/** Issue 22: an approved number's owner is "recent" for the fraud guard; its prefix converts. */
export const recordVerifiedNumber = df.app.activity(ACTIVITY.RecordVerifiedNumber, {
  handler: async (input: unknown) => {
    const phoneNumber = (input as { phoneNumber?: unknown } | null)?.phoneNumber;
    if (typeof phoneNumber !== 'string' || !E164_PATTERN.test(phoneNumber)) {
      throw new TypeError('RecordVerifiedNumber input.phoneNumber must be an E.164 number');
    }
    await getSendGuard().recordVerified(phoneNumber);
  },
});

/** Exported so tests can replay exactly what is registered. */
export const smsPhoneVerificationHandler = createSmsVerificationOrchestrator({
  getVerificationRules: () => getVerificationRules(null),
  sendSmsChallenge,
  judgeAnswer: judgeVerificationAnswer,
  publishEvents: publishVerificationEvents,
  recordVerified: recordVerifiedNumber,
});

export const smsPhoneVerification = df.app.orchestration(
  ORCHESTRATION.SmsPhoneVerification,
  smsPhoneVerificationHandler,
);

const now = (): Date => new Date();
const links = { getClient: getDurableClient, verifyLinkToken: verifyVerificationLink };
const starter = {
  getClient: getDurableClient,
  guard: getSendGuard,
  links: verificationLinks,
  announceBlocked: announceBlockedStart,
  proofOfWork: getProofOfWork,
};
const answers = {
  ...links,
  now,
  sealAnswer: sealVerificationAnswer,
  configuredCodeLength: () => getVerificationConfig().codeLength,
};

// Anonymous like the official sample: phone verification is the first thing an unknown user does.
// Its answer carries capability links only, never a host key.
app.http(FUNCTION.httpStart, {
  route: ROUTE.httpStart,
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: withErrors(createHttpStart(starter)),
});

// Trusted back ends: a function key gets the Durable management payload (system key).
app.http(FUNCTION.trustedStart, {
  route: ROUTE.trustedStart,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: withErrors(createTrustedStart(starter)),
});

// Issue 22: the proof-of-work challenge (anonymous, as the starter it unlocks) and the guard's report.
app.http(FUNCTION.proofOfWorkChallenge, {
  route: ROUTE.proofOfWorkChallenge,
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: withErrors(createChallengeHandler({ proofOfWork: getProofOfWork })),
});

app.http(FUNCTION.fraudGuardReport, {
  route: ROUTE.fraudGuardReport,
  methods: ['GET'],
  authLevel: 'function',
  handler: withErrors(
    createGuardReportHandler({ report: () => getSendGuard().conversion.report() }),
  ),
});

const linkRoutes = [
  [FUNCTION.verificationStatus, ROUTE.verificationStatus, 'GET', createVerificationStatus(links)],
  [
    FUNCTION.raiseVerificationEvent,
    ROUTE.raiseEvent,
    'POST',
    createRaiseVerificationEvent(answers),
  ],
  [FUNCTION.cancelVerification, ROUTE.cancelVerification, 'POST', createCancelVerification(links)],
  [FUNCTION.purgeVerification, ROUTE.purgeVerification, 'DELETE', createPurgeVerification(links)],
  [
    FUNCTION.resendVerificationCode,
    ROUTE.resendCode,
    'POST',
    createResendVerificationCode({ ...links, now, guard: getSendGuard }),
  ],
  [
    FUNCTION.submitVerificationCode,
    ROUTE.submitVerificationCode,
    'POST',
    createSubmitVerificationCode(answers),
  ],
  [FUNCTION.getVerification, ROUTE.getVerification, 'GET', createGetVerification(links)],
] as const;

// Anonymous: each checks its link's token (one instance, one purpose) before anything else.
for (const [name, route, method, handler] of linkRoutes) {
  app.http(name, {
    route,
    methods: [method],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: withErrors(handler),
  });
}

app.timer(FUNCTION.purgeExpiredVerifications, {
  schedule: RETENTION_SCHEDULE,
  extraInputs: [df.input.durableClient()],
  handler: createPurgeExpiredVerifications({
    getClient: getDurableClient,
    retentionHours: () => getVerificationConfig().retentionHours,
    now,
  }),
});
