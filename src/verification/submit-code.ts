import type { HttpRequest, InvocationContext } from '@azure/functions';
import { ConflictError, GoneError, NotFoundError } from '../errors';
import { readJson, routeParam } from '../http/parse';
import { json, type Handler } from '../http/respond';
import { normalizeCode, type SealedCodePayload } from './codes';
import {
  FINISHED_STATUSES,
  findStatus,
  parseInstanceId,
  type GetVerificationClient,
} from './durable-client';
import { EVENT, ROUTE } from './names';
import { parseCodeSubmission } from './parse';
import { isVerificationInstance, readCustomStatus } from './view';

export interface SubmitCodeDeps {
  readonly getClient: GetVerificationClient;
  readonly now: () => Date;
  /** Encrypts a normalised code for one instance (AES-256-GCM, instance id as AAD). */
  readonly sealCode: (instanceId: string, code: string) => string;
}

/**
 * `POST /api/verifications/{id}/code` with `{"code": "012345"}` or `{"code": 12345}`.
 * The durable client's raiseEvent silently accepts events for finished instances, so the status is
 * checked first: unknown → 404, finished or past its deadline → 410.
 * The event payload is stored in history, so the code is raised sealed (`{ sealedCode }`), never
 * raw; the orchestrator opens it with the same secret.
 */
export function createSubmitVerificationCode(deps: SubmitCodeDeps): Handler {
  return async (request: HttpRequest, context: InvocationContext) => {
    const id = parseInstanceId(routeParam(request, 'id'));
    const code = parseCodeSubmission(await readJson(request));

    const client = deps.getClient(context);
    const status = await findStatus(client, id);
    if (status === undefined || !isVerificationInstance(status)) {
      throw new NotFoundError('No such verification.');
    }
    if (FINISHED_STATUSES.includes(status.runtimeStatus)) {
      throw new GoneError('This verification has finished; start a new one.');
    }
    const custom = readCustomStatus(status.customStatus);
    if (custom === undefined) {
      throw new ConflictError('The code has not been sent yet; try again in a moment.');
    }
    if (custom.state !== 'awaiting_code' || Date.parse(custom.expiresAt) <= deps.now().getTime()) {
      throw new GoneError('This verification no longer accepts codes; start a new one.');
    }

    // Normalised here with the instance's own code length, as the orchestrator does for raw codes:
    // once sealed, a number could no longer be told from a string.
    const normalized = normalizeCode(code, readCodeLength(status.input));
    const payload: SealedCodePayload = { sealedCode: deps.sealCode(id, normalized) };
    await client.raiseEvent(id, EVENT.SmsChallengeResponse, payload);
    return json(
      202,
      { id, status: 'submitted' },
      { Location: `/api/${ROUTE.getVerification.replace('{id}', id)}` },
    );
  };
}

/**
 * Once the instance is awaiting a code its input is the starter's, which always carries the code
 * length; anything else is an instance this endpoint cannot answer for.
 */
function readCodeLength(input: unknown): number {
  const codeLength =
    typeof input === 'object' && input !== null
      ? (input as Record<string, unknown>).codeLength
      : undefined;
  if (typeof codeLength !== 'number' || !Number.isInteger(codeLength) || codeLength < 1) {
    throw new ConflictError('This verification cannot accept codes.');
  }
  return codeLength;
}
