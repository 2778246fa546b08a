import { OrchestrationRuntimeStatus, type DurableOrchestrationStatus } from 'durable-functions';
import type { VerificationState } from '../domain/verification';
import { ORCHESTRATION } from '../names';

/** What end users see of a verification: never the input, output, history or management URLs. */
export interface VerificationView {
  readonly id: string;
  readonly state: VerificationState | 'pending' | 'failed' | 'terminated';
  readonly attemptsRemaining: number | null;
  readonly expiresAt: string | null;
}

const STATES: readonly string[] = ['awaiting_code', 'verified', 'expired', 'too_many_attempts'];

export function isVerificationInstance(status: DurableOrchestrationStatus): boolean {
  return status.name.toLowerCase() === ORCHESTRATION.SmsPhoneVerification.toLowerCase();
}

export function toVerificationView(status: DurableOrchestrationStatus): VerificationView {
  const custom = readCustomStatus(status.customStatus);
  if (status.runtimeStatus === OrchestrationRuntimeStatus.Failed)
    return { id: status.instanceId, state: 'failed', ...partial(custom) };
  if (
    status.runtimeStatus === OrchestrationRuntimeStatus.Terminated ||
    status.runtimeStatus === OrchestrationRuntimeStatus.Canceled
  ) {
    return { id: status.instanceId, state: 'terminated', ...partial(custom) };
  }
  if (custom === undefined) {
    return { id: status.instanceId, state: 'pending', attemptsRemaining: null, expiresAt: null };
  }
  return { id: status.instanceId, ...custom };
}

interface CustomStatus {
  readonly state: VerificationState;
  readonly attemptsRemaining: number;
  readonly expiresAt: string;
}

function partial(
  custom: CustomStatus | undefined,
): Pick<VerificationView, 'attemptsRemaining' | 'expiresAt'> {
  return {
    attemptsRemaining: custom?.attemptsRemaining ?? null,
    expiresAt: custom?.expiresAt ?? null,
  };
}

export function readCustomStatus(value: unknown): CustomStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { state, attemptsRemaining, expiresAt } = value as Record<string, unknown>;
  if (
    typeof state !== 'string' ||
    !STATES.includes(state) ||
    typeof attemptsRemaining !== 'number' ||
    typeof expiresAt !== 'string'
  ) {
    return undefined;
  }
  return { state: state as VerificationState, attemptsRemaining, expiresAt };
}
