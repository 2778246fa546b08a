import type { HttpRequest, InvocationContext } from '@azure/functions';
import { NotFoundError } from '../errors';
import { routeParam } from '../http/parse';
import { json, type Handler } from '../http/respond';
import { findStatus, parseInstanceId, type GetVerificationClient } from './durable-client';
import { isVerificationInstance, toVerificationView } from './view';

export interface GetVerificationDeps {
  readonly getClient: GetVerificationClient;
}

/** `GET /api/verifications/{id}`: state without the management key, input or output. */
export function createGetVerification(deps: GetVerificationDeps): Handler {
  return async (request: HttpRequest, context: InvocationContext) => {
    const id = parseInstanceId(routeParam(request, 'id'));
    const status = await findStatus(deps.getClient(context), id);
    if (status === undefined || !isVerificationInstance(status)) {
      throw new NotFoundError('No such verification.');
    }
    return json(200, toVerificationView(status));
  };
}
