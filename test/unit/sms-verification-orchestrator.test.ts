import './helpers/quiet-test-mode';
import { resetComposition } from '../../src/composition';
import { smsPhoneVerificationHandler } from '../../src/verification/register';
import { hashCode, sealCode } from '../../src/verification/codes';
import type { VerificationInput } from '../../src/verification/rules';
import { ACTIVITY, EVENT, ORCHESTRATION } from '../../src/verification/names';
import { TEST_SECRET, useEnv, validEnv } from './helpers/env';
import { ActionType, OrchestrationHarness, type Action } from './helpers/replay';

const INSTANCE = '7b3c9f2e8a1d4c6b9e0f1a2b3c4d5e6f';
const CODE = '002168';
const T0 = new Date('2026-11-22T10:00:00.000Z');
const INPUT: VerificationInput = {
  phoneNumber: '+14255550100',
  timeoutSeconds: 90,
  maxAttempts: 4,
  codeLength: 6,
};

let restoreEnv: () => void;
beforeAll(() => {
  restoreEnv = useEnv(validEnv());
  resetComposition();
});
afterAll(() => {
  restoreEnv();
  resetComposition();
});

function harness(input: VerificationInput = INPUT): OrchestrationHarness {
  return new OrchestrationHarness(
    smsPhoneVerificationHandler,
    ORCHESTRATION.SmsPhoneVerification,
    INSTANCE,
    input,
    T0,
  );
}

/** Starts the instance and completes the SMS activity 250 ms later, as the activity would. */
async function challenged(
  input: VerificationInput = INPUT,
  code = CODE,
): Promise<OrchestrationHarness> {
  const h = harness(input);
  await h.start();
  await h.completeTask(0, hashCode(TEST_SECRET, INSTANCE, code), 250);
  return h;
}

const timers = (h: OrchestrationHarness): Action[] =>
  h.actions.filter((a) => a.actionType === ActionType.CreateTimer);

const answer = (h: OrchestrationHarness, value: unknown, afterMs = 5_000) =>
  h.raiseEvent(EVENT.SmsChallengeResponse, value, afterMs);

const expiresAt = new Date(T0.getTime() + 250 + 90_000).toISOString();

