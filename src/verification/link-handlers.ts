import type { HttpRequest } from '@azure/functions';
import type { DurableOrchestrationStatus } from 'durable-functions';
import { ConflictError, GoneError, NotFoundError } from '../errors';
import { readJson } from '../http/parse';
import type { ResponseBody } from '../http/schema';
import { json, noContent, type Handler } from '../http/respond';
import { normalizeCode, type WellFormedCode } from './codes';
import { FINISHED_STATUSES } from './durable-client';
import type { SendGuard } from './guard/send-guard';
import { openLink, type LinkAccessDeps, type OpenedLink } from './link-access';
import { EVENT } from './names';
import {
  parseCodeSubmission,
  parseEventAnswer,
  type SubmitCodeAccepted,
  type VerificationAction,
  type VerificationStatus,
} from './schemas';
import { isCodeLength, recipientFields } from './rules';
import type { SealedAnswerPayload } from './crypto/sealed-answer';
import { readCustomStatus, toVerificationView } from './view';
import { openPhoneNumber, type OpenRecipient } from './recipient';
import { maskPhoneNumber } from '../redact';

/**
 * The per-verification links of the 202 answer, and the end-user endpoints that take the same
 * tokens. Each handler: open the link (token for this instance and purpose, else 404), one
 * action, map the result.
 */

export interface AnswerDeps extends LinkAccessDeps {
  /** The app's clock: an answer counts by when it was received here. */
  readonly now: () => Date;
  /** Seals `{code, receivedAt}` for one instance (AES-256-GCM, instance id as AAD). */
  readonly sealAnswer: (instanceId: string, code: string, receivedAt: Date) => SealedAnswerPayload;
  /**
   * The configured code length, for an answer that arrives before the orchestrator has reported
   * its own (the user read the SMS before `SendSmsChallenge` returned).
   */
  readonly configuredCodeLength: () => number;
}

/** The links that need the instance's number open its sealed form (history holds no other). */
export interface RecipientDeps extends LinkAccessDeps {
  readonly openRecipient: OpenRecipient;
}

export interface ResendDeps extends RecipientDeps {
  readonly now: () => Date;
  readonly guard: () => Pick<SendGuard, 'check'>;
}

/** An answer is a few digits; anything much larger is refused before parsing (413). */
export const MAX_ANSWER_BYTES = 1024;

/**
 * `statusQueryGetUri`: the Durable status shape; 202 until finished (a Suspended instance too, as the
 * extension's status endpoint answers, so a poller does not stop there), 200 once finished.
 */
export function createVerificationStatus(deps: RecipientDeps): Handler {
  return async (request, context) => {
    const { id, status } = await openLink(deps, request, context, 'status');
    return json(FINISHED_STATUSES.includes(status.runtimeStatus) ? 200 : 202, {
      name: status.name,
      instanceId: status.instanceId,
      runtimeStatus: status.runtimeStatus,
      // Masked: a status link travels (browsers, proxies, logs); its holder knows the number.
      input: maskPhoneNumber(phoneNumberOf(deps, id, status.input)),
      customStatus: status.customStatus ?? null,
      output: status.output ?? null,
      createdTime: iso(status.createdTime),
      lastUpdatedTime: iso(status.lastUpdatedTime),
    } satisfies ResponseBody<typeof VerificationStatus>);
  };
}

/** `GET /api/verifications/{id}?token=` (the status token): the end-user view. */
export function createGetVerification(deps: LinkAccessDeps): Handler {
  return async (request, context) => {
    const { status } = await openLink(deps, request, context, 'status');
    return json(200, toVerificationView(status));
  };
}

/**
 * `sendEventPostUri` with `{eventName}` = `SmsChallengeResponse` and the bare code as the body
 * (`2168` or `"002168"`), as in the official sample. Other event names: 404. Answered like the extension:
 * 202 without a body.
 */
export function createRaiseVerificationEvent(deps: AnswerDeps): Handler {
  return async (request, context) => {
    const opened = await openLink(deps, request, context, 'code');
    if (
      (request.params.eventName ?? '').toLowerCase() !== EVENT.SmsChallengeResponse.toLowerCase()
    ) {
      throw new NotFoundError('No such event for this verification.');
    }
    await raiseAnswer(deps, opened, parseEventAnswer(await readAnswerBody(request)));
    return { status: 202, headers: { 'Cache-Control': 'no-store' } };
  };
}

/** `POST /api/verifications/{id}/code?token=` (the code token) with `{"code": "012345"}`. */
export function createSubmitVerificationCode(deps: AnswerDeps): Handler {
  return async (request, context) => {
    const opened = await openLink(deps, request, context, 'code');
    await raiseAnswer(deps, opened, parseCodeSubmission(await readAnswerBody(request)));
    return json(202, { id: opened.id, status: 'submitted' } satisfies ResponseBody<
      typeof SubmitCodeAccepted
    >);
  };
}

