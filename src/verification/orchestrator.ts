import type {
  OrchestrationContext,
  OrchestrationHandler,
  Task,
  TimerTask,
} from 'durable-functions';
import { EVENT, EVENT_TYPES } from './names';
import {
  CURRENT_INPUT_VERSION,
  hasPhoneNumber,
  isChannel,
  isFallbackStep,
  isVerificationRules,
  MAX_FALLBACK_STEPS,
  MAX_REPORTED_DELIVERIES,
  recipientFields,
  type Channel,
  type DeliveryProvider,
  type ReportedDelivery,
  type FirstSmsChallenge,
  type JudgedAnswer,
  type LifecycleEvent,
  type PublishRequest,
  type RecipientFields,
  type RecordVerifiedInput,
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
  /**
   * Issue 22, for instances whose input `reportsLifecycle`: schedules the activity that publishes
   * lifecycle events as webhooks (false when events are off), and the one that records an
   * approved number for the fraud guard.
   */
  readonly publishEvents?: (request: PublishRequest) => Task;
  readonly recordVerified?: (input: RecordVerifiedInput) => Task;
}

/** The event each final state publishes. */
const OUTCOME_EVENTS: Readonly<
  Record<Exclude<VerificationState, 'awaiting_code'>, LifecycleEvent>
> = {
  verified: { type: EVENT_TYPES.approved },
  expired: { type: EVENT_TYPES.expired },
  too_many_attempts: { type: EVENT_TYPES.maxAttemptsReached },
  canceled: { type: EVENT_TYPES.canceled },
};

