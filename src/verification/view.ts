import { OrchestrationRuntimeStatus, type DurableOrchestrationStatus } from 'durable-functions';
import { ORCHESTRATION } from './names';
import type { ResponseBody } from '../http/schema';
import { VERIFICATION_STATES, type VerificationState, type VerificationStatus } from './rules';
import type { Verification } from './schemas';

/** What end users see of a verification: never the input, output, history or management URLs. */
export type VerificationView = ResponseBody<typeof Verification>;

export function isVerificationInstance(status: DurableOrchestrationStatus): boolean {
  return status.name.toLowerCase() === ORCHESTRATION.SmsPhoneVerification.toLowerCase();
}

export function toVerificationView(status: DurableOrchestrationStatus): VerificationView {
  const custom = readCustomStatus(status.customStatus);
  const id = status.instanceId;
  const attemptsRemaining = custom?.attemptsRemaining ?? null;
  const expiresAt = custom?.expiresAt ?? null;
  if (status.runtimeStatus === OrchestrationRuntimeStatus.Failed)
    return { id, state: 'failed', attemptsRemaining, expiresAt };
  if (
    status.runtimeStatus === OrchestrationRuntimeStatus.Terminated ||
    status.runtimeStatus === OrchestrationRuntimeStatus.Canceled
  ) {
    return { id, state: 'terminated', attemptsRemaining, expiresAt };
  }
  return { id, state: custom?.state ?? 'pending', attemptsRemaining, expiresAt };
}

export function readCustomStatus(value: unknown): VerificationStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { state, attemptsRemaining, expiresAt, codeLength } = value as Record<string, unknown>;
  if (
    typeof state !== 'string' ||
    !isVerificationState(state) ||
    typeof attemptsRemaining !== 'number' ||
    typeof expiresAt !== 'string' ||
    typeof codeLength !== 'number'
  ) {
    return undefined;
  }
  return { state, attemptsRemaining, expiresAt, codeLength };
}

function isVerificationState(value: string): value is VerificationState {
  return (VERIFICATION_STATES as readonly string[]).includes(value);
}
