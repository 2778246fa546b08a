import type { HttpRequest, InvocationContext } from '@azure/functions';
import type { VerificationConfig } from '../config';
import { NotFoundError } from '../errors';
import { readJson, routeParam } from '../http/parse';
import type { Handler } from '../http/respond';
import type { GetVerificationClient } from './durable-client';
import { HTTP_STARTABLE_ORCHESTRATIONS } from './names';
import { parsePhoneNumber } from './parse';
import type { VerificationInput } from './rules';

export interface HttpStartDeps {
  readonly getClient: GetVerificationClient;
  /** Read when an instance starts; the values travel in its input so they never change mid-flight. */
  readonly verification: () => VerificationConfig;
}

/**
 * `POST /api/orchestrators/{orchestratorName}` with `"+14255550100"` or `{"phoneNumber": "..."}`:
 * starts a verification and answers 202 with the Durable management payload, as the seed does.
 */
export function createHttpStart(deps: HttpStartDeps): Handler {
  return async (request: HttpRequest, context: InvocationContext) => {
    const requested = routeParam(request, 'orchestratorName');
    const name = HTTP_STARTABLE_ORCHESTRATIONS.find(
      (n) => n.toLowerCase() === requested.toLowerCase(),
    );
    if (name === undefined) {
      throw new NotFoundError('No orchestration with that name can be started over HTTP.');
    }
    const phoneNumber = parsePhoneNumber(await readJson(request));
    const { timeoutSeconds, maxAttempts, codeLength } = deps.verification();
    const input: VerificationInput = { phoneNumber, timeoutSeconds, maxAttempts, codeLength };

    const client = deps.getClient(context);
    const instanceId = await client.startNew(name, { input });
    context.log(`Started ${name} instance ${instanceId}`);
    return client.createCheckStatusResponse(request, instanceId);
  };
}
