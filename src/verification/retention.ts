import type { InvocationContext } from '@azure/functions';
import { FINISHED_STATUSES, type GetVerificationClient } from './durable-client';

export interface RetentionDeps {
  readonly getClient: GetVerificationClient;
  readonly retentionHours: () => number;
  readonly now: () => Date;
}

/**
 * The retention timer: purges finished verifications (they hold phone numbers) created more than
 * `VERIFICATION_RETENTION_HOURS` ago. A verification finishes within its timeout (at most an
 * hour), so "created before" is a safe stand-in for "finished before". Running ones are kept.
 */
export function createPurgeExpiredVerifications(deps: RetentionDeps) {
  return async function purgeExpiredVerifications(
    _timer: unknown,
    context: InvocationContext,
  ): Promise<void> {
    const cutoff = new Date(deps.now().getTime() - deps.retentionHours() * 3_600_000);
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
