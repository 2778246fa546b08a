import './helpers/quiet-test-mode';
import { createVerificationCrypto } from '../../src/verification/crypto';
import { createSmsVerificationOrchestrator } from '../../src/verification/orchestrator';
import {
  getVerificationRules,
  recordVerifiedNumber,
  sendSmsChallenge,
} from '../../src/verification/register';
import { publishVerificationEvents } from '../../src/verification/events/register';
import { hashCode } from '../../src/verification/crypto/code-hash';
import { sealAnswer } from '../../src/verification/crypto/sealed-answer';
import {
  CURRENT_INPUT_VERSION,
  type VerificationInput,
  type VerificationRules,
} from '../../src/verification/rules';
import { ACTIVITY, EVENT, ORCHESTRATION } from '../../src/verification/names';
import { TEST_SECRET } from './helpers/env';
import { ActionType, OrchestrationHarness, type Action } from './helpers/replay';
import { EventType } from '@local/durable-runtime/testing';

const INSTANCE = '7b3c9f2e8a1d4c6b9e0f1a2b3c4d5e6f';
const CODE = '002168';
const T0 = new Date('2026-11-22T10:00:00.000Z');
const INPUT: VerificationInput = { phoneNumber: '+14255550100', version: CURRENT_INPUT_VERSION };
/** What instances started by a release before `version` 2 hold as their input. */
const LEGACY_INPUT = { phoneNumber: '+14255550100' };
const RULES: VerificationRules = { timeoutSeconds: 90, maxAttempts: 4, codeLength: 6 };
/** Task ids in scheduling order: the first SMS (which records the rules), then the first wait's timer. */
const SEND_TASK = 0;
/** A legacy instance's task ids: the rules activity, the first SMS, the deadline timer. */
const LEGACY_RULES_TASK = 0;
const LEGACY_SEND_TASK = 1;

/**
 * The orchestrator as register.ts builds it, with the registered activities (they schedule tasks by
 * name; the harness completes them) and the judge of the test secret instead of the settings.
 */
const orchestrator = createSmsVerificationOrchestrator({
  getVerificationRules: () => getVerificationRules(null),
  sendSmsChallenge,
  judgeAnswer: createVerificationCrypto(TEST_SECRET).judgeAnswer,
  publishEvents: publishVerificationEvents,
  recordVerified: recordVerifiedNumber,
});

function harness(input: unknown = INPUT): OrchestrationHarness {
  return new OrchestrationHarness(
    orchestrator,
    ORCHESTRATION.SmsPhoneVerification,
    INSTANCE,
    input,
    T0,
  );
}

/** What the first SendSmsChallenge returns: the hash of its code and the rules it read. */
const firstSend = (rules: unknown, code = CODE) => ({
  challengeHash: hashCode(TEST_SECRET, INSTANCE, code),
  rules,
});

/** Starts the instance and completes the first SMS activity (with the rules) 250 ms later. */
async function challenged(
  rules: VerificationRules = RULES,
  code = CODE,
  input: unknown = INPUT,
): Promise<OrchestrationHarness> {
  const h = harness(input);
  await h.start();
  await h.completeTask(SEND_TASK, firstSend(rules, code), 250);
  return h;
}

/** The id of the latest timer for `fireAt`, or of the latest activity: each race has timers of its own. */
const latestTimer = (h: OrchestrationHarness, fireAt: string): number =>
  Math.max(
    ...h.history.flatMap((e) =>
      e.EventType === EventType.TimerCreated && new Date(e.FireAt).toISOString() === fireAt
        ? [e.EventId]
        : [],
    ),
  );
const latestActivity = (h: OrchestrationHarness): number =>
  Math.max(
    ...h.history.flatMap((e) => (e.EventType === EventType.TaskScheduled ? [e.EventId] : [])),
  );

const timers = (h: OrchestrationHarness): Action[] =>
  h.actions.filter((a) => a.actionType === ActionType.CreateTimer);

/**
 * The id the extension gave the latest scheduled task of a kind: ids go by every activity and
 * timer action in call order (each wait for an answer lists a fresh deadline timer).
 */
function latestId(h: OrchestrationHarness, kind: 'timer' | 'activity'): number {
  const scheduling = h.actions.filter(
    (a) => a.actionType === ActionType.CallActivity || a.actionType === ActionType.CreateTimer,
  );
  const type = kind === 'timer' ? ActionType.CreateTimer : ActionType.CallActivity;
  return scheduling.map((a) => a.actionType).lastIndexOf(type);
}

