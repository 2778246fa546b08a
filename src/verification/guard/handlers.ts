import { json, type Handler } from '../../http/respond';
import type { ConversionReport } from './conversion';
import type { ProofOfWork } from './proof-of-work';

/**
 * `GET /api/verifications/challenge` (anonymous): a signed ALTCHA challenge for the next start,
 * 404 when proof of work is off.
 */
export function createChallengeHandler(deps: {
  readonly proofOfWork: () => Pick<ProofOfWork, 'challenge'>;
}): Handler {
  return async () => json(200, await deps.proofOfWork().challenge());
}

/**
 * `GET /api/verifications/guard/report` (function key): the conversion counters per prefix and
 * country, blocks (and dry-run blocks) first, so operators can see what the guard decided.
 */
export function createGuardReportHandler(deps: {
  readonly report: () => Promise<ConversionReport>;
}): Handler {
  return async () => json(200, await deps.report());
}