/**
 * Verification challenge: send a code (by the input's channel, SMS by default; later by the fallback
 * steps' channels, each after its own durable timer, the same code), then accept up to `maxAttempts`
 * answers, counted across channels, before one durable timer fires. Returns `true` only for a correct code received in time (the official sample's output). Trusts
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
    const lifecycle = new LifecycleReports(deps, instanceId, input);
    try {
      return yield* verify(context, input, lifecycle);
    } catch (error: unknown) {
      yield* lifecycle.publishNow({ type: EVENT_TYPES.failed });
      throw error;
    }
  };

  function* verify(
    context: OrchestrationContext,
    input: VerificationInput,
    lifecycle: LifecycleReports,
  ): Generator<Task, boolean, unknown> {
    const instanceId = context.df.instanceId;

    // The workflow: the first channel, then each fallback step's channel after its wait, all with the
    // same code (one send number) until a resend draws a new one.
    const steps: readonly { readonly channel: Channel; readonly afterSeconds: number }[] = [
      { channel: input.channel ?? 'sms', afterSeconds: 0 },
      ...(input.fallback ?? []),
    ];
    let step = 0;
    let sendNumber = 1;
    // The recipient as the input holds it (sealed; plain in instances started before): only the activity opens it.
    const recipient = recipientFields(input);
    const request = (codeLength: number | undefined): SmsChallengeInput => ({
      ...recipient,
      instanceId,
      sendNumber,
      channel: steps[step]?.channel ?? 'sms',
      ...(codeLength === undefined ? {} : { codeLength }),
      ...(input.locale === undefined ? {} : { locale: input.locale }),
    });
    const deliveries: ReportedDelivery[] = [];
    const record = (provider: ReportedDelivery['provider']): void => {
      deliveries.push({
        channel: steps[step]?.channel ?? 'sms',
        provider,
        sendNumber,
        at: context.df.currentUtcDateTime.toISOString(),
      });
      if (deliveries.length > MAX_REPORTED_DELIVERIES) deliveries.shift();
    };

    // New instances: the first send reads the rules and returns them with its hash, both recorded
    // in history. Instances started by an earlier release replay what they recorded: the rules
    // activity, then the send.
    const firstSend = function* (): Generator<Task, FirstSmsChallenge, unknown> {
      if (input.version === CURRENT_INPUT_VERSION) {
        const first = readFirstSend(yield deps.sendSmsChallenge(request(undefined)));
        record(first.provider);
        return { rules: recordedRules(first.rules), challengeHash: readHash(first.challengeHash) };
      }
      const recorded = recordedRules(yield deps.getVerificationRules());
      const sent = readSend(yield deps.sendSmsChallenge(request(recorded.codeLength)));
      record(sent.provider);
      return { rules: recorded, challengeHash: sent.challengeHash };
    };
    const first = yield* firstSend();
    const rules = first.rules;
    let challengeHash = first.challengeHash;
    const send = function* (): Generator<Task, string, unknown> {
      const sent = readSend(yield deps.sendSmsChallenge(request(rules.codeLength)));
      record(sent.provider);
      return sent.challengeHash;
    };

    // The deadline comes from the replay-safe clock and the window starts once the code is out.
    const expiresAt = new Date(
      context.df.currentUtcDateTime.getTime() + rules.timeoutSeconds * 1000,
    );
    // The next fallback step: only while the verification is still open by then.
    const nextFallback = (): { channel: Channel; at: Date } | undefined => {
      const next = steps[step + 1];
      if (next === undefined) return undefined;
      const at = new Date(context.df.currentUtcDateTime.getTime() + next.afterSeconds * 1000);
      return at.getTime() < expiresAt.getTime() ? { channel: next.channel, at } : undefined;
    };
    let fallback = nextFallback();
    const report = (state: VerificationState, attemptsRemaining: number): void => {
      const status: VerificationStatus = {
        state,
        attemptsRemaining,
        expiresAt: expiresAt.toISOString(),
        codeLength: rules.codeLength,
        deliveries: [...deliveries],
        ...(fallback === undefined || state !== 'awaiting_code'
          ? {}
          : { nextFallback: { channel: fallback.channel, at: fallback.at.toISOString() } }),
      };
      context.df.setCustomStatus(status);
    };
    const end = function* (
      state: Exclude<VerificationState, 'awaiting_code'>,
      attemptsRemaining: number,
      verified: boolean,
    ): Generator<Task, boolean, unknown> {
      report(state, attemptsRemaining);
      if (verified) yield* lifecycle.recordVerified();
      yield* lifecycle.publishNow(OUTCOME_EVENTS[state]);
      return verified;
    };

    let attemptsRemaining = rules.maxAttempts;
    report('awaiting_code', attemptsRemaining);
    // One open wait per event name, renewed only once it completed: an abandoned wait would still
    // take the next event of its name.
    let reply = context.df.waitForExternalEvent(EVENT.SmsChallengeResponse);
    const cancel = context.df.waitForExternalEvent(EVENT.CancelRequested);
    let resend = context.df.waitForExternalEvent(EVENT.ResendRequested);
    /**
     * One race of the waits against the deadline and the next fallback step. Each race has timers of
     * its own and cancels the ones that lost before anything else is scheduled: a timer listed again
     * in a later race gets a new id when the extension replays the action list, while the SDK keeps
     * the old one, and every task scheduled after it would then be matched to another task's event.
     */
    const race = function* (): Generator<Task, Task | 'deadline' | 'fallback', unknown> {
      const deadline: TimerTask = context.df.createTimer(expiresAt);
      const step: TimerTask | undefined =
        fallback === undefined ? undefined : context.df.createTimer(fallback.at);
      const waits: Task[] = [
        reply,
        cancel,
        resend,
        deadline,
        ...(step === undefined ? [] : [step]),
      ];
      const winner: unknown = yield context.df.Task.any(waits);
      if (winner !== deadline) deadline.cancel();
      if (step !== undefined && winner !== step) step.cancel();
      if (winner === deadline) return 'deadline';
      if (winner === step) return 'fallback';
      return winner as Task;
    };
    yield* lifecycle.publishNow({ type: EVENT_TYPES.created }, codeSent(steps[step]!.channel, 1));
    while (attemptsRemaining > 0) {
      const winner = yield* race();
      if (winner === 'deadline') return yield* end('expired', attemptsRemaining, false);
      if (winner === 'fallback') {
        // No correct answer yet: the same code (same send number) by the next step's channel.
        step += 1;
        challengeHash = yield* send();
        fallback = nextFallback();
        report('awaiting_code', attemptsRemaining);
        yield* lifecycle.publishNow(codeSent(steps[step]!.channel, sendNumber));
        continue;
      }
      if (winner === cancel) return yield* end('canceled', attemptsRemaining, false);
      if (winner === resend) {
        resend = context.df.waitForExternalEvent(EVENT.ResendRequested);
        sendNumber += 1;
        // A new code replaces the old one, which stops matching; attempts and deadline stay.
        challengeHash = yield* send();
        report('awaiting_code', attemptsRemaining);
        yield* lifecycle.publishNow(codeSent(steps[step]!.channel, sendNumber));
        continue;
      }
      const payload = reply.result;
      reply = context.df.waitForExternalEvent(EVENT.SmsChallengeResponse);
      const answer = deps.judgeAnswer(instanceId, challengeHash, payload, rules.codeLength);
      // By when the app received it, whenever this episode runs: a late answer ends the instance.
      if (answer !== undefined && answer.receivedAt.getTime() >= expiresAt.getTime()) {
        return yield* end('expired', attemptsRemaining, false);
      }
      attemptsRemaining -= 1;
      if (answer?.correct === true) return yield* end('verified', attemptsRemaining, true);
      report('awaiting_code', attemptsRemaining);
    }
    return yield* end('too_many_attempts', 0, false);
  }
}

const codeSent = (channel: Channel, sendNumber: number): LifecycleEvent => ({
  type: EVENT_TYPES.codeSent,
  channel,
  sendNumber,
});

/**
 * The issue-22 reports of one instance: lifecycle events (published by an activity that starts
 * one durable delivery per event) and the approval recorded for the fraud guard. Instances
 * without `reportsLifecycle` (started before) do none of it, so their replay is unchanged. A
 * failed report never fails the verification: its activity logs, the user is not concerned.
 */
class LifecycleReports {
  /** False once a publication answered that events are off: no more are scheduled. */
  private eventsOn: boolean;

