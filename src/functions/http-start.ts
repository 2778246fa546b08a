import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { getVerificationConfig } from '../composition';
import { E164_PATTERN, type VerificationConfig } from '../config';
import { NotFoundError, ValidationError } from '../errors';
import type { VerificationInput } from '../domain/verification';
import { getDurableClient, type GetVerificationClient } from '../http/durable-client';
import { isRecord, readJson, routeParam } from '../http/parse';
import { withErrors, type Handler } from '../http/respond';
import { FUNCTION, HTTP_STARTABLE_ORCHESTRATIONS, ROUTE } from '../names';

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

function parsePhoneNumber(body: unknown): string {
  const value = isRecord(body) ? body.phoneNumber : body;
  if (typeof value !== 'string') {
    throw new ValidationError({
      field: 'phoneNumber',
      message: 'send the number as a JSON string or as {"phoneNumber": "..."}',
    });
  }
  const phoneNumber = value.trim();
  if (!E164_PATTERN.test(phoneNumber)) {
    throw new ValidationError({
      field: 'phoneNumber',
      message: 'must be E.164: + and 8-15 digits',
    });
  }
  return phoneNumber;
}

export const httpStart = withErrors(
  createHttpStart({ getClient: getDurableClient, verification: getVerificationConfig }),
);

app.http(FUNCTION.httpStart, {
  route: ROUTE.httpStart,
  methods: ['POST'],
  // Anonymous like the official sample: phone verification is the first thing an unknown user does.
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: httpStart,
});
