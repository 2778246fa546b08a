/**
 * The HTTP functions against the real durable-functions client, whose management calls go to a
 * loopback stub (its `rpcBaseUrl`). This pins what the fakes assume: the starter's payload, the
 * 404 error text of getStatus, and the raiseEvent request.
 */
import './helpers/quiet-test-mode';
import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { createHttpStart, createTrustedStart } from '../../src/verification/start';
import {
  createGetVerification,
  createSubmitVerificationCode,
} from '../../src/verification/link-handlers';
import { hashCode, judgeAnswer } from '../../src/verification/crypto/code-hash';
import { verifyLinkToken } from '../../src/verification/crypto/link-tokens';
import { sealAnswer } from '../../src/verification/crypto/sealed-answer';
import { openRecipient, sealRecipient } from '../../src/verification/crypto/sealed-recipient';
import { buildVerificationLinks } from '../../src/verification/links';
import { getDurableClient } from '../../src/verification/durable-client';
import { withErrors } from '../../src/http/respond';
import { bodyOf, headerOf, request } from './helpers/fakes';
import { StubServer } from './helpers/stub-server';

const ID = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const WEBHOOK = 'http://localhost:7071/runtime/webhooks/durabletask';
const QUERY = 'taskHub=SmsVerificationHub&connection=Storage&code=SYSTEMKEY';
const SECRET = 'wire-test-secret-0123456789';
const LINKS = { publicOrigin: new URL('https://verify.example') };
const links = (instanceId: string) => buildVerificationLinks(SECRET, LINKS, instanceId);
const SEALED = /^[A-Za-z0-9_-]{38,}$/;
const recipients = {
  sealRecipient: (id: string, field: 'phoneNumber' | 'email' | 'to', recipient: string) =>
    sealRecipient(SECRET, id, field, recipient),
  newInstanceId: () => ID,
};
const tokenOf = (uri: string) =>
  new URL(uri.replace('{eventName}', 'x')).searchParams.get('token')!;
const access = {
  getClient: getDurableClient,
  verifyLinkToken: (id: string, purpose: Parameters<typeof verifyLinkToken>[2], token: unknown) =>
    verifyLinkToken(SECRET, id, purpose, token),
};
const guard = () => ({
  check: (phone: unknown) =>
    Promise.resolve({
      e164: String(phone),
      country: 'US' as const,
      type: 'MOBILE' as const,
      degraded: false,
    }),
});
const answers = {
  ...access,
  now: () => new Date('2026-11-22T10:00:30Z'),
  sealAnswer: (id: string, code: string, receivedAt: Date) =>
    sealAnswer(SECRET, id, { code, receivedAt }),
  configuredCodeLength: () => 6,
};

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

// The extension includes the input unless `showInput=false` is asked for; the links read the
// number from it, and the code length from the custom status.
const status = (runtimeStatus: string, customStatus: unknown) => ({
  name: 'SmsPhoneVerification',
  instanceId: ID,
  createdTime: '2026-11-22T10:00:00Z',
  lastUpdatedTime: '2026-11-22T10:00:01Z',
  runtimeStatus,
  input: { phoneNumber: '+14255550100' },
  output: null,
  customStatus,
});
const AWAITING = {
  state: 'awaiting_code',
  attemptsRemaining: 4,
  expiresAt: '2026-11-22T10:01:30Z',
  codeLength: 6,
};

