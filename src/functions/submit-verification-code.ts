import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { ConflictError, GoneError, NotFoundError, ValidationError } from '../domain/errors';
import { isWellFormedCode } from '../domain/verification';
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
}

/**
 * `POST /api/verifications/{id}/code` with `{"code": "012345"}` or `{"code": 12345}`.
 * The durable client's raiseEvent silently accepts events for finished instances, so the status is
 * checked first: unknown → 404, finished or past its deadline → 410.
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

    await client.raiseEvent(id, EVENT.SmsChallengeResponse, code);
    return json(
      202,
      { id, status: 'submitted' },
      { Location: `/api/${ROUTE.getVerification.replace('{id}', id)}` },
    );
  };
}

export const submitVerificationCode = withErrors(
  createSubmitVerificationCode({ getClient: getDurableClient, now: () => new Date() }),
);

app.http(FUNCTION.submitVerificationCode, {
  route: ROUTE.submitVerificationCode,
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: submitVerificationCode,
});
