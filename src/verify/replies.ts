import type { DurableOrchestrationStatus } from 'durable-functions';
import { randomBytes } from 'node:crypto';
import {
  FINISHED_STATUSES,
  findStatus,
  type VerificationClient,
} from '../verification/durable-client';
import { VerifyApiError } from './errors';
import { readVerifyInput, readVerifyStatus, type OpenTo } from './resources';
import type { OpenedVerifyInput, VerifyReply, VerifyStatus } from './rules';

/**
 * The HTTP side of the request/response with a verification: raise an event carrying a fresh
 * request id, then read the custom status until the orchestration has answered that id (or has
 * finished without answering it: the event came too late). The orchestration alone decides; the
 * function only waits for its verdict.
 */
export interface Verdict {
  readonly reply: VerifyReply | undefined;
  readonly input: OpenedVerifyInput;
  readonly custom: VerifyStatus | undefined;
  readonly finished: boolean;
  readonly createdTime: Date;
}

export interface ReplyWait {
  readonly waitMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Opens the verification's sealed `To` for the verdict's input. */
  readonly openTo: OpenTo;
}

export function newRequestId(): string {
  return randomBytes(16).toString('hex');
}

export async function raiseAndAwait(
  client: VerificationClient,
  sid: string,
  eventName: string,
  payload: { readonly requestId: string } & Record<string, unknown>,
  wait: ReplyWait,
): Promise<Verdict> {
  await client.raiseEvent(sid, eventName, payload);
  const deadline = Date.now() + wait.waitMs;
  // The verdict is usually one episode away: a first read after about one episode's time, then backing off.
  let delay = 8;
  for (;;) {
    const status = await findStatus(client, sid);
    if (status === undefined) throw new VerifyApiError('notFound');
    const verdict = toVerdict(status, wait.openTo, payload.requestId);
    if (verdict.reply !== undefined || verdict.finished) return verdict;
    if (Date.now() >= deadline) throw new VerifyApiError('unavailable');
    await wait.sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

export function toVerdict(
  status: DurableOrchestrationStatus,
  openTo: OpenTo,
  requestId?: string,
): Verdict {
  const input = readVerifyInput(status, openTo);
  if (input === undefined) throw new VerifyApiError('notFound');
  const custom = readVerifyStatus(status);
  return {
    input,
    custom,
    reply: requestId === undefined ? undefined : custom?.replies[requestId],
    finished: FINISHED_STATUSES.includes(status.runtimeStatus),
    createdTime: new Date(status.createdTime),
  };
}
