import type { InvocationContext, Timer } from '@azure/functions';
import { FINISHED_STATUSES, type GetVerificationClient } from './durable-client';

export interface RetentionDeps {
  readonly getClient: GetVerificationClient;
  readonly retentionHours: () => number;
  /** Only when the trigger carries no time of its own (a hand-made invocation). */
  readonly now: () => Date;
}

/**
 * The time of this run on the host's clock: `scheduleStatus.lastUpdated`, which the host writes as it fires
 * the timer. The instances' created times come from the same host (the Durable runtime's clock), so the
 * cutoff and what it is compared with are on one clock, also where that clock is not the process's
 * (a test's manual clock).
 */
function runTime(timer: unknown, fallback: () => Date): Date {
  const stamp = (timer as Partial<Timer> | null | undefined)?.scheduleStatus?.lastUpdated;
  const at = typeof stamp === 'string' ? new Date(stamp) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at : fallback();
}

/**
 * The retention timer: purges finished verifications (their numbers sealed; plain in those started
 * before recipients were sealed) created more than `VERIFICATION_RETENTION_HOURS` ago. A
 * verification finishes within its timeout (at most an hour), so "created before" is a safe
 * stand-in for "finished before". Running ones are kept.
 */
export function createPurgeExpiredVerifications(deps: RetentionDeps) {
  return async function purgeExpiredVerifications(
    timer: unknown,
    context: InvocationContext,
  ): Promise<void> {
    const now = runTime(timer, deps.now);
    const cutoff = new Date(now.getTime() - deps.retentionHours() * 3_600_000);
    const result = await deps.getClient(context).purgeInstanceHistoryBy({
      createdTimeFrom: new Date(0),
      createdTimeTo: cutoff,
      runtimeStatus: [...FINISHED_STATUSES],
    });
    context.log(
      `Retention: purged ${result.instancesDeleted} verifications created before ${cutoff.toISOString()}`,
    );
  };
}
