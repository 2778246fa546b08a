import type {
  OrchestrationContext,
  OrchestrationHandler,
  Task,
  TimerTask,
} from 'durable-functions';
import { VERIFY_EVENT } from './names';
import {
  MAX_REPLIES,
  REQUEST_ID_PATTERN,
  attemptSid,
  recipientOf,
  type CheckRequest,
  type FirstSend,
  type JudgedCode,
  type SendCodeAttempt,
  type SendVerifyCodeInput,
  type UpdateRequest,
  type VerificationStatusName,
  type VerifyInput,
  type VerifyReply,
  type VerifyRules,
  type VerifyStatus,
} from './rules';

export interface VerifyOrchestratorDeps {
  /** Schedules the send activity; production passes the value `df.app.activity()` returned. */
  readonly sendCode: (input: SendVerifyCodeInput) => Task;
  /**
   * Opens a sealed answer and compares its code with the challenge hash (constant time).
   * Deterministic for a given secret; undefined for anything the app did not seal for this instance.
   */
  readonly judgeAnswer: (
    instanceId: string,
    expectedHash: string,
    payload: unknown,
    codeLength: number,
  ) => JudgedCode | undefined;
}

/**
 * One Verify verification (`VE…`), the only judge of its code: the first send records the rules,
 * then checks, resends and status updates arrive as events, one at a time in arrival order, each
 * answered in the custom status under its request id. So concurrent checks count one by one: at
 * most `maxCheckAttempts` are judged and at most one approves. The code never enters history: it
 * is derived (or sealed, when custom) in the activity, and answers arrive sealed.
 */