describe('SmsPhoneVerification orchestrator (replayed by durable-functions)', () => {
  it('first calls SendSmsChallenge with the number, its own instance id and the code length', async () => {
    const h = harness();
    const state = await h.start();
    expect(state.isDone).toBe(false);
    expect(h.actions).toEqual([
      {
        actionType: ActionType.CallActivity,
        functionName: ACTIVITY.SendSmsChallenge,
        input: { phoneNumber: '+14255550100', instanceId: INSTANCE, codeLength: 6 },
      },
    ]);
  });

  it('then races one 90 s timer, started when the SMS is out, against the answer', async () => {
    const h = await challenged();
    expect(h.last.isDone).toBe(false);
    expect(timers(h)).toEqual([
      expect.objectContaining({ fireAt: new Date(expiresAt), isCanceled: false }),
    ]);
    expect(h.actions.some((a) => a.actionType === ActionType.WhenAny)).toBe(true);
    expect(h.actions).toContainEqual(
      expect.objectContaining({
        actionType: ActionType.WaitForExternalEvent,
        externalEventName: EVENT.SmsChallengeResponse,
      }),
    );
    expect(h.last.customStatus).toEqual({
      state: 'awaiting_code',
      attemptsRemaining: 4,
      expiresAt,
    });
  });

  it('returns true for a correct first code and cancels the timer', async () => {
    const h = await challenged();
    const state = await answer(h, CODE);
    expect(state.isDone).toBe(true);
    expect(state.output).toBe(true);
    expect(state.customStatus).toEqual({ state: 'verified', attemptsRemaining: 3, expiresAt });
    expect(timers(h).length).toBeGreaterThan(0);
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('accepts a wrong code followed by the right one', async () => {
    const h = await challenged();
    const afterWrong = await answer(h, '999999');
    expect(afterWrong.isDone).toBe(false);
    expect(afterWrong.customStatus).toEqual({
      state: 'awaiting_code',
      attemptsRemaining: 3,
      expiresAt,
    });
    const state = await answer(h, CODE);
    expect(state.output).toBe(true);
    expect(state.customStatus).toEqual({ state: 'verified', attemptsRemaining: 2, expiresAt });
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('returns false after four wrong codes, cancels the timer and ignores a fifth', async () => {
    const h = await challenged();
    for (const wrong of ['000001', '000002', '000003']) {
      expect((await answer(h, wrong)).isDone).toBe(false);
    }
    const state = await answer(h, '000004');
    expect(state.isDone).toBe(true);
    expect(state.output).toBe(false);
    expect(state.customStatus).toEqual({
      state: 'too_many_attempts',
      attemptsRemaining: 0,
      expiresAt,
    });
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('returns false when the timer fires first, without cancelling the fired timer', async () => {
    const h = await challenged();
    await answer(h, '123123', 10_000);
    const state = await h.fireTimer(1);
    expect(state.isDone).toBe(true);
    expect(state.output).toBe(false);
    expect(state.customStatus).toEqual({ state: 'expired', attemptsRemaining: 3, expiresAt });
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(false);
  });

  it('treats a correct code that arrives after the deadline (timer not yet delivered) as expired', async () => {
    const h = await challenged();
    const state = await answer(h, CODE, 90_250);
    expect(state.output).toBe(false);
    expect(state.customStatus).toMatchObject({ state: 'expired' });
    for (const timer of timers(h)) expect(timer.isCanceled).toBe(true);
  });

  it('pads a numeric code with zeros, as the seed sends it (2168 for "002168")', async () => {
    const h = await challenged();
    expect((await answer(h, 2168)).output).toBe(true);
  });

  it('does not pad a string code: "2168" is a wrong answer for "002168"', async () => {
    const h = await challenged();
    const state = await answer(h, '2168');
    expect(state.isDone).toBe(false);
    expect(state.customStatus).toMatchObject({ attemptsRemaining: 3 });
  });

  it('counts malformed answers (objects, text, null) as attempts', async () => {
    const h = await challenged({ ...INPUT, maxAttempts: 3 });
    await answer(h, { code: CODE });
    await answer(h, 'abc');
    const state = await answer(h, null);
    expect(state.output).toBe(false);
    expect(state.customStatus).toMatchObject({ state: 'too_many_attempts' });
  });

  it('takes timeout and attempt count from its input, not from the current settings', async () => {
    const h = await challenged({ ...INPUT, timeoutSeconds: 30, maxAttempts: 1 });
    expect(timers(h)[0]!.fireAt).toEqual(new Date(T0.getTime() + 250 + 30_000));
    const state = await answer(h, '111111');
    expect(state.output).toBe(false);
    expect(state.customStatus).toMatchObject({ state: 'too_many_attempts', attemptsRemaining: 0 });
  });

  it('rejects a code hashed for another instance', async () => {
    const h = harness();
    await h.start();
    await h.completeTask(0, hashCode(TEST_SECRET, 'another-instance', CODE));
    expect((await answer(h, CODE)).isDone).toBe(false);
  });

  it('never puts the generated code into actions, output or custom status', async () => {
    const code = '583920';
    const runs = [
      async (h: OrchestrationHarness) => answer(h, code),
      async (h: OrchestrationHarness) => answer(h, '000000').then(() => h.fireTimer(1)),
    ];
    for (const run of runs) {
      const h = await challenged(INPUT, code);
      await run(h);
      const emitted = JSON.stringify(h.states);
      expect(emitted).not.toContain(code);
      // History holds the activity result, which is only the HMAC.
      const scheduledAndCompleted = h.history.filter((e) => e.EventType !== 15);
      expect(JSON.stringify(scheduledAndCompleted)).not.toContain(code);
    }
  });

  it('verifies a code sealed by the code endpoint, with nothing of the code in its history', async () => {
    const code = '583920';
    const h = await challenged(INPUT, code);
    const state = await answer(h, { sealedCode: sealCode(TEST_SECRET, INSTANCE, code) });
    expect(state.output).toBe(true);
    expect(state.customStatus).toEqual({ state: 'verified', attemptsRemaining: 3, expiresAt });
    // Unlike the raw-code path, even the EventRaised entry carries only ciphertext.
    expect(JSON.stringify(h.history)).not.toContain(code);
    expect(JSON.stringify(h.states)).not.toContain(code);
  });

  it('counts a wrong sealed code, or one sealed for another instance, as a failed attempt', async () => {
    const h = await challenged();
    const wrong = await answer(h, { sealedCode: sealCode(TEST_SECRET, INSTANCE, '999999') });
    expect(wrong.customStatus).toMatchObject({ state: 'awaiting_code', attemptsRemaining: 3 });
    const elsewhere = await answer(h, {
      sealedCode: sealCode(TEST_SECRET, 'another-instance', CODE),
    });
    expect(elsewhere.customStatus).toMatchObject({ state: 'awaiting_code', attemptsRemaining: 2 });
    const right = await answer(h, { sealedCode: sealCode(TEST_SECRET, INSTANCE, CODE) });
    expect(right.output).toBe(true);
  });

  it('does not verify when the challenge hash from history is raised back, in any shape', async () => {
    const h = await challenged();
    const hash = hashCode(TEST_SECRET, INSTANCE, CODE);
    const replays: unknown[] = [
      hash,
      { sealedCode: hash },
      { sealedCode: Buffer.from(hash, 'hex').toString('base64url') },
      { sealedCode: sealCode(TEST_SECRET, INSTANCE, CODE), extra: true },
    ];
    for (const [i, replay] of replays.entries()) {
      const state = await answer(h, replay);
      expect(state.output).not.toBe(true);
      expect(state.customStatus).toMatchObject({
        state: i === replays.length - 1 ? 'too_many_attempts' : 'awaiting_code',
        attemptsRemaining: INPUT.maxAttempts - 1 - i,
      });
    }
    expect(h.last.output).toBe(false);
  });

  it('fails the instance when the SMS cannot be sent, before any timer exists', async () => {
    const h = harness();
    await h.start();
    const state = await h.failTask(
      0,
      "Activity function 'SendSmsChallenge' failed: Twilio rejected the message (Twilio error 21211).",
    );
    expect(state.error).toContain('Twilio rejected the message');
    expect(timers(h)).toEqual([]);
  });

  it('fails fast on an input that the starter would never produce', async () => {
    const h = new OrchestrationHarness(
      smsPhoneVerificationHandler,
      ORCHESTRATION.SmsPhoneVerification,
      INSTANCE,
      '+14255550100',
      T0,
    );
    const state = await h.start();
    expect(state.error).toContain('input must be an object');
  });
});
