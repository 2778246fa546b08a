import type {
  OrchestrationContext,
  OrchestrationHandler,
  Task,
  TimerTask,
} from 'durable-functions';
import { EVENT } from './names';
import {
  CURRENT_INPUT_VERSION,
  isVerificationRules,
  type FirstSmsChallenge,
  type JudgedAnswer,
  type SmsChallengeInput,
  type VerificationRules,
  type VerificationInput,
  type VerificationState,
  type VerificationStatus,
} from './rules';

export interface SmsVerificationDeps {
  /**
   * Schedules the activity that returns the app's rules; only instances started before the first
   * send returned them (input without `version`) replay it.
   */
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
 * fires. Returns `true` only for a correct code received in time (the official sample's output). Trusts
 * nothing it did not decide: the rules come from an activity (the app's settings, recorded in
 * history), answers count by the receipt time sealed inside them, and a resend or a cancel are
 * events only the app's links raise. Expected outcomes are return values and `customStatus`.
 */
export function createSmsVerificationOrchestrator(deps: SmsVerificationDeps): OrchestrationHandler {
  return function* smsPhoneVerification(
    context: OrchestrationContext,
  ): Generator<Task, boolean, unknown> {
    const input = readVerificationInput(context.df.getInput());
    const instanceId = context.df.instanceId;

    let sendNumber = 1;
    const request = (codeLength: number | undefined): SmsChallengeInput => ({
      phoneNumber: input.phoneNumber,
      instanceId,
      sendNumber,
      ...(codeLength === undefined ? {} : { codeLength }),
      ...(input.locale === undefined ? {} : { locale: input.locale }),
    });

    // New instances: the first send reads the rules and returns them with its hash, both recorded
    // in history. Instances started by an earlier release replay what they recorded: the rules
    // activity, then the send.
    const firstSend = function* (): Generator<Task, FirstSmsChallenge, unknown> {
      if (input.version === CURRENT_INPUT_VERSION) {
        const first = readFirstSend(yield deps.sendSmsChallenge(request(undefined)));
        return { rules: recordedRules(first.rules), challengeHash: readHash(first.challengeHash) };
      }
      const recorded = recordedRules(yield deps.getVerificationRules());
      const hash: unknown = yield deps.sendSmsChallenge(request(recorded.codeLength));
      return { rules: recorded, challengeHash: readHash(hash) };
    };
    const first = yield* firstSend();
    const rules = first.rules;
    let challengeHash = first.challengeHash;
    const send = function* (): Generator<Task, string, unknown> {
      return readHash(yield deps.sendSmsChallenge(request(rules.codeLength)));
    };

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

/** Never widen the rules: a value out of range fails the instance (the activity sends nothing then). */
function recordedRules(rules: unknown): VerificationRules {
  if (!isVerificationRules(rules)) {
    throw new Error('The verification rules are outside the allowed ranges');
  }
  return rules;
}

function readHash(result: unknown): string {
  if (typeof result !== 'string') throw new Error('SendSmsChallenge returned no challenge hash');
  return result;
}

function readFirstSend(result: unknown): { rules: unknown; challengeHash: unknown } {
  if (typeof result !== 'object' || result === null) {
    throw new Error('The first SendSmsChallenge returned no rules');
  }
  const { rules, challengeHash } = result as Record<string, unknown>;
  return { rules, challengeHash };
}

/** The starters validate the input; this guards against instances started some other way. */
function readVerificationInput(raw: unknown): VerificationInput {
  if (typeof raw !== 'object' || raw === null) {
    throw new Error('SmsPhoneVerification input must be an object');
  }
  const { phoneNumber, locale, version } = raw as Partial<Record<keyof VerificationInput, unknown>>;
  if (typeof phoneNumber !== 'string' || (locale !== undefined && typeof locale !== 'string')) {
    throw new Error('SmsPhoneVerification input must have phoneNumber and an optional locale');
  }
  if (version !== undefined && version !== CURRENT_INPUT_VERSION) {
    throw new Error(
      `SmsPhoneVerification input version must be ${CURRENT_INPUT_VERSION} or absent`,
    );
  }
  return {
    phoneNumber,
    ...(locale === undefined ? {} : { locale }),
    ...(version === undefined ? {} : { version }),
  };
}