  constructor(
    private readonly deps: SmsVerificationDeps,
    private readonly instanceId: string,
    private readonly input: VerificationInput,
  ) {
    this.eventsOn = input.reportsLifecycle === true && deps.publishEvents !== undefined;
  }

  /**
   * Publishes and waits. The activity only starts one durable delivery per event, so a slow
   * receiver never holds up the verification. It is awaited on its own, never raced beside the
   * waits for answers: a task listed again in a later `Task.any` is scheduled again by the Durable
   * extension under a new id (the SDK keeps the old one), which would shift every later task.
   */
  *publishNow(...events: LifecycleEvent[]): Generator<Task, void, unknown> {
    const task = this.publication(events);
    if (task === undefined) return;
    try {
      if ((yield task) === false) this.eventsOn = false;
    } catch {
      // The activity failed after its own retries; the verification's outcome stands.
    }
  }

  *recordVerified(): Generator<Task, void, unknown> {
    if (this.input.reportsLifecycle !== true || this.deps.recordVerified === undefined) return;
    try {
      yield this.deps.recordVerified(
        this.input.sealedPhoneNumber === undefined
          ? phoneNumberField(this.input)
          : { instanceId: this.instanceId, ...phoneNumberField(this.input) },
      );
    } catch {
      // Only the owner's grace and the conversion statistics lose one approval.
    }
  }

  private publication(events: LifecycleEvent[]): Task | undefined {
    if (!this.eventsOn || this.deps.publishEvents === undefined) return undefined;
    return this.deps.publishEvents({
      instanceId: this.instanceId,
      ...phoneNumberField(this.input),
      events,
    });
  }
}

/** The number alone, in the form the input holds it (sealed, or plain in instances started before). */
function phoneNumberField(
  input: RecipientFields,
): Pick<RecipientFields, 'sealedPhoneNumber' | 'phoneNumber'> {
  return input.sealedPhoneNumber === undefined
    ? { phoneNumber: input.phoneNumber! }
    : { sealedPhoneNumber: input.sealedPhoneNumber };
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

/** Who carried a send, from its recorded result (results recorded before channels existed name nobody). */
function providerOf(delivery: unknown): ReportedDelivery['provider'] {
  if (typeof delivery !== 'object' || delivery === null) return 'unknown';
  const { provider } = delivery as Record<string, unknown>;
  return typeof provider === 'string' ? (provider as DeliveryProvider) : 'unknown';
}

function readFirstSend(result: unknown): {
  rules: unknown;
  challengeHash: unknown;
  provider: ReportedDelivery['provider'];
} {
  if (typeof result !== 'object' || result === null) {
    throw new Error('The first SendSmsChallenge returned no rules');
  }
  const { rules, challengeHash, delivery } = result as Record<string, unknown>;
  return { rules, challengeHash, provider: providerOf(delivery) };
}

/** A later send's result: the hash alone (recorded before channels existed) or with its delivery. */
function readSend(result: unknown): {
  challengeHash: string;
  provider: ReportedDelivery['provider'];
} {
  if (typeof result === 'string') return { challengeHash: result, provider: 'unknown' };
  if (typeof result !== 'object' || result === null)
    return { challengeHash: readHash(result), provider: 'unknown' };
  const { challengeHash, delivery } = result as Record<string, unknown>;
  return { challengeHash: readHash(challengeHash), provider: providerOf(delivery) };
}

/** The starters validate the input; this guards against instances started some other way. */
function readVerificationInput(raw: unknown): VerificationInput {
  if (typeof raw !== 'object' || raw === null) {
    throw new Error('SmsPhoneVerification input must be an object');
  }
  const { locale, version, channel, fallback, reportsLifecycle } = raw as Partial<
    Record<keyof VerificationInput, unknown>
  >;
  // Sealed by the starters; plain (`phoneNumber`, `email`) in instances started before: both complete.
  const recipient = recipientFields(raw);
  if (!hasPhoneNumber(recipient) || (locale !== undefined && typeof locale !== 'string')) {
    throw new Error('SmsPhoneVerification input must have a phone number and an optional locale');
  }
  if (version !== undefined && version !== CURRENT_INPUT_VERSION) {
    throw new Error(
      `SmsPhoneVerification input version must be ${CURRENT_INPUT_VERSION} or absent`,
    );
  }
  if (channel !== undefined && !isChannel(channel)) {
    throw new Error('SmsPhoneVerification input.channel is not a channel');
  }
  if (
    fallback !== undefined &&
    (!Array.isArray(fallback) ||
      fallback.length > MAX_FALLBACK_STEPS ||
      !fallback.every((s) => isFallbackStep(s)))
  ) {
    throw new Error(
      `SmsPhoneVerification input.fallback must be at most ${MAX_FALLBACK_STEPS} steps`,
    );
  }
  return {
    ...recipient,
    ...(locale === undefined ? {} : { locale }),
    ...(version === undefined ? {} : { version }),
    ...(channel === undefined ? {} : { channel }),
    ...(fallback === undefined ? {} : { fallback }),
    ...(reportsLifecycle === true ? { reportsLifecycle } : {}),
  };
}
