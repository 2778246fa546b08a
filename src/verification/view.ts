import { OrchestrationRuntimeStatus, type DurableOrchestrationStatus } from 'durable-functions';
import { ORCHESTRATION } from './names';
import { VERIFICATION_STATES, type VerificationState, type VerificationStatus } from './rules';

/** What end users see of a verification: never the input, output, history or management URLs. */
export interface VerificationView {
  readonly id: string;
  readonly state: VerificationState | 'pending' | 'failed' | 'terminated';
  readonly attemptsRemaining: number | null;
  readonly expiresAt: string | null;
}

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

function partial(
  custom: VerificationStatus | undefined,
): Pick<VerificationView, 'attemptsRemaining' | 'expiresAt'> {
  return {
    attemptsRemaining: custom?.attemptsRemaining ?? null,
    expiresAt: custom?.expiresAt ?? null,
  };
}

export function readCustomStatus(value: unknown): VerificationStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { state, attemptsRemaining, expiresAt } = value as Record<string, unknown>;
  if (
    typeof state !== 'string' ||
    !isVerificationState(state) ||
    typeof attemptsRemaining !== 'number' ||
    typeof expiresAt !== 'string'
  ) {
    return undefined;
  }
  return { state, attemptsRemaining, expiresAt };
}

function isVerificationState(value: string): value is VerificationState {
  return (VERIFICATION_STATES as readonly string[]).includes(value);
}
