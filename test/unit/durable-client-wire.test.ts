/**
 * The HTTP functions against the real durable-functions client, whose management calls go to a
 * loopback stub (its `rpcBaseUrl`). This pins what the fakes assume: the starter's payload, the
 * 404 error text of getStatus, and the raiseEvent request.
 */
import './helpers/quiet-test-mode';
import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { createGetVerification } from '../../src/verification/get';
import { createHttpStart } from '../../src/verification/start';
import { createSubmitVerificationCode } from '../../src/verification/submit-code';
import { codeMatches, hashCode, sealCode } from '../../src/verification/codes';
import { getDurableClient } from '../../src/verification/durable-client';
import { withErrors } from '../../src/http/respond';
import { bodyOf, headerOf, request } from './helpers/fakes';
import { StubServer } from './helpers/stub-server';

const ID = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const WEBHOOK = 'http://localhost:7071/runtime/webhooks/durabletask';
const QUERY = 'taskHub=SmsVerificationHub&connection=Storage&code=SYSTEMKEY';
const SECRET = 'wire-test-secret-0123456789';
const sealWithTestSecret = (instanceId: string, code: string) => sealCode(SECRET, instanceId, code);

let stub: StubServer;
beforeEach(async () => {
  stub = await new StubServer().start();
});
afterEach(() => stub.close());

function durableContext(): InvocationContext {
  const input = df.input.durableClient();
  const context = new InvocationContext({
    functionName: 'wire',
    options: { extraInputs: [input] },
  });
  context.extraInputs.set(input, {
    taskHubName: 'SmsVerificationHub',
    creationUrls: {
      createNewInstancePostUri: `${WEBHOOK}/orchestrators/{functionName}[/{instanceId}]?code=SYSTEMKEY`,
      createAndWaitOnNewInstancePostUri: `${WEBHOOK}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=SYSTEMKEY`,
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: `${WEBHOOK}/instances/INSTANCEID?${QUERY}`,
      sendEventPostUri: `${WEBHOOK}/instances/INSTANCEID/raiseEvent/{eventName}?${QUERY}`,
      terminatePostUri: `${WEBHOOK}/instances/INSTANCEID/terminate?reason={text}&${QUERY}`,
      rewindPostUri: `${WEBHOOK}/instances/INSTANCEID/rewind?reason={text}&${QUERY}`,
      purgeHistoryDeleteUri: `${WEBHOOK}/instances/INSTANCEID?${QUERY}`,
      restartPostUri: `${WEBHOOK}/instances/INSTANCEID/restart?${QUERY}`,
      suspendPostUri: `${WEBHOOK}/instances/INSTANCEID/suspend?reason={text}&${QUERY}`,
      resumePostUri: `${WEBHOOK}/instances/INSTANCEID/resume?reason={text}&${QUERY}`,
    },
    baseUrl: WEBHOOK,
    requiredQueryStringParameters: 'code=SYSTEMKEY',
    rpcBaseUrl: `${stub.url}/durabletask/`,
  });
  return context;
}

// The extension includes the input unless `showInput=false` is asked for; the code endpoint reads
// the instance's code length from it.
const status = (runtimeStatus: string, customStatus: unknown) => ({
  name: 'SmsPhoneVerification',
  instanceId: ID,
  createdTime: '2026-11-22T10:00:00Z',
  lastUpdatedTime: '2026-11-22T10:00:01Z',
  runtimeStatus,
  input: { phoneNumber: '+14255550100', timeoutSeconds: 90, maxAttempts: 4, codeLength: 6 },
  output: null,
  customStatus,
});

it('starts an instance with the configured rules and returns the management payload for the caller origin', async () => {
  stub.replies.push({ status: 202, body: { id: ID } });
  const start = withErrors(
    createHttpStart({
      getClient: getDurableClient,
      verification: () => ({
        timeoutSeconds: 90,
        maxAttempts: 4,
        codeLength: 6,
        messageTemplate: '{code}',
        codeSecret: 'x'.repeat(16),
      }),
    }),
  );
  const response = await start(
    request({
      url: 'http://func.example:8080/api/orchestrators/SmsPhoneVerification',
      params: { orchestratorName: 'SmsPhoneVerification' },
      body: '+14255550100',
    }),
    durableContext(),
  );
  expect(response.status).toBe(202);
  expect(stub.requests[0]?.url).toBe('/durabletask/orchestrators/SmsPhoneVerification');
  expect(JSON.parse(stub.requests[0]!.body)).toEqual({
    phoneNumber: '+14255550100',
    timeoutSeconds: 90,
    maxAttempts: 4,
    codeLength: 6,
  });
  const body = (await bodyOf(response)) as Record<string, string>;
  expect(body.id).toBe(ID);
  expect(body.statusQueryGetUri).toBe(
    `http://func.example:8080/runtime/webhooks/durabletask/instances/${ID}?${QUERY}`,
  );
  expect(body.sendEventPostUri).toContain(`/instances/${ID}/raiseEvent/{eventName}`);
  expect(headerOf(response, 'location')).toBe(body.statusQueryGetUri);
});

it('answers 404 when the real client reports an unknown instance', async () => {
  stub.replies.push({ status: 404, body: { message: 'not found' } });
  const get = withErrors(createGetVerification({ getClient: getDurableClient }));
  const response = await get(request({ method: 'GET', params: { id: ID } }), durableContext());
  expect(response.status).toBe(404);
  expect(stub.requests[0]?.url).toBe(`/durabletask/instances/${ID}`);
});

it('checks the status, then raises the event with the submitted code sealed', async () => {
  stub.replies.push(
    {
      status: 200,
      body: status('Running', {
        state: 'awaiting_code',
        attemptsRemaining: 4,
        expiresAt: '2026-11-22T10:01:30Z',
      }),
    },
    { status: 202 },
  );
  const submit = withErrors(
    createSubmitVerificationCode({
      getClient: getDurableClient,
      now: () => new Date('2026-11-22T10:00:30Z'),
      sealCode: sealWithTestSecret,
    }),
  );
  const response = await submit(
    request({ params: { id: ID }, body: { code: 2168 } }),
    durableContext(),
  );
  expect(response.status).toBe(202);
  expect(stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
    `GET /durabletask/instances/${ID}`,
    `POST /durabletask/instances/${ID}/raiseEvent/SmsChallengeResponse`,
  ]);
  const raised = stub.requests[1]?.body ?? '';
  expect(raised).not.toContain('2168');
  const payload = JSON.parse(raised) as unknown;
  expect(Object.keys(payload as object)).toEqual(['sealedCode']);
  expect(codeMatches(SECRET, ID, hashCode(SECRET, ID, '002168'), payload, 6)).toBe(true);
});

it('answers 410 for a completed instance without raising the event', async () => {
  stub.replies.push({
    status: 200,
    body: status('Completed', {
      state: 'verified',
      attemptsRemaining: 3,
      expiresAt: '2026-11-22T10:01:30Z',
    }),
  });
  const submit = withErrors(
    createSubmitVerificationCode({
      getClient: getDurableClient,
      now: () => new Date('2026-11-22T10:00:30Z'),
      sealCode: sealWithTestSecret,
    }),
  );
  const response = await submit(
    request({ params: { id: ID }, body: { code: '123456' } }),
    durableContext(),
  );
  expect(response.status).toBe(410);
  expect(stub.requests).toHaveLength(1);
});
