/**
 * Recipients in history only sealed: the crypto, the activity that opens them, and the orchestrator that
 * passes them on without opening them, for the input shape the starters write now and for the plain shape
 * of instances started before.
 */
import './helpers/quiet-test-mode';
import { InvocationContext } from '@azure/functions';
import type { Delivery, DeliveryRequest } from '../../src/delivery/channels';
import { createSendSmsChallenge } from '../../src/verification/activity';
import { createVerificationCrypto } from '../../src/verification/crypto';
import { hashCode } from '../../src/verification/crypto/code-hash';
import { sealAnswer } from '../../src/verification/crypto/sealed-answer';
import { openRecipient, sealRecipient } from '../../src/verification/crypto/sealed-recipient';
import { ACTIVITY, EVENT, ORCHESTRATION } from '../../src/verification/names';
import { createSmsVerificationOrchestrator } from '../../src/verification/orchestrator';
import { sealedRecipient } from '../../src/verification/recipient';
import { recordVerifiedNumber, sendSmsChallenge } from '../../src/verification/register';
import { publishVerificationEvents } from '../../src/verification/events/register';
import {
  createResendVerificationCode,
  createVerificationStatus,
} from '../../src/verification/link-handlers';
import { withErrors } from '../../src/http/respond';
import { verifyLinkToken } from '../../src/verification/crypto/link-tokens';
import { buildVerificationLinks, type LinkPurpose } from '../../src/verification/links';
import { createSendVerifyCode } from '../../src/verify/activity';
import type { CodeMessage } from '../../src/verify/channels';
import { sealTo } from '../../src/verify/recipient';
import { createVerifyOrchestrator } from '../../src/verify/orchestrator';
import { VERIFY_ORCHESTRATION } from '../../src/verify/names';
import { sendVerifyCode } from '../../src/verify/register';
import { readVerifyInput } from '../../src/verify/resources';
import { TEST_SECRET } from './helpers/env';
import { FakeDurableClient, bodyOf, invocation, request } from './helpers/fakes';
import { ActionType, OrchestrationHarness } from './helpers/replay';
import { maskPhoneNumber } from '../../src/redact';

const INSTANCE = '5e2d8c1b7a6f4e3d2c1b0a9f8e7d6c5b';
const PHONE = '+14255550100';
const EMAIL = 'ada.lovelace@example.com';
const RULES = { timeoutSeconds: 90, maxAttempts: 4, codeLength: 6 };
const crypto = createVerificationCrypto(TEST_SECRET);
/** What the starters write now. */
const SEALED_INPUT = {
  ...sealedRecipient(crypto.sealRecipient, INSTANCE, { phoneNumber: PHONE, email: EMAIL }),
  version: 2,
  channel: 'email',
  reportsLifecycle: true,
};
/** What the previous release's starters wrote: instances in flight during the upgrade hold it. */
const PLAIN_INPUT = {
  phoneNumber: PHONE,
  email: EMAIL,
  version: 2,
  channel: 'email',
  reportsLifecycle: true,
};

