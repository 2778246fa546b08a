import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { NotFoundError } from '../errors';
import {
  findStatus,
  getDurableClient,
  parseInstanceId,
  type GetVerificationClient,
} from '../http/durable-client';
import { routeParam } from '../http/parse';
import { json, withErrors, type Handler } from '../http/respond';
import { isVerificationInstance, toVerificationView } from '../http/verification-view';
import { FUNCTION, ROUTE } from '../names';

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

export const getVerification = withErrors(createGetVerification({ getClient: getDurableClient }));

app.http(FUNCTION.getVerification, {
  route: ROUTE.getVerification,
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: getVerification,
});
