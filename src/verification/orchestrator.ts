import type {
  OrchestrationContext,
  OrchestrationHandler,
  Task,
  TimerTask,
} from 'durable-functions';
import { EVENT } from './names';
import {
  isVerificationRules,
  type JudgedAnswer,
  type SmsChallengeInput,
  type VerificationInput,
  type VerificationState,
  type VerificationStatus,
} from './rules';

export interface SmsVerificationDeps {
  /** Schedules the activity that returns the app's rules; its result is recorded in history. */
  readonly getVerificationRules: () => Task;
  /** Schedules the SMS activity; production passes the value `df.app.activity()` returned. */
  readonly sendSmsChallenge: (input: SmsChallengeInput) => Task;
  /**
   * Opens a sealed answer and compares its code with the challenge hash (constant time).
   * Deterministic for a given secret, so safe during replay; undefined, never an exception, for
   * anything that is not an answer the app's links sealed for this instance.
   */
  readonly judgeAnswer: (
    instanceId: string,
    expectedHash: string,
    payload: unknown,
    codeLength: number,
  ) => JudgedAnswer | undefined;
}

/**
 * SMS challenge: send a code, then accept up to `maxAttempts` answers before one durable timer
 * fires. Returns `true` only for a correct code received in time (the seed's output). Trusts
 * nothing it did not decide: the rules come from an activity (the app's settings, recorded in
 * history), answers count by the receipt time sealed inside them, and a resend or a cancel are
 * events only the app's links raise. Expected outcomes are return values and `customStatus`.
 */
export function createSmsVerificationOrchestrator(deps: SmsVerificationDeps): OrchestrationHandler {
  return function* smsPhoneVerification(
    context: OrchestrationContext,
  ): Generator<Task, boolean, unknown> {
    const input = readInput(context.df.getInput());
    const instanceId = context.df.instanceId;

    const rules: unknown = yield deps.getVerificationRules();
    if (!isVerificationRules(rules)) {
      // Never widen the rules: a value out of range fails the instance before any SMS.
      throw new Error('GetVerificationRules returned rules outside the allowed ranges');
    }

    let sendNumber = 1;
    const send = function* (): Generator<Task, string, unknown> {
      const hash: unknown = yield deps.sendSmsChallenge({
        phoneNumber: input.phoneNumber,
        instanceId,
        codeLength: rules.codeLength,
        sendNumber,
        ...(input.locale === undefined ? {} : { locale: input.locale }),
      });
      if (typeof hash !== 'string') throw new Error('SendSmsChallenge returned no challenge hash');
      return hash;
    };
    let challengeHash = yield* send();

    // The deadline comes from the replay-safe clock and the window starts once the SMS is out.
    const expiresAt = new Date(
      context.df.currentUtcDateTime.getTime() + rules.timeoutSeconds * 1000,
    );
    const timer: TimerTask = context.df.createTimer(expiresAt);
    const report = (state: VerificationState, attemptsRemaining: number): void => {
      const status: VerificationStatus = {
        state,
        attemptsRemaining,
        expiresAt: expiresAt.toISOString(),
        codeLength: rules.codeLength,
      };
      context.df.setCustomStatus(status);
    };
    const end = (state: VerificationState, attemptsRemaining: number, verified: boolean) => {
      if (!timer.isCompleted) timer.cancel();
      report(state, attemptsRemaining);
      return verified;
    };

    let attemptsRemaining = rules.maxAttempts;
    report('awaiting_code', attemptsRemaining);
    // One open wait per event name, renewed only once it completed: an abandoned wait would still
    // take the next event of its name.
    let reply = context.df.waitForExternalEvent(EVENT.SmsChallengeResponse);
    const cancel = context.df.waitForExternalEvent(EVENT.CancelRequested);
    let resend = context.df.waitForExternalEvent(EVENT.ResendRequested);
    while (attemptsRemaining > 0) {
      const winner = yield context.df.Task.any([reply, cancel, resend, timer]);
      if (winner === timer) return end('expired', attemptsRemaining, false);
      if (winner === cancel) return end('canceled', attemptsRemaining, false);
      if (winner === resend) {
        resend = context.df.waitForExternalEvent(EVENT.ResendRequested);
        sendNumber += 1;
        // A new code replaces the old one, which stops matching; attempts and deadline stay.
        challengeHash = yield* send();
        report('awaiting_code', attemptsRemaining);
        continue;
      }
      const payload = reply.result;
      reply = context.df.waitForExternalEvent(EVENT.SmsChallengeResponse);
      const answer = deps.judgeAnswer(instanceId, challengeHash, payload, rules.codeLength);
      // By when the app received it, whenever this episode runs: a late answer ends the instance.
      if (answer !== undefined && answer.receivedAt.getTime() >= expiresAt.getTime()) {
        return end('expired', attemptsRemaining, false);
      }
      attemptsRemaining -= 1;
      if (answer?.correct === true) return end('verified', attemptsRemaining, true);
      report('awaiting_code', attemptsRemaining);
    }
    return end('too_many_attempts', 0, false);
  };
}

/** The starters validate the input; this guards against instances started some other way. */
function readInput(raw: unknown): VerificationInput {
  if (typeof raw !== 'object' || raw === null) {
    throw new Error('SmsPhoneVerification input must be an object');
  }
  const { phoneNumber, locale } = raw as Partial<Record<keyof VerificationInput, unknown>>;
  if (typeof phoneNumber !== 'string' || (locale !== undefined && typeof locale !== 'string')) {
    throw new Error('SmsPhoneVerification input must have phoneNumber and an optional locale');
  }
  return locale === undefined ? { phoneNumber } : { phoneNumber, locale };
}
