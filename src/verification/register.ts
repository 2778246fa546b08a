import { app } from '@azure/functions';
import * as df from 'durable-functions';
import {
  announceBlockedStart,
  getDelivery,
  getProofOfWork,
  getSendGuard,
  getVerificationConfig,
  lazy,
  testCodeForNumber,
} from '../composition';
import { withErrors, type Handler } from '../http/respond';
import { createGetVerificationRules, createSendSmsChallenge } from './activity';
import { createVerificationCrypto } from './crypto';
import type { RecipientField } from './crypto/sealed-recipient';
import { getDurableClient } from './durable-client';
import type { LinkPurpose } from './links';
import * as linkHandlers from './link-handlers';
import {
  ACTIVITY,
  ORCHESTRATION,
  RETENTION_FUNCTION,
  RETENTION_SCHEDULE,
  VERIFICATION_FUNCTIONS,
  type VerificationFunctionName,
} from './names';
import { createSmsVerificationOrchestrator } from './orchestrator';
import { createPurgeExpiredVerifications } from './retention';
import { createHttpStart, createTrustedStart } from './start';
import { publishVerificationEvents } from './events/register';
import { createChallengeHandler, createGuardReportHandler } from './guard/handlers';
import { recipientFields } from './rules';
import { openPhoneNumber, type OpenRecipient } from './recipient';

/**
 * Registers the verification feature: its orchestrator, its activities, the starters, the
 * per-verification links and the retention timer.
 */

/**
 * The feature's secret math, built once from the settings on first use (a bad secret is a
 * ConfigError on the endpoints that need it, not a crash at import). Exported for tests.
 */
export const verificationCrypto = lazy(() =>
  createVerificationCrypto(getVerificationConfig().codeSecret),
);

export const getVerificationRules = df.app.activity(ACTIVITY.GetVerificationRules, {
  handler: createGetVerificationRules(getVerificationConfig),
});

export const sendSmsChallenge = df.app.activity(ACTIVITY.SendSmsChallenge, {
  handler: (input: unknown, context) => {
    return createSendSmsChallenge({
      rules: getVerificationConfig,
      delivery: getDelivery,
      crypto: verificationCrypto(),
      testCodeFor: testCodeForNumber,
    })(input, context);
  },
});

/** Issue 22: an approved number's owner is "recent" for the fraud guard; its prefix converts. */
export const recordVerifiedNumber = df.app.activity(ACTIVITY.RecordVerifiedNumber, {
  handler: async (input: unknown) => {
    const phoneNumber = verifiedNumber(input, (...args) =>
      verificationCrypto().openRecipient(...args),
    );
    if (phoneNumber === undefined) {
      throw new TypeError('RecordVerifiedNumber input has no E.164 number of its instance');
    }
    await getSendGuard().recordVerified(phoneNumber);
  },
});

/** The number of `RecordVerifiedNumber`'s input: sealed to its instance, or plain (instances started before). */
function verifiedNumber(input: unknown, open: OpenRecipient): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const { instanceId } = input as { instanceId?: unknown };
  return openPhoneNumber(
    open,
    typeof instanceId === 'string' ? instanceId : '',
    recipientFields(input),
  );
}

export const smsPhoneVerification = df.app.orchestration(
  ORCHESTRATION.SmsPhoneVerification,
  createSmsVerificationOrchestrator({
    getVerificationRules: () => getVerificationRules(null),
    sendSmsChallenge,
    judgeAnswer: (...args) => verificationCrypto().judgeAnswer(...args),
    publishEvents: publishVerificationEvents,
    recordVerified: recordVerifiedNumber,
  }),
);

const now = (): Date => new Date();
const links = {
  getClient: getDurableClient,
  verifyLinkToken: (instanceId: string, purpose: LinkPurpose, token: unknown) =>
    verificationCrypto().verifyLinkToken(instanceId, purpose, token),
  openRecipient: (instanceId: string, field: RecipientField, sealed: unknown) =>
    verificationCrypto().openRecipient(instanceId, field, sealed),
};
const starter = {
  getClient: getDurableClient,
  guard: getSendGuard,
  links: (instanceId: string) =>
    verificationCrypto().links(instanceId, getVerificationConfig().links),
  announceBlocked: announceBlockedStart,
  channels: () => getDelivery().enabled(),
  sealRecipient: (instanceId: string, field: RecipientField, recipient: string) =>
    verificationCrypto().sealRecipient(instanceId, field, recipient),
};
const answers = {
  ...links,
  now,
  sealAnswer: (instanceId: string, code: string, receivedAt: Date) =>
    verificationCrypto().sealAnswer(instanceId, code, receivedAt),
  configuredCodeLength: () => getVerificationConfig().codeLength,
};

const HANDLERS: { readonly [Name in VerificationFunctionName]: Handler } = {
  httpStart: createHttpStart({ ...starter, proofOfWork: getProofOfWork }),
  trustedStart: createTrustedStart({
    ...starter,
    publicOrigin: () => getVerificationConfig().links.publicOrigin,
  }),
  verificationStatus: linkHandlers.createVerificationStatus(links),
  raiseVerificationEvent: linkHandlers.createRaiseVerificationEvent(answers),
  cancelVerification: linkHandlers.createCancelVerification(links),
  purgeVerification: linkHandlers.createPurgeVerification(links),
  resendVerificationCode: linkHandlers.createResendVerificationCode({
    ...links,
    now,
    guard: getSendGuard,
  }),
  submitVerificationCode: linkHandlers.createSubmitVerificationCode(answers),
  getVerification: linkHandlers.createGetVerification(links),
  proofOfWorkChallenge: createChallengeHandler({ proofOfWork: getProofOfWork }),
  fraudGuardReport: createGuardReportHandler({
    report: () => getSendGuard().conversion.report(),
  }),
};

// Anonymous like the official sample: phone verification is the first thing an unknown user does.
for (const name of Object.keys(VERIFICATION_FUNCTIONS) as VerificationFunctionName[]) {
  const { route, method, authLevel } = VERIFICATION_FUNCTIONS[name];
  app.http(name, {
    route,
    methods: [method],
    authLevel,
    extraInputs: [df.input.durableClient()],
    handler: withErrors(HANDLERS[name]),
  });
}

app.timer(RETENTION_FUNCTION, {
  schedule: RETENTION_SCHEDULE,
  extraInputs: [df.input.durableClient()],
  handler: createPurgeExpiredVerifications({
    getClient: getDurableClient,
    retentionHours: () => getVerificationConfig().retentionHours,
    now,
  }),
});
