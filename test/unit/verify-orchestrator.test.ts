/**
 * The Verify orchestrator replayed through durable-functions' own executor (test/unit/helpers/replay.ts):
 * the rules from the first send, checks counted one by one, resends of the same code, cancel/approve updates,
 * expiry, and no code anywhere in history or status.
 */
import './helpers/quiet-test-mode';
import { resetComposition } from '../../src/composition';
import { hashCode } from '../../src/verification/crypto/code-hash';
import { sealAnswer } from '../../src/verification/crypto/sealed-answer';
import { VERIFY_ACTIVITY, VERIFY_EVENT, VERIFY_ORCHESTRATION } from '../../src/verify/names';
import { verifyOrchestratorHandler } from '../../src/verify/register';
import type { VerifyInput, VerifyStatus } from '../../src/verify/rules';
import { EventType } from '@local/durable-runtime/testing';
import { TEST_SECRET, useEnv, validEnv } from './helpers/env';
import { ActionType, OrchestrationHarness } from './helpers/replay';

const SID = `VE${'7b3c9f2e'.repeat(4)}`;
const CODE = '482913';
const T0 = new Date('2026-12-07T10:00:00.000Z');
const INPUT: VerifyInput = {
  serviceSid: `VA${'1'.repeat(32)}`,
  to: '+14255550100',
  channel: 'sms',
  friendlyName: 'Acme',
  codeLength: 6,
  doNotShareWarning: false,
  lookupEnabled: false,
};
const RULES = { validitySeconds: 600, maxCheckAttempts: 5, maxSendAttempts: 3 };

let restoreEnv: () => void;
beforeAll(() => {
  restoreEnv = useEnv(validEnv());
  resetComposition();
});
afterAll(() => {
  restoreEnv();
  resetComposition();
});

/** Started, and its first send completed with the rules. */
async function started(): Promise<OrchestrationHarness> {
  const h = new OrchestrationHarness(
    verifyOrchestratorHandler,
    VERIFY_ORCHESTRATION,
    SID,
    INPUT,
    T0,
  );
  await h.start();
  expect(h.actions.filter((a) => a.actionType === ActionType.CallActivity)).toEqual([
    expect.objectContaining({
      functionName: VERIFY_ACTIVITY.SendVerificationCode,
      input: expect.objectContaining({
        verificationSid: SID,
        attempt: 1,
        codeLength: 6,
      }) as unknown,
    }),
  ]);
  await h.completeTask(0, { challengeHash: hashCode(TEST_SECRET, SID, CODE), rules: RULES });
  return h;
}

const custom = (h: OrchestrationHarness): VerifyStatus => h.last.customStatus as VerifyStatus;

let requestSerial = 0;
const requestId = (): string => (requestSerial++).toString(16).padStart(32, '0');

async function check(h: OrchestrationHarness, code: string, receivedAt?: Date): Promise<string> {
  const id = requestId();
  const at = receivedAt ?? new Date(h.time.getTime() + 1000);
  const { sealedAnswer } = sealAnswer(TEST_SECRET, SID, { code, receivedAt: at });
  await h.raiseEvent(VERIFY_EVENT.Check, { requestId: id, sealedAnswer });
  return id;
}

/** The id of the latest activity the orchestrator scheduled. */
function lastActivityId(h: OrchestrationHarness): number {
  const scheduled = h.history.filter((e) => e.EventType === EventType.TaskScheduled);
  return (scheduled.at(-1) as { EventId: number }).EventId;
}

describe('Verify orchestrator', () => {
  it('is pending with its first attempt and a 10-minute validity once the code is out', async () => {
    const h = await started();
    expect(custom(h)).toMatchObject({
      status: 'pending',
      serviceSid: INPUT.serviceSid,
      channel: 'sms',
      checkAttempts: 0,
      expiresAt: new Date(T0.getTime() + 600_000).toISOString(),
      sendCodeAttempts: [{ attempt_sid: expect.stringMatching(/^VL[0-9a-f]{32}$/) as unknown }],
    });
    expect(JSON.stringify(custom(h))).not.toContain(INPUT.to);
  });

  it('counts wrong checks one by one and ends max_attempts_reached at the fifth', async () => {
    const h = await started();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await check(h, '000000'));
    expect(h.last.isDone).toBe(true);
    expect(h.last.output).toBe('max_attempts_reached');
    expect(custom(h).checkAttempts).toBe(5);
    for (const id of ids) expect(custom(h).replies[id]).toBe('pending');
    expect(JSON.stringify(h.history)).not.toContain(CODE);
  });

  it('resends the same code (activity attempts 2 and 3), refuses a fourth send, then approves', async () => {
    const h = await started();
    for (const attempt of [2, 3]) {
      const id = requestId();
      await h.raiseEvent(VERIFY_EVENT.Resend, { requestId: id });
      const send = h.actions.filter((a) => a.actionType === ActionType.CallActivity).at(-1)!;
      expect(send.input).toMatchObject({ attempt, verificationSid: SID });
      await h.completeTask(lastActivityId(h), hashCode(TEST_SECRET, SID, CODE));
      expect(custom(h).replies[id]).toBe('sent');
      expect(custom(h).sendCodeAttempts).toHaveLength(attempt);
    }
    const refused = requestId();
    await h.raiseEvent(VERIFY_EVENT.Resend, { requestId: refused });
    expect(custom(h).replies[refused]).toBe('max_sends');
    // A wrong code between resends, then the right one: the instance still judges (no id shift).
    await check(h, '111111');
    const right = await check(h, CODE);
    expect(h.last.output).toBe('approved');
    expect(custom(h).replies[right]).toBe('approved');
  });

  it('takes Status=canceled from the update event, and ends expired when its timer fires', async () => {
    const canceled = await started();
    const id = requestId();
    await canceled.raiseEvent(VERIFY_EVENT.Update, { requestId: id, status: 'canceled' });
    expect(canceled.last.output).toBe('canceled');
    expect(custom(canceled).replies[id]).toBe('updated');

    const expired = await started();
    const timer = expired.history.filter((e) => e.EventType === EventType.TimerCreated).at(-1) as {
      EventId: number;
    };
    await expired.fireTimer(timer.EventId);
    expect(expired.last.output).toBe('expired');
  });

  it('judges an answer by its receipt time: one received after the deadline expires it', async () => {
    const h = await started();
    const id = await check(h, CODE, new Date(T0.getTime() + 600_000));
    expect(h.last.output).toBe('expired');
    expect(custom(h).replies[id]).toBe('expired');
  });

  it('ignores events that are not the app’s requests (no request id, or a forged answer)', async () => {
    const h = await started();
    await h.raiseEvent(VERIFY_EVENT.Check, { sealedAnswer: 'x' });
    await h.raiseEvent(VERIFY_EVENT.Check, { requestId: requestId(), sealedAnswer: 'not-sealed' });
    expect(h.last.isDone).toBe(false);
    // The forged answer counted as a wrong attempt; the event without a request id did not.
    expect(custom(h).checkAttempts).toBe(1);
  });
});