/** What the app's link raises: the code sealed with its receipt time (default: the event's own time). */
const sealed = (code: string, receivedAt: Date, instanceId = INSTANCE) =>
  sealAnswer(TEST_SECRET, instanceId, { code, receivedAt });

async function answer(h: OrchestrationHarness, code: string, afterMs = 5_000, receivedAt?: Date) {
  const at = receivedAt ?? new Date(h.time.getTime() + afterMs);
  return h.raiseEvent(EVENT.SmsChallengeResponse, sealed(code, at), afterMs);
}

const expiresAt = new Date(T0.getTime() + 250 + 90_000).toISOString();
const status = (state: string, attemptsRemaining: number) => ({
  state,
  attemptsRemaining,
  expiresAt,
  codeLength: 6,
  // Each send with its channel and provider; checked in the channel tests.
  deliveries: expect.any(Array) as unknown,
});

/** The SendSmsChallenge call of the `sendNumber`-th send by `channel`, with the recorded code length. */
function sendAction(sendNumber: number, channel: string): Record<string, unknown> {
  return {
    actionType: ActionType.CallActivity,
    functionName: ACTIVITY.SendSmsChallenge,
    input: {
      phoneNumber: '+14255550100',
      instanceId: INSTANCE,
      codeLength: 6,
      sendNumber,
      channel,
    },
  };
}