describe('sealed recipients (AES-256-GCM, own key label, instance id and field as additional data)', () => {
  it('open only for the same secret, instance and field; a fresh IV each time', () => {
    const sealed = sealRecipient(TEST_SECRET, INSTANCE, 'phoneNumber', PHONE);
    expect(sealed).toMatch(/^[\w-]{38,}$/);
    expect(sealed).not.toContain('4255550100');
    expect(sealRecipient(TEST_SECRET, INSTANCE, 'phoneNumber', PHONE)).not.toBe(sealed);
    expect(openRecipient(TEST_SECRET, INSTANCE, 'phoneNumber', sealed)).toBe(PHONE);
    expect(openRecipient(TEST_SECRET, 'another-instance', 'phoneNumber', sealed)).toBeUndefined();
    expect(openRecipient(TEST_SECRET, INSTANCE, 'email', sealed)).toBeUndefined();
    expect(
      openRecipient(`${TEST_SECRET}-rotated`, INSTANCE, 'phoneNumber', sealed),
    ).toBeUndefined();
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(openRecipient(TEST_SECRET, INSTANCE, 'phoneNumber', tampered)).toBeUndefined();
    for (const junk of [undefined, 42, '', 'not base64!', PHONE]) {
      expect(openRecipient(TEST_SECRET, INSTANCE, 'phoneNumber', junk)).toBeUndefined();
    }
  });

  it('use a key of their own: a sealed answer of the same instance does not open as a recipient', () => {
    const answer = sealAnswer(TEST_SECRET, INSTANCE, { code: '123456', receivedAt: new Date(0) });
    expect(
      openRecipient(TEST_SECRET, INSTANCE, 'phoneNumber', answer.sealedAnswer),
    ).toBeUndefined();
  });

  it('the starter input holds the number sealed and masked, the address sealed, neither plain', () => {
    expect(SEALED_INPUT.maskedPhoneNumber).toBe('+1******0100');
    const text = JSON.stringify(SEALED_INPUT);
    expect(text).not.toContain('4255550100');
    expect(text).not.toContain('lovelace');
  });
});

describe('SendSmsChallenge opens the recipient of its own instance only', () => {
  const requests: DeliveryRequest[] = [];
  const delivery: Delivery = {
    enabled: () => ['sms', 'email'],
    deliver: (request) => {
      requests.push(request);
      return Promise.resolve({ channel: request.channel, provider: 'acs-email', failedOver: [] });
    },
  };
  const activity = createSendSmsChallenge({
    rules: () => RULES,
    delivery: () => delivery,
    crypto,
    testCodeFor: () => undefined,
  });
  const context = () => new InvocationContext({ functionName: ACTIVITY.SendSmsChallenge });
  const send = (input: object) => ({ ...input, instanceId: INSTANCE, sendNumber: 1 });

  beforeEach(() => requests.splice(0));

  it('sends to the opened address (email) or number (sms), the same as a plain input does', async () => {
    const { sealedPhoneNumber, sealedEmail } = SEALED_INPUT;
    await activity(send({ sealedPhoneNumber, sealedEmail, channel: 'email' }), context());
    await activity(send({ sealedPhoneNumber, channel: 'sms' }), context());
    await activity(send({ phoneNumber: PHONE, email: EMAIL, channel: 'email' }), context());
    expect(requests.map((r) => [r.channel, r.to])).toEqual([
      ['email', EMAIL],
      ['sms', PHONE],
      ['email', EMAIL],
    ]);
  });

  it('sends nothing for a recipient sealed to another instance', async () => {
    const elsewhere = sealRecipient(TEST_SECRET, 'another-instance', 'phoneNumber', PHONE);
    await expect(activity(send({ sealedPhoneNumber: elsewhere }), context())).rejects.toThrow(
      'no E.164 number',
    );
    const email = sealRecipient(TEST_SECRET, 'another-instance', 'email', EMAIL);
    const { sealedPhoneNumber } = SEALED_INPUT;
    await expect(
      activity(send({ sealedPhoneNumber, sealedEmail: email, channel: 'email' }), context()),
    ).rejects.toThrow('no email address');
    expect(requests).toEqual([]);
  });
});