it('starts an instance with only the number (and the input version) and answers links on the public origin, no key', async () => {
  stub.replies.push({ status: 202, body: { id: ID } });
  const start = withErrors(
    createHttpStart({
      getClient: getDurableClient,
      guard,
      links,
      channels: () => ['sms'],
      ...recipients,
    }),
  );
  const response = await start(
    request({
      url: 'http://forged.example:8080/api/orchestrators/SmsPhoneVerification',
      headers: { host: 'forged.example:8080' },
      params: { orchestratorName: 'SmsPhoneVerification' },
      body: '+14255550100',
    }),
    durableContext(),
  );
  expect(response.status).toBe(202);
  expect(stub.requests[0]?.url).toBe(`/durabletask/orchestrators/SmsPhoneVerification/${ID}`);
  const input = JSON.parse(stub.requests[0]!.body) as { sealedPhoneNumber: string };
  expect(input).toEqual({
    sealedPhoneNumber: expect.stringMatching(SEALED) as unknown,
    maskedPhoneNumber: '+1******0100',
    version: 2,
    channel: 'sms',
    reportsLifecycle: true,
  });
  expect(openRecipient(SECRET, ID, 'phoneNumber', input.sealedPhoneNumber)).toBe('+14255550100');
  const body = (await bodyOf(response)) as Record<string, string>;
  expect(body).toEqual(links(ID));
  expect(body.statusQueryGetUri).toMatch(/^https:\/\/verify\.example\/api\/verifications\//);
  expect(JSON.stringify(body)).not.toContain('SYSTEMKEY');
  expect(JSON.stringify(body)).not.toContain('forged');
  expect(headerOf(response, 'location')).toBe(body.statusQueryGetUri);
  expect(headerOf(response, 'retry-after')).toBe('10');
});

it('the trusted starter answers the management payload (system key) on the configured origin, plus the links', async () => {
  stub.replies.push({ status: 202, body: { id: ID } });
  const start = withErrors(
    createTrustedStart({
      getClient: getDurableClient,
      guard,
      links,
      publicOrigin: () => LINKS.publicOrigin,
      channels: () => ['sms'],
      ...recipients,
    }),
  );
  // The binding's URLs carry whatever Host the request named (here localhost:7071): never handed out.
  const response = await start(
    request({ params: { orchestratorName: 'SmsPhoneVerification' }, body: '+14255550100' }),
    durableContext(),
  );
  expect(response.status).toBe(202);
  const body = (await bodyOf(response)) as Record<string, string>;
  const onPublic = `https://verify.example/runtime/webhooks/durabletask/instances/${ID}`;
  expect(body.statusQueryGetUri).toBe(`${onPublic}?${QUERY}`);
  expect(body.terminatePostUri).toBe(`${onPublic}/terminate?reason={text}&${QUERY}`);
  expect(JSON.stringify(body)).not.toContain('localhost');
  expect(headerOf(response, 'location')).toBe(body.statusQueryGetUri);
  expect(body.links).toEqual(links(ID));
});

it('answers 404 when the real client reports an unknown instance', async () => {
  stub.replies.push({ status: 404, body: { message: 'not found' } });
  const get = withErrors(createGetVerification(access));
  const token = tokenOf(links(ID).statusQueryGetUri);
  const response = await get(
    request({ method: 'GET', params: { id: ID }, query: { token } }),
    durableContext(),
  );
  expect(response.status).toBe(404);
  expect(stub.requests[0]?.url).toBe(`/durabletask/instances/${ID}`);
});

it('answers 404 for a bad token without asking the store', async () => {
  const get = withErrors(createGetVerification(access));
  const token = tokenOf(links('another').statusQueryGetUri);
  const response = await get(
    request({ method: 'GET', params: { id: ID }, query: { token } }),
    durableContext(),
  );
  expect(response.status).toBe(404);
  expect(stub.requests).toHaveLength(0);
});

it('checks the status, then raises the event with the code and its receipt time sealed', async () => {
  stub.replies.push({ status: 200, body: status('Running', AWAITING) }, { status: 202 });
  const submit = withErrors(createSubmitVerificationCode(answers));
  const token = tokenOf(links(ID).sendEventPostUri);
  const response = await submit(
    request({ params: { id: ID }, query: { token }, body: { code: 2168 } }),
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
  expect(Object.keys(payload as object)).toEqual(['sealedAnswer']);
  expect(judgeAnswer(SECRET, ID, hashCode(SECRET, ID, '002168'), payload, 6)).toEqual({
    correct: true,
    receivedAt: new Date('2026-11-22T10:00:30Z'),
  });
});

it('answers 410 for a completed instance without raising the event', async () => {
  stub.replies.push({ status: 200, body: status('Completed', { ...AWAITING, state: 'verified' }) });
  const submit = withErrors(createSubmitVerificationCode(answers));
  const token = tokenOf(links(ID).sendEventPostUri);
  const response = await submit(
    request({ params: { id: ID }, query: { token }, body: { code: '123456' } }),
    durableContext(),
  );
  expect(response.status).toBe(410);
  expect(stub.requests).toHaveLength(1);
});

it('keeps one durable client per binding, and makes a new one when the key or the RPC URL changes', () => {
  const first = getDurableClient(durableContext());
  expect(getDurableClient(durableContext())).toBe(first);
  const rotated = durableContext();
  const [input] = rotated.options.extraInputs;
  const data = rotated.extraInputs.get(input!) as Record<string, unknown>;
  rotated.extraInputs.set(input!, { ...data, requiredQueryStringParameters: 'code=ROTATED' });
  const afterRotation = getDurableClient(rotated);
  expect(afterRotation).not.toBe(first);
  const moved = durableContext();
  const [movedInput] = moved.options.extraInputs;
  moved.extraInputs.set(movedInput!, {
    ...(moved.extraInputs.get(movedInput!) as Record<string, unknown>),
    rpcBaseUrl: 'http://127.0.0.1:1/durabletask/',
  });
  expect(getDurableClient(moved)).not.toBe(first);
  expect(getDurableClient(moved)).not.toBe(afterRotation);
});