export function createVerifyOrchestrator(deps: VerifyOrchestratorDeps): OrchestrationHandler {
  return function* verifyVerification(
    context: OrchestrationContext,
  ): Generator<Task, VerificationStatusName, unknown> {
    const input = readInput(context.df.getInput());
    const sid = context.df.instanceId;
    const createdAt = context.df.currentUtcDateTime;
    const request = (attempt: number): SendVerifyCodeInput => ({
      verificationSid: sid,
      // Sealed (plain in verifications created before): only the activity opens it.
      ...recipientOf(input),
      channel: input.channel,
      friendlyName: input.friendlyName,
      codeLength: input.codeLength,
      doNotShareWarning: input.doNotShareWarning,
      attempt,
      ...optional('locale', input.locale),
      ...optional('amount', input.amount),
      ...optional('payee', input.payee),
      ...optional('appHash', input.appHash),
      ...optional('sealedCustomCode', input.sealedCustomCode),
    });

    const first = readFirstSend(yield deps.sendCode(request(1)));
    const rules: VerifyRules = first.rules;
    const expiresAt = new Date(createdAt.getTime() + rules.validitySeconds * 1000);
    const attempts: SendCodeAttempt[] = [
      { attempt_sid: attemptSid(sid, 1), channel: input.channel, time: createdAt.toISOString() },
    ];
    const replies = new Map<string, VerifyReply>();
    let checkAttempts = 0;
    let status: VerificationStatusName = 'pending';

    const report = (): void => {
      const custom: VerifyStatus = {
        status,
        serviceSid: input.serviceSid,
        channel: input.channel,
        dateCreated: createdAt.toISOString(),
        dateUpdated: context.df.currentUtcDateTime.toISOString(),
        expiresAt: expiresAt.toISOString(),
        checkAttempts,
        sendCodeAttempts: attempts,
        replies: Object.fromEntries(replies),
      };
      context.df.setCustomStatus(custom);
    };
    const reply = (requestId: string, verdict: VerifyReply): void => {
      replies.set(requestId, verdict);
      if (replies.size > MAX_REPLIES) replies.delete(replies.keys().next().value!);
    };
    const end = (final: VerificationStatusName): VerificationStatusName => {
      status = final;
      report();
      return final;
    };

    report();
    // One open wait per event name, renewed only once it completed: an abandoned wait would still
    // take the next event of its name.
    let check = context.df.waitForExternalEvent(VERIFY_EVENT.Check);
    let resend = context.df.waitForExternalEvent(VERIFY_EVENT.Resend);
    let update = context.df.waitForExternalEvent(VERIFY_EVENT.Update);
    for (;;) {
      // A fresh timer per wait, the last one canceled: a task yielded in a second Task.any is
      // scheduled again by the extension's shim (a second TimerCreated), which shifts the ids of
      // every later activity against the SDK's own count and strands the instance.
      const timer: TimerTask = context.df.createTimer(expiresAt);
      const winner = yield context.df.Task.any([check, resend, update, timer]);
      if (winner === timer) return end('expired');
      timer.cancel();
      if (winner === update) {
        const asked = readUpdate(update.result);
        update = context.df.waitForExternalEvent(VERIFY_EVENT.Update);
        if (asked === undefined) continue;
        reply(asked.requestId, 'updated');
        return end(asked.status);
      }
      if (winner === resend) {
        const requestId = readRequestId(resend.result);
        resend = context.df.waitForExternalEvent(VERIFY_EVENT.Resend);
        if (requestId === undefined) continue;
        if (attempts.length >= rules.maxSendAttempts) {
          reply(requestId, 'max_sends');
        } else {
          // The same code again (derived from the sid, or the sealed custom code): a new SMS only.
          yield deps.sendCode(request(attempts.length + 1));
          attempts.push({
            attempt_sid: attemptSid(sid, attempts.length + 1),
            channel: input.channel,
            time: context.df.currentUtcDateTime.toISOString(),
          });
          reply(requestId, 'sent');
        }
        report();
        continue;
      }
      const asked = readCheck(check.result);
      check = context.df.waitForExternalEvent(VERIFY_EVENT.Check);
      if (asked === undefined) continue;
      const judged = deps.judgeAnswer(
        sid,
        first.challengeHash,
        { sealedAnswer: asked.sealedAnswer },
        input.codeLength,
      );
      // By when the app received it, whenever this episode runs: a late answer ends the instance.
      if (judged !== undefined && judged.receivedAt.getTime() >= expiresAt.getTime()) {
        reply(asked.requestId, 'expired');
        return end('expired');
      }
      checkAttempts += 1;
      if (judged?.correct === true) {
        reply(asked.requestId, 'approved');
        return end('approved');
      }
      reply(asked.requestId, 'pending');
      if (checkAttempts >= rules.maxCheckAttempts) return end('max_attempts_reached');
      report();
    }
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function readFirstSend(result: unknown): FirstSend {
  if (typeof result !== 'object' || result === null) {
    throw new Error('The first SendVerifyCode returned no rules');
  }
  const { challengeHash, rules } = result as Record<string, unknown>;
  if (typeof challengeHash !== 'string' || !isRules(rules)) {
    throw new Error('The first SendVerifyCode returned no rules');
  }
  return { challengeHash, rules };
}

function isRules(value: unknown): value is VerifyRules {
  if (typeof value !== 'object' || value === null) return false;
  const { validitySeconds, maxCheckAttempts, maxSendAttempts } = value as Record<string, unknown>;
  return [validitySeconds, maxCheckAttempts, maxSendAttempts].every(
    (n) => typeof n === 'number' && Number.isInteger(n) && n > 0,
  );
}

function readRequestId(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { requestId } = payload as Record<string, unknown>;
  return typeof requestId === 'string' && REQUEST_ID_PATTERN.test(requestId)
    ? requestId
    : undefined;
}

function readCheck(payload: unknown): CheckRequest | undefined {
  const requestId = readRequestId(payload);
  const { sealedAnswer } = (payload ?? {}) as Record<string, unknown>;
  return requestId === undefined || typeof sealedAnswer !== 'string'
    ? undefined
    : { requestId, sealedAnswer };
}

function readUpdate(payload: unknown): UpdateRequest | undefined {
  const requestId = readRequestId(payload);
  const { status } = (payload ?? {}) as Record<string, unknown>;
  return requestId === undefined || (status !== 'canceled' && status !== 'approved')
    ? undefined
    : { requestId, status };
}

/** The HTTP function validates the input; this guards against instances started some other way. */
function readInput(raw: unknown): VerifyInput {
  if (typeof raw !== 'object' || raw === null) throw new Error('Verify input must be an object');
  const input = raw as Partial<Record<keyof VerifyInput, unknown>>;
  if (
    typeof input.serviceSid !== 'string' ||
    (typeof input.sealedTo !== 'string' && typeof input.to !== 'string') ||
    typeof input.friendlyName !== 'string' ||
    typeof input.codeLength !== 'number' ||
    typeof input.channel !== 'string'
  ) {
    throw new Error('Verify input lacks serviceSid, sealedTo, channel, friendlyName or codeLength');
  }
  return raw as VerifyInput;
}