describe('SmsPhoneVerification orchestrator (replayed by durable-functions)', () => {
  it('first calls SendSmsChallenge with send number 1 and no code length: it reads the rules', async () => {
    const h = harness();
    await h.start();
    expect(h.actions).toEqual([
      {
        actionType: ActionType.CallActivity,
        functionName: ACTIVITY.SendSmsChallenge,
        input: { phoneNumber: '+14255550100', instanceId: INSTANCE, sendNumber: 1, channel: 'sms' },
      },
    ]);
  });

  it('passes the locale of its input to the SMS activity', async () => {
    const h = harness({ ...INPUT, locale: 'ko' });
    await h.start();
    expect(h.actions.at(-1)).toMatchObject({ input: { locale: 'ko' } });
  });

  it('then races one 90 s timer, started when the SMS is out, against the answer', async () => {
    const h = await challenged();
    expect(h.last.isDone).toBe(false);
    expect(timers(h)).toEqual([
      expect.objectContaining({ fireAt: new Date(expiresAt), isCanceled: false }),
    ]);
    expect(h.actions).toContainEqual(
      expect.objectContaining({
        actionType: ActionType.WaitForExternalEvent,
        externalEventName: EVENT.SmsChallengeResponse,
      }),
    );
    expect(h.last.customStatus).toEqual(status('awaiting_code', 4));
  });

  it('returns true for a correct first code and cancels the timer', async () => {
    const h = await challenged();
    const state = await answer(h, CODE);
    expect(state.output).toBe(true);
    expect(state.customStatus).toEqual(status('verified', 3));
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('accepts a wrong code followed by the right one', async () => {
    const h = await challenged();
    const afterWrong = await answer(h, '999999');
    expect(afterWrong.customStatus).toEqual(status('awaiting_code', 3));
    const state = await answer(h, CODE);
    expect(state.output).toBe(true);
    expect(state.customStatus).toEqual(status('verified', 2));
  });

  it('returns false after four wrong codes, cancels the timer and ignores a fifth', async () => {
    const h = await challenged();
    for (const wrong of ['000001', '000002', '000003']) {
      expect((await answer(h, wrong)).isDone).toBe(false);
    }
    const state = await answer(h, '000004');
    expect(state.output).toBe(false);
    expect(state.customStatus).toEqual(status('too_many_attempts', 0));
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('returns false when the timer fires first, without cancelling the fired timer', async () => {
    const h = await challenged();
    await answer(h, '123123', 10_000);
    // The first race's deadline timer lost to the answer and was canceled; the second race's fires.
    const state = await h.fireTimer(latestTimer(h, expiresAt));
    expect(state.output).toBe(false);
    expect(state.customStatus).toEqual(status('expired', 3));
    expect(timers(h).map((t) => t.isCanceled)).toEqual([true, false]);
  });

  it('regression (deadline by arrival): a correct code received 1 s before the deadline counts, however late its episode runs', async () => {
    const h = await challenged();
    const received = new Date(Date.parse(expiresAt) - 1000);
    // The host crashed after the 202; the event is processed 30 s after the deadline.
    const state = await answer(h, CODE, 90_250 + 30_000, received);
    expect(state.output).toBe(true);
    expect(state.customStatus).toMatchObject({ state: 'verified' });
  });

  it('a correct code received at or after the deadline is expired, even before the timer is delivered', async () => {
    const h = await challenged();
    const state = await answer(h, CODE, 1_000, new Date(expiresAt));
    expect(state.output).toBe(false);
    expect(state.customStatus).toMatchObject({ state: 'expired' });
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('counts raw codes (raised with a host key, unsealed) and junk as failed attempts, never as a match', async () => {
    const h = await challenged({ ...RULES, maxAttempts: 3 });
    await h.raiseEvent(EVENT.SmsChallengeResponse, CODE);
    await h.raiseEvent(EVENT.SmsChallengeResponse, 2168);
    const state = await h.raiseEvent(EVENT.SmsChallengeResponse, null);
    expect(state.output).toBe(false);
    expect(state.customStatus).toMatchObject({ state: 'too_many_attempts' });
  });

  it('counts a code sealed for another instance as a failed attempt', async () => {
    const h = await challenged();
    const elsewhere = await h.raiseEvent(
      EVENT.SmsChallengeResponse,
      sealed(CODE, new Date(h.time.getTime() + 1000), 'another-instance'),
    );
    expect(elsewhere.customStatus).toMatchObject({ state: 'awaiting_code', attemptsRemaining: 3 });
    expect((await answer(h, CODE)).output).toBe(true);
  });

  it('does not verify when the challenge hash from history is raised back, in any shape', async () => {
    const h = await challenged();
    const hash = hashCode(TEST_SECRET, INSTANCE, CODE);
    for (const replay of [hash, { sealedAnswer: hash }, { sealedCode: hash }]) {
      expect((await h.raiseEvent(EVENT.SmsChallengeResponse, replay)).output).not.toBe(true);
    }
    expect(h.last.customStatus).toMatchObject({ attemptsRemaining: 1 });
  });

  it('never puts the code into actions, output, custom status or history', async () => {
    const code = '583920';
    const h = await challenged(RULES, code);
    await answer(h, '000000');
    await answer(h, code);
    expect(h.last.output).toBe(true);
    expect(JSON.stringify(h.states)).not.toContain(code);
    expect(JSON.stringify(h.history)).not.toContain(code);
  });

  it('regression (rules from settings): rules in the input are ignored', async () => {
    const h = await challenged(RULES, CODE, {
      ...INPUT,
      maxAttempts: 10_000,
      codeLength: 4,
      timeoutSeconds: 3600,
    });
    expect(timers(h)[0]!.fireAt).toEqual(new Date(expiresAt));
    for (const wrong of ['000001', '000002', '000003']) await answer(h, wrong);
    const state = await answer(h, '000004');
    expect(state.customStatus).toEqual(status('too_many_attempts', 0));
  });

  it('regression (rules from settings): out-of-range recorded rules fail the instance, with no timer', async () => {
    for (const bad of [
      { ...RULES, maxAttempts: 10_000 },
      { ...RULES, codeLength: 3 },
      { ...RULES, timeoutSeconds: 0 },
      { maxAttempts: 4 },
      null,
    ]) {
      const h = harness();
      await h.start();
      const state = await h.completeTask(SEND_TASK, firstSend(bad), 0);
      expect(state.error).toContain('outside the allowed ranges');
      expect(timers(h)).toEqual([]);
    }
  });

  it('fails the instance when the first send returns no hash or no object', async () => {
    for (const [result, message] of [
      [{ rules: RULES }, 'no challenge hash'],
      ['a-bare-hash', 'returned no rules'],
    ] as const) {
      const h = harness();
      await h.start();
      const state = await h.completeTask(SEND_TASK, result, 0);
      expect(state.error).toContain(message);
    }
  });

  it('cancel ends with false and "canceled", cancelling the timer', async () => {
    const h = await challenged();
    await answer(h, '999999');
    const state = await h.raiseEvent(EVENT.CancelRequested, null);
    expect(state.output).toBe(false);
    expect(state.customStatus).toEqual(status('canceled', 3));
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('resend sends the next send number; the old code stops matching, attempts and deadline stay', async () => {
    const h = await challenged();
    await answer(h, '999999');
    await h.raiseEvent(EVENT.ResendRequested, null);
    expect(h.actions.at(-1)).toEqual(sendAction(2, 'sms'));
    const next = '771234';
    const resent = await h.completeTask(latestActivity(h), hashCode(TEST_SECRET, INSTANCE, next));
    expect(resent.customStatus).toEqual(status('awaiting_code', 3));
    // Still the one deadline (a fresh timer for it per wait).
    for (const timer of timers(h)) expect(timer.fireAt).toEqual(new Date(expiresAt));
    const old = await answer(h, CODE);
    expect(old.customStatus).toEqual(status('awaiting_code', 2));
    const state = await answer(h, next);
    expect(state.output).toBe(true);
  });

  it('falls back after the wait: the same code (send number) by the next channel, attempts shared', async () => {
    const input = { ...INPUT, fallback: [{ channel: 'call', afterSeconds: 30 }] };
    const h = await challenged(RULES, CODE, input);
    const fallbackAt = new Date(T0.getTime() + 250 + 30_000);
    expect(timers(h).map((t) => t.fireAt)).toEqual([new Date(expiresAt), fallbackAt]);
    expect(h.last.customStatus).toMatchObject({ deliveries: [{ channel: 'sms' }] });
    expect(h.last.customStatus).toMatchObject({
      nextFallback: { channel: 'call', at: fallbackAt.toISOString() },
    });
    await answer(h, '999999');
    await h.fireTimer(latestTimer(h, fallbackAt.toISOString()));
    expect(h.actions.at(-1)).toEqual(sendAction(1, 'call'));
    const called = await h.completeTask(latestActivity(h), {
      challengeHash: hashCode(TEST_SECRET, INSTANCE, CODE),
      delivery: { channel: 'call', provider: 'twilio-voice', failedOver: [] },
    });
    expect(called.customStatus).toEqual({
      ...status('awaiting_code', 3),
      deliveries: [
        {
          channel: 'sms',
          provider: 'unknown',
          sendNumber: 1,
          at: new Date(T0.getTime() + 250).toISOString(),
        },
        {
          channel: 'call',
          provider: 'twilio-voice',
          sendNumber: 1,
          at: expect.any(String) as unknown,
        },
      ],
    });
    const state = await answer(h, CODE);
    expect(state.output).toBe(true);
    expect(state.customStatus).toMatchObject({ state: 'verified', attemptsRemaining: 2 });
    for (const timer of timers(h)) {
      expect(timer.isCanceled === true || (timer.fireAt ?? h.time) <= h.time).toBe(true);
    }
  });

  it('arms no fallback that would fire after the deadline, and cancels a pending one at the end', async () => {
    const late = await challenged(RULES, CODE, {
      ...INPUT,
      fallback: [{ channel: 'call', afterSeconds: 120 }],
    });
    expect(timers(late)).toHaveLength(1);
    const h = await challenged(RULES, CODE, {
      ...INPUT,
      fallback: [{ channel: 'call', afterSeconds: 30 }],
    });
    const state = await answer(h, CODE);
    expect(state.output).toBe(true);
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('fails the instance when the SMS cannot be sent, before any timer exists', async () => {
    const h = harness();
    await h.start();
    const state = await h.failTask(
      SEND_TASK,
      "Activity function 'SendSmsChallenge' failed: Twilio rejected the message (Twilio error 21211).",
    );
    expect(state.error).toContain('Twilio rejected the message');
    expect(timers(h)).toEqual([]);
  });

  it('fails fast on an input that the starter would never produce', async () => {
    const state = await harness('+14255550100').start();
    expect(state.error).toContain('input must be an object');
    const unknownVersion = await harness({ ...INPUT, version: 3 }).start();
    expect(unknownVersion.error).toContain('input version must be 2 or absent');
  });
});

describe('SmsPhoneVerification instances started before the first send returned the rules', () => {
  it('replay their history: the rules activity, then SendSmsChallenge with the recorded code length', async () => {
    const h = harness(LEGACY_INPUT);
    await h.start();
    expect(h.actions).toEqual([
      {
        actionType: ActionType.CallActivity,
        functionName: ACTIVITY.GetVerificationRules,
        input: null,
      },
    ]);
    await h.completeTask(LEGACY_RULES_TASK, RULES, 0);
    expect(h.actions.at(-1)).toEqual(sendAction(1, 'sms'));
    await h.completeTask(LEGACY_SEND_TASK, hashCode(TEST_SECRET, INSTANCE, CODE), 250);
    expect(h.last.customStatus).toEqual(status('awaiting_code', 4));
    const state = await answer(h, CODE);
    expect(state.output).toBe(true);
  });

  it('fail on out-of-range recorded rules before any SMS', async () => {
    const h = harness(LEGACY_INPUT);
    await h.start();
    const state = await h.completeTask(LEGACY_RULES_TASK, { ...RULES, codeLength: 3 }, 0);
    expect(state.error).toContain('outside the allowed ranges');
    expect(h.actions.some((a) => a.functionName === ACTIVITY.SendSmsChallenge)).toBe(false);
  });
});

describe('lifecycle reports (issue 22): instances whose input reportsLifecycle', () => {
  const LIFECYCLE_INPUT = { ...INPUT, reportsLifecycle: true };
  /** Task ids: the first SMS, the deadline timer, then the publication scheduled with the wait. */
  /** Published on its own, right after the first send and before the first wait. */
  const PUBLISH_TASK = 1;
  const activityCalls = (h: OrchestrationHarness, name: string) =>
    h.actions.filter((a) => a.actionType === ActionType.CallActivity && a.functionName === name);

  it('publishes created and code_sent on their own, never raced beside the waits for answers', async () => {
    const h = await challenged(RULES, CODE, LIFECYCLE_INPUT);
    // Nothing waits for an answer yet: a task listed again in a later Task.any would be scheduled again.
    expect(h.actions.filter((a) => a.actionType === ActionType.CreateTimer)).toHaveLength(0);
    const [publish] = activityCalls(h, 'PublishVerificationEvents');
    expect(publish?.input).toEqual({
      instanceId: INSTANCE,
      phoneNumber: '+14255550100',
      events: [
        { type: 'verification.created' },
        { type: 'verification.code_sent', channel: 'sms', sendNumber: 1 },
      ],
    });
    await h.completeTask(PUBLISH_TASK, true);
    const afterWrong = await answer(h, '999999');
    expect(afterWrong.customStatus).toEqual(status('awaiting_code', 3));
    expect(h.last.isDone).toBe(false);
    // Still published once: the next race lists only the waits and its own timer.
    expect(activityCalls(h, 'PublishVerificationEvents')).toHaveLength(1);
  });

  it('on approval records the number for the guard, then publishes approved, then returns true', async () => {
    const h = await challenged(RULES, CODE, LIFECYCLE_INPUT);
    await h.completeTask(PUBLISH_TASK, true);
    const afterAnswer = await answer(h, CODE);
    expect(afterAnswer.isDone).toBe(false);
    expect(afterAnswer.customStatus).toEqual(status('verified', 3));
    expect(activityCalls(h, 'RecordVerifiedNumber').at(-1)?.input).toEqual({
      phoneNumber: '+14255550100',
    });
    await h.completeTask(latestId(h, 'activity'), null);
    expect(activityCalls(h, 'PublishVerificationEvents').at(-1)?.input).toMatchObject({
      events: [{ type: 'verification.approved' }],
    });
    const done = await h.completeTask(latestId(h, 'activity'), true);
    expect(done.output).toBe(true);
  });

  it('stops publishing once events answer that they are off', async () => {
    const h = await challenged(RULES, CODE, LIFECYCLE_INPUT);
    await h.completeTask(PUBLISH_TASK, false);
    const expired = await h.fireTimer(latestId(h, 'timer'));
    expect(expired.isDone).toBe(true);
    expect(expired.output).toBe(false);
    expect(activityCalls(h, 'PublishVerificationEvents')).toHaveLength(1);
  });

  it('a failed publication does not fail the verification', async () => {
    const h = await challenged(RULES, CODE, LIFECYCLE_INPUT);
    await h.failTask(PUBLISH_TASK, 'storage down');
    await h.fireTimer(latestId(h, 'timer'));
    const done = await h.failTask(latestId(h, 'activity'), 'storage down');
    expect(done.isDone).toBe(true);
    expect(done.error).toBeUndefined();
    expect(done.customStatus).toEqual(status('expired', 4));
  });

  it('publishes failed when the SMS cannot be sent, then fails the instance', async () => {
    const h = harness(LIFECYCLE_INPUT);
    await h.start();
    const afterFailure = await h.failTask(SEND_TASK, 'Twilio rejected the message');
    expect(afterFailure.isDone).toBe(false);
    expect(activityCalls(h, 'PublishVerificationEvents').at(-1)?.input).toMatchObject({
      events: [{ type: 'verification.failed' }],
    });
    const state = await h.completeTask(1, true);
    expect(state.error).toContain('Twilio rejected the message');
  });
});
