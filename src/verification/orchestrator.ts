import type {
  OrchestrationContext,
  OrchestrationHandler,
  Task,
  TimerTask,
} from 'durable-functions';
import type {
  SmsChallengeInput,
  VerificationInput,
  VerificationState,
  VerificationStatus,
} from './rules';
import { EVENT } from './names';

export interface SmsVerificationDeps {
  /** Schedules the activity; production passes the value `df.app.activity()` returned. */
  readonly sendSmsChallenge: (input: SmsChallengeInput) => Task;
  /**
   * Compares a submitted answer (a raw code from sendEventPostUri, or `{ sealedCode }` from the
   * app's code endpoint) with the challenge hash (HMAC, constant time). Deterministic for a given
   * secret, so it is safe to run inside the orchestrator during replay; false, never an exception,
   * for anything it cannot read.
   */
  readonly codeMatches: (
    instanceId: string,
    expectedHash: string,
    submitted: unknown,
    codeLength: number,
  ) => boolean;
}

/**
 * SMS challenge: send a code, then accept up to `maxAttempts` answers before one durable timer
 * fires. Returns `true` only for a correct code in time (the seed's output). Expected outcomes are
 * return values and `customStatus`, never exceptions; the generated code never reaches this function, only the caller's answer does
 * (sealed when it comes through the app's own code endpoint).
 */
export function createSmsVerificationOrchestrator(deps: SmsVerificationDeps): OrchestrationHandler {
  return function* smsPhoneVerification(
    context: OrchestrationContext,
  ): Generator<Task, boolean, unknown> {
    const input = readInput(context.df.getInput());
    const instanceId = context.df.instanceId;

    const challengeHash = yield deps.sendSmsChallenge({
      phoneNumber: input.phoneNumber,
      instanceId,
      codeLength: input.codeLength,
    });
    if (typeof challengeHash !== 'string') {
      throw new Error('SendSmsChallenge returned no challenge hash');
    }

    // The deadline comes from the replay-safe clock and the window starts once the SMS is out.
    const expiresAt = new Date(
      context.df.currentUtcDateTime.getTime() + input.timeoutSeconds * 1000,
    );
    const timer: TimerTask = context.df.createTimer(expiresAt);
    const report = (state: VerificationState, attemptsRemaining: number): void => {
      const status: VerificationStatus = {
        state,
        attemptsRemaining,
        expiresAt: expiresAt.toISOString(),
      };
      context.df.setCustomStatus(status);
    };

    let attemptsRemaining = input.maxAttempts;
    report('awaiting_code', attemptsRemaining);
    while (attemptsRemaining > 0) {
      // A fresh wait per attempt: reusing a completed event task would hand back the old answer.
      const reply = context.df.waitForExternalEvent(EVENT.SmsChallengeResponse);
      const winner = yield context.df.Task.any([reply, timer]);
      if (winner === timer) {
        report('expired', attemptsRemaining);
        return false;
      }
      // An idle host can deliver the timer late; an answer processed at or after the deadline (the
      // episode's replay-safe time, not the event's own timestamp) is still too late, whatever the
      // order in which the two events arrived.
      if (context.df.currentUtcDateTime.getTime() >= expiresAt.getTime()) {
        finish(timer);
        report('expired', attemptsRemaining);
        return false;
      }
      attemptsRemaining -= 1;
      if (deps.codeMatches(instanceId, challengeHash, reply.result, input.codeLength)) {
        finish(timer);
        report('verified', attemptsRemaining);
        return true;
      }
      report('awaiting_code', attemptsRemaining);
    }
    finish(timer);
    report('too_many_attempts', 0);
    return false;
  };
}

/** A pending timer keeps the instance Running until it fires, so it is cancelled on every early exit. */
function finish(timer: TimerTask): void {
  if (!timer.isCompleted) timer.cancel();
}

/** The HTTP starter validates the input; this guards against instances started some other way. */
function readInput(raw: unknown): VerificationInput {
  if (typeof raw !== 'object' || raw === null) {
    throw new Error('SmsPhoneVerification input must be an object');
  }
  const value = raw as Partial<Record<keyof VerificationInput, unknown>>;
  const { phoneNumber, timeoutSeconds, maxAttempts, codeLength } = value;
  if (
    typeof phoneNumber !== 'string' ||
    !isPositiveInteger(timeoutSeconds) ||
    !isPositiveInteger(maxAttempts) ||
    !isPositiveInteger(codeLength)
  ) {
    throw new Error(
      'SmsPhoneVerification input must have phoneNumber, timeoutSeconds, maxAttempts and codeLength',
    );
  }
  return { phoneNumber, timeoutSeconds, maxAttempts, codeLength };
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}