describe('SmsPhoneVerification passes the recipient on as its input holds it', () => {
  const orchestrator = createSmsVerificationOrchestrator({
    getVerificationRules: () => {
      throw new Error('a version 2 input never asks for the rules');
    },
    sendSmsChallenge,
    judgeAnswer: crypto.judgeAnswer,
    publishEvents: publishVerificationEvents,
    recordVerified: recordVerifiedNumber,
  });
  const CODE = '002168';
  const T0 = new Date('2026-11-22T10:00:00.000Z');

  /** Runs a verification to approval: first send, publication, right answer, approval record, publication. */
  async function approved(input: object): Promise<OrchestrationHarness> {
    const h = new OrchestrationHarness(
      orchestrator,
      ORCHESTRATION.SmsPhoneVerification,
      INSTANCE,
      input,
      T0,
    );
    await h.start();
    await h.completeTask(0, { challengeHash: hashCode(TEST_SECRET, INSTANCE, CODE), rules: RULES });
    await h.completeTask(1, true);
    const answer = sealAnswer(TEST_SECRET, INSTANCE, { code: CODE, receivedAt: h.time });
    await h.raiseEvent(EVENT.SmsChallengeResponse, answer, 0);
    await h.completeTask(lastActivity(h), null);
    const done = await h.completeTask(lastActivity(h), true);
    expect(done.output).toBe(true);
    return h;
  }
  const lastActivity = (h: OrchestrationHarness): number =>
    h.actions
      .filter(
        (a) => a.actionType === ActionType.CallActivity || a.actionType === ActionType.CreateTimer,
      )
      .map((a) => a.actionType)
      .lastIndexOf(ActionType.CallActivity);
  const inputOf = (h: OrchestrationHarness, name: string): unknown =>
    h.actions.find((a) => a.functionName === name)?.input;

  it('sealed: every activity gets the sealed values, no action holds the number or the address', async () => {
    const h = await approved(SEALED_INPUT);
    const { sealedPhoneNumber, sealedEmail } = SEALED_INPUT;
    expect(inputOf(h, ACTIVITY.SendSmsChallenge)).toEqual({
      sealedPhoneNumber,
      sealedEmail,
      instanceId: INSTANCE,
      sendNumber: 1,
      channel: 'email',
    });
    expect(inputOf(h, ACTIVITY.RecordVerifiedNumber)).toEqual({
      instanceId: INSTANCE,
      sealedPhoneNumber,
    });
    expect(inputOf(h, 'PublishVerificationEvents')).toMatchObject({
      instanceId: INSTANCE,
      sealedPhoneNumber,
    });
    const actions = JSON.stringify(h.actions);
    expect(actions).not.toContain('4255550100');
    expect(actions).not.toContain('lovelace');
  });

  it('plain (an instance started before sealing): still completes, its activities get what they got before', async () => {
    const h = await approved(PLAIN_INPUT);
    expect(inputOf(h, ACTIVITY.SendSmsChallenge)).toEqual({
      phoneNumber: PHONE,
      email: EMAIL,
      instanceId: INSTANCE,
      sendNumber: 1,
      channel: 'email',
    });
    expect(inputOf(h, ACTIVITY.RecordVerifiedNumber)).toEqual({ phoneNumber: PHONE });
    expect(inputOf(h, 'PublishVerificationEvents')).toMatchObject({ phoneNumber: PHONE });
  });

  it('fails fast on an input without any number', async () => {
    const { sealedEmail } = SEALED_INPUT;
    const h = new OrchestrationHarness(
      orchestrator,
      ORCHESTRATION.SmsPhoneVerification,
      INSTANCE,
      { sealedEmail, version: 2 },
      T0,
    );
    expect((await h.start()).error).toContain('must have a phone number');
  });
});

describe('the links that need the number open it from a sealed input', () => {
  const client = new FakeDurableClient();
  client.put(INSTANCE, {
    input: SEALED_INPUT,
    customStatus: {
      state: 'awaiting_code',
      attemptsRemaining: 4,
      expiresAt: '2026-11-22T10:01:30.000Z',
      codeLength: 6,
    },
  });
  const checked: unknown[] = [];
  const deps = {
    getClient: () => client,
    verifyLinkToken: (id: string, purpose: LinkPurpose, token: unknown) =>
      verifyLinkToken(TEST_SECRET, id, purpose, token),
    openRecipient: crypto.openRecipient,
  };
  const links = buildVerificationLinks(
    TEST_SECRET,
    { publicOrigin: new URL('https://verify.example') },
    INSTANCE,
  );
  const linkRequest = (uri: string) =>
    request({
      params: { id: INSTANCE },
      query: { token: new URL(uri).searchParams.get('token')! },
    });

  it('status answers the number masked; resend checks the guard with the opened number', async () => {
    const status = withErrors(createVerificationStatus(deps));
    const answered = await status(linkRequest(links.statusQueryGetUri), invocation());
    expect(((await bodyOf(answered)) as { input: unknown }).input).toBe(maskPhoneNumber(PHONE));
    const resend = withErrors(
      createResendVerificationCode({
        ...deps,
        now: () => new Date('2026-11-22T10:00:30Z'),
        guard: () => ({
          check: (phone: unknown) => {
            checked.push(phone);
            return Promise.resolve({
              e164: PHONE,
              country: 'US' as const,
              type: 'MOBILE' as const,
              degraded: false,
            });
          },
        }),
      }),
    );
    expect((await resend(linkRequest(links.resendPostUri), invocation())).status).toBe(202);
    expect(checked).toEqual([PHONE]);
  });
});

