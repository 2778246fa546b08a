import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { ConflictError, GoneError, NotFoundError, ValidationError } from '../errors';
import { sealVerificationCode } from '../composition';
import { isWellFormedCode, normalizeCode, type SealedCodePayload } from '../domain/verification';
import {
  FINISHED_STATUSES,
  findStatus,
  getDurableClient,
  parseInstanceId,
  type GetVerificationClient,
} from '../http/durable-client';
import { Fields, readJson, routeParam } from '../http/parse';
import { json, withErrors, type Handler } from '../http/respond';
import { isVerificationInstance, readCustomStatus } from '../http/verification-view';
import { EVENT, FUNCTION, ROUTE } from '../names';

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
    const fields = new Fields();
    const body = fields.object(await readJson(request));
    fields.noUnknown(body, ['code']);
    const code = body.code;
    if (code === undefined || code === null) {
      fields.add('code', 'required');
    } else if (!isWellFormedCode(code)) {
      fields.add('code', 'must be a string of 4-10 digits or a non-negative integer');
    }
    fields.throwIfAny();
    if (!isWellFormedCode(code)) throw new ValidationError({ field: 'code', message: 'invalid' });

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
    if (normalized === undefined) throw new ValidationError({ field: 'code', message: 'invalid' });
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

export const submitVerificationCode = withErrors(
  createSubmitVerificationCode({
    getClient: getDurableClient,
    now: () => new Date(),
    sealCode: sealVerificationCode,
  }),
);

app.http(FUNCTION.submitVerificationCode, {
  route: ROUTE.submitVerificationCode,
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: submitVerificationCode,
});