/** `terminatePostUri`: the orchestrator ends the verification with `false` and `canceled`. */
export function createCancelVerification(deps: LinkAccessDeps): Handler {
  return async (request, context) => {
    const { id, client, status } = await openLink(deps, request, context, 'cancel');
    assertRunning(status);
    await client.raiseEvent(id, EVENT.CancelRequested, null);
    return json(202, { id, status: 'canceling' } satisfies ResponseBody<typeof VerificationAction>);
  };
}

/** `purgeHistoryDeleteUri`: erases a finished verification (the user's own data); 409 before. */
export function createPurgeVerification(deps: LinkAccessDeps): Handler {
  return async (request, context) => {
    const { id, client, status } = await openLink(deps, request, context, 'purge');
    if (!FINISHED_STATUSES.includes(status.runtimeStatus)) {
      throw new ConflictError('Only a finished verification can be deleted; cancel it first.');
    }
    await client.purgeInstanceHistory(id);
    return noContent();
  };
}

/**
 * `resendPostUri`: a new code (the old one stops working), subject to the cooldown and the
 * velocity limits; attempts and deadline unchanged. Reaches the orchestrator as an event.
 */
export function createResendVerificationCode(deps: ResendDeps): Handler {
  return async (request, context) => {
    const { id, client, status } = await openLink(deps, request, context, 'resend');
    assertAwaitingCode(status, deps.now());
    // The number was accepted at start; the policy is checked again in case it changed since.
    await deps.guard().check(phoneNumberOf(deps, id, status.input), request.headers);
    await client.raiseEvent(id, EVENT.ResendRequested, null);
    return json(202, { id, status: 'resending' } satisfies ResponseBody<typeof VerificationAction>);
  };
}

/**
 * The durable client's raiseEvent silently accepts events for finished instances, so the status
 * is checked first: finished or past its deadline → 410. An answer that arrives while the SMS is
 * still being sent (no custom status yet) is raised like any other: the orchestration keeps it
 * until it waits for it, as the extension does for `sendEventPostUri`, and the receipt time is
 * before any deadline. The code is normalised with the instance's code length (once sealed, a
 * number could no longer be told from a string) and sealed with its receipt time: history never
 * holds a raw code.
 */
async function raiseAnswer(deps: AnswerDeps, opened: OpenedLink, code: WellFormedCode) {
  const receivedAt = deps.now();
  assertRunning(opened.status);
  const custom = readCustomStatus(opened.status.customStatus);
  if (
    custom !== undefined &&
    (custom.state !== 'awaiting_code' || Date.parse(custom.expiresAt) <= receivedAt.getTime())
  ) {
    throw new GoneError('This verification no longer accepts codes; start a new one.');
  }
  const codeLength = custom === undefined ? deps.configuredCodeLength() : custom.codeLength;
  if (!isCodeLength(codeLength)) throw new ConflictError('This verification cannot accept codes.');
  const payload = deps.sealAnswer(opened.id, normalizeCode(code, codeLength), receivedAt);
  await opened.client.raiseEvent(opened.id, EVENT.SmsChallengeResponse, payload);
}

function assertRunning(status: DurableOrchestrationStatus): void {
  if (FINISHED_STATUSES.includes(status.runtimeStatus)) {
    throw new GoneError('This verification has finished; start a new one.');
  }
}

/** A resend needs a first SMS that went out: 409 before, 410 once finished or past the deadline. */
function assertAwaitingCode(status: DurableOrchestrationStatus, now: Date): void {
  assertRunning(status);
  const custom = readCustomStatus(status.customStatus);
  if (custom === undefined) {
    throw new ConflictError('The code has not been sent yet; try again in a moment.');
  }
  if (custom.state !== 'awaiting_code' || Date.parse(custom.expiresAt) <= now.getTime()) {
    throw new GoneError('This verification no longer accepts codes; start a new one.');
  }
}

async function readAnswerBody(request: HttpRequest): Promise<unknown> {
  return readJson(request, { maxBytes: MAX_ANSWER_BYTES });
}

/**
 * The number an instance texts, opened from its input (sealed; plain in instances started before).
 * The status answer shows only this of the input, masked.
 */
function phoneNumberOf(deps: RecipientDeps, id: string, input: unknown): string {
  const phoneNumber =
    typeof input === 'object' && input !== null
      ? openPhoneNumber(deps.openRecipient, id, recipientFields(input))
      : undefined;
  if (phoneNumber === undefined) throw new ConflictError('This verification has no number.');
  return phoneNumber;
}

function iso(value: Date | string | undefined): string | null {
  if (value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