describe('Verify: `To` sealed to the verification sid', () => {
  const SID = `VE${'5e2d8c1b'.repeat(4)}`;
  const TO = '+14255550100';
  const PARAMETERS = {
    serviceSid: `VA${'1'.repeat(32)}`,
    channel: 'sms' as const,
    friendlyName: 'Acme',
    codeLength: 6,
    doNotShareWarning: false,
    lookupEnabled: false,
  };
  const sent: CodeMessage[] = [];
  const sendCode = createSendVerifyCode({
    channels: {
      sms: (message) => {
        sent.push(message);
        return Promise.resolve({ sid: 'SM1' });
      },
    },
    codeSecret: () => TEST_SECRET,
    rules: () => ({ validitySeconds: 600, maxCheckAttempts: 5, maxSendAttempts: 3 }),
  });
  const context = () => new InvocationContext({ functionName: 'SendVerificationCode' });

  it('the input holds it sealed and masked; the activity and the account reader open it', async () => {
    const input = { ...PARAMETERS, ...sealTo(TEST_SECRET, SID, TO) };
    expect(input.maskedTo).toBe('+1******0100');
    expect(JSON.stringify(input)).not.toContain('4255550100');
    const send = { ...PARAMETERS, sealedTo: input.sealedTo, verificationSid: SID, attempt: 2 };
    await sendCode(send, context());
    await sendCode({ ...PARAMETERS, to: TO, verificationSid: SID, attempt: 2 }, context());
    expect(sent.map((m) => m.to)).toEqual([TO, TO]);
    await expect(
      sendCode({ ...send, verificationSid: `VE${'0'.repeat(32)}` }, context()),
    ).rejects.toThrow('cannot be opened');
    const open = (sid: string, stored: object) =>
      sid === SID && 'sealedTo' in stored ? TO : undefined;
    const status = { instanceId: SID, input } as unknown as Parameters<typeof readVerifyInput>[0];
    expect(readVerifyInput(status, open)).toEqual({ ...PARAMETERS, to: TO });
  });

  it('the orchestrator passes the sealed value to the send, and a plain `to` as before', async () => {
    const scheduled: unknown[] = [];
    const orchestrator = createVerifyOrchestrator({
      sendCode: (request) => {
        scheduled.push(request);
        return sendVerifyCode(request);
      },
      judgeAnswer: crypto.judgeAnswer,
    });
    const sealedInput = { ...PARAMETERS, ...sealTo(TEST_SECRET, SID, TO) };
    for (const input of [sealedInput, { ...PARAMETERS, to: TO }]) {
      const h = new OrchestrationHarness(
        orchestrator,
        VERIFY_ORCHESTRATION,
        SID,
        input,
        new Date(0),
      );
      await h.start();
    }
    expect(scheduled).toEqual([
      expect.objectContaining({ sealedTo: sealedInput.sealedTo, verificationSid: SID }),
      expect.objectContaining({ to: TO, verificationSid: SID }),
    ]);
    expect(scheduled[0]).not.toHaveProperty('to');
    expect(JSON.stringify(scheduled[0])).not.toContain('4255550100');
  });
});
