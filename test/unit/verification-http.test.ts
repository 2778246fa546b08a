import './helpers/quiet-test-mode';
import { OrchestrationRuntimeStatus } from 'durable-functions';
import { createGetVerification } from '../../src/verification/get';
import { createHttpStart } from '../../src/verification/start';
import { createSubmitVerificationCode } from '../../src/verification/submit-code';
import { ConfigError } from '../../src/errors';
import { sealCode, unsealCode } from '../../src/verification/codes';
import { withErrors } from '../../src/http/respond';
import { FakeDurableClient, bodyOf, headerOf, invocation, request } from './helpers/fakes';

const VERIFICATION = {
  timeoutSeconds: 90,
  maxAttempts: 4,
  codeLength: 6,
  messageTemplate: 'Your verification code is {code}',
  codeSecret: 'not-used-here-0123456789',
};
const ID = '0123456789abcdef0123456789abcdef';
const SEAL_SECRET = 'http-test-seal-secret-0123456789';
const NOW = new Date('2026-11-22T10:00:30Z');
const EXPIRES = '2026-11-22T10:01:30.000Z';

function setup() {
  const client = new FakeDurableClient();
  const getClient = () => client;
  return {
    client,
    start: withErrors(createHttpStart({ getClient, verification: () => VERIFICATION })),
    get: withErrors(createGetVerification({ getClient })),
    submit: withErrors(
      createSubmitVerificationCode({
        getClient,
        now: () => NOW,
        sealCode: (instanceId, code) => sealCode(SEAL_SECRET, instanceId, code),
      }),
    ),
  };
}

async function problem(response: Awaited<ReturnType<ReturnType<typeof setup>['start']>>) {
  expect(headerOf(response, 'content-type')).toBe('application/problem+json');
  return (await bodyOf(response)) as Record<string, unknown>;
}

describe('POST /api/orchestrators/{orchestratorName}', () => {
  const startRequest = (name: string, body: unknown, raw?: string) =>
    request({
      url: `http://localhost:7071/api/orchestrators/${name}`,
      params: { orchestratorName: name },
      ...(raw === undefined ? { body } : { rawBody: raw }),
    });

  it('starts SmsPhoneVerification from a JSON string and answers with the management payload', async () => {
    const { client, start } = setup();
    const response = await start(
      startRequest('SmsPhoneVerification', '+14255550100'),
      invocation(),
    );
    expect(response.status).toBe(202);
    expect(client.started).toEqual([
      {
        name: 'SmsPhoneVerification',
        options: {
          input: { phoneNumber: '+14255550100', timeoutSeconds: 90, maxAttempts: 4, codeLength: 6 },
        },
      },
    ]);
    const body = (await bodyOf(response)) as Record<string, string>;
    expect(body.id).toBe(ID);
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining([
        'id',
        'statusQueryGetUri',
        'sendEventPostUri',
        'terminatePostUri',
        'purgeHistoryDeleteUri',
      ]),
    );
    expect(headerOf(response, 'location')).toBe(body.statusQueryGetUri);
  });

  it('accepts {"phoneNumber": ...} and a case-insensitive orchestration name', async () => {
    const { client, start } = setup();
    const response = await start(
      startRequest('smsphoneverification', { phoneNumber: '+447700900123' }),
      invocation(),
    );
    expect(response.status).toBe(202);
    expect(client.started[0]?.name).toBe('SmsPhoneVerification');
  });

  it('answers 404 for orchestrations that are not startable over HTTP', async () => {
    const { client, start } = setup();
    const response = await start(startRequest('SendSmsChallenge', '+14255550100'), invocation());
    expect(response.status).toBe(404);
    expect(await problem(response)).toMatchObject({ status: 404, code: 'not_found' });
    expect(client.started).toEqual([]);
  });

  it.each([
    ['a number without +', '14255550100'],
    ['too short', '+1234567'],
    ['too long', '+1234567890123456'],
    ['letters', '+1425555CALL'],
    ['a leading zero country code', '+04255550100'],
    ['a JSON number', 14255550100],
    ['an object without phoneNumber', { phone: '+14255550100' }],
  ])('answers 400 for %s', async (_label, body) => {
    const { client, start } = setup();
    const response = await start(startRequest('SmsPhoneVerification', body), invocation());
    expect(response.status).toBe(400);
    expect(await problem(response)).toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [expect.objectContaining({ field: 'phoneNumber' })],
    });
    expect(client.started).toEqual([]);
  });

  it('answers 400 for an empty or non-JSON body', async () => {
    const { start } = setup();
    for (const raw of ['', '+14255550100', '{"phoneNumber":']) {
      const response = await start(
        startRequest('SmsPhoneVerification', undefined, raw),
        invocation(),
      );
      expect(response.status).toBe(400);
      expect((await problem(response)).errors).toEqual([
        expect.objectContaining({ field: 'body' }),
      ]);
    }
  });

  it('answers a generic 500 and logs only key names when settings are invalid', async () => {
    const client = new FakeDurableClient();
    const start = withErrors(
      createHttpStart({
        getClient: () => client,
        verification: () => {
          throw new ConfigError([{ field: 'VERIFICATION_CODE_SECRET', message: 'required' }]);
        },
      }),
    );
    const logs: string[] = [];
    const response = await start(
      startRequest('SmsPhoneVerification', '+14255550100'),
      invocation(logs),
    );
    expect(response.status).toBe(500);
    expect(await problem(response)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred.',
      invocationId: 'inv-1',
    });
    expect(logs.join('\n')).toContain('VERIFICATION_CODE_SECRET');
    expect(client.started).toEqual([]);
  });
});

describe('GET /api/verifications/{id}', () => {
  const getRequest = (id: string) => request({ method: 'GET', params: { id } });

  it('shows state, attempts left and deadline, and nothing else', async () => {
    const { client, get } = setup();
    client.put(ID, {
      customStatus: { state: 'awaiting_code', attemptsRemaining: 3, expiresAt: EXPIRES },
    });
    const response = await get(getRequest(ID), invocation());
    expect(response.status).toBe(200);
    expect(await bodyOf(response)).toEqual({
      id: ID,
      state: 'awaiting_code',
      attemptsRemaining: 3,
      expiresAt: EXPIRES,
    });
  });

  it.each([
    [
      OrchestrationRuntimeStatus.Completed,
      { state: 'verified', attemptsRemaining: 2, expiresAt: EXPIRES },
      'verified',
    ],
    [
      OrchestrationRuntimeStatus.Completed,
      { state: 'expired', attemptsRemaining: 4, expiresAt: EXPIRES },
      'expired',
    ],
    [OrchestrationRuntimeStatus.Pending, undefined, 'pending'],
    [OrchestrationRuntimeStatus.Failed, undefined, 'failed'],
    [
      OrchestrationRuntimeStatus.Terminated,
      { state: 'awaiting_code', attemptsRemaining: 4, expiresAt: EXPIRES },
      'terminated',
    ],
  ])('maps runtime status %s with %j to state %s', async (runtimeStatus, customStatus, state) => {
    const { client, get } = setup();
    client.put(ID, { runtimeStatus, customStatus });
    expect(await bodyOf(await get(getRequest(ID), invocation()))).toMatchObject({ id: ID, state });
  });

  it('answers 404 for unknown ids and for instances of other orchestrations', async () => {
    const { client, get } = setup();
    client.put('other', { name: 'SomethingElse' });
    expect((await get(getRequest(ID), invocation())).status).toBe(404);
    expect((await get(getRequest('other'), invocation())).status).toBe(404);
  });

  it('answers 400 for ids that could address another management operation', async () => {
    const { get } = setup();
    for (const id of ['abc/terminate', 'abc?x=1', 'a'.repeat(101), 'ab cd']) {
      expect((await get(getRequest(id), invocation())).status).toBe(400);
    }
  });
});

describe('POST /api/verifications/{id}/code', () => {
  const submitRequest = (body: unknown, id = ID) => request({ params: { id }, body });
  const awaiting = { state: 'awaiting_code', attemptsRemaining: 4, expiresAt: EXPIRES };

  it.each([
    ['string', '002168', '002168'],
    ['number', 2168, '002168'],
    ['short string (not padded)', '2168', '2168'],
  ])(
    'forwards a %s code sealed as the SmsChallengeResponse event (202)',
    async (_kind, code, normalized) => {
      const { client, submit } = setup();
      client.put(ID, { customStatus: awaiting });
      const response = await submit(submitRequest({ code }), invocation());
      expect(response.status).toBe(202);
      expect(await bodyOf(response)).toEqual({ id: ID, status: 'submitted' });
      expect(headerOf(response, 'location')).toBe(`/api/verifications/${ID}`);
      expect(client.events).toEqual([
        {
          instanceId: ID,
          eventName: 'SmsChallengeResponse',
          data: { sealedCode: expect.any(String) as unknown },
        },
      ]);
      // The payload is what lands in history: the digits must appear nowhere in it.
      const raised = JSON.stringify(client.events[0]?.data);
      expect(raised).not.toContain('2168');
      const { sealedCode } = client.events[0]?.data as { sealedCode: string };
      expect(unsealCode(SEAL_SECRET, ID, sealedCode)).toBe(normalized);
      expect(unsealCode(SEAL_SECRET, 'another-instance', sealedCode)).toBeUndefined();
    },
  );

  it('seals the same code differently on every submission (random IV)', async () => {
    const { client, submit } = setup();
    client.put(ID, { customStatus: awaiting });
    for (let i = 0; i < 2; i++) {
      expect((await submit(submitRequest({ code: '123456' }), invocation())).status).toBe(202);
    }
    const [first, second] = client.events.map((e) => JSON.stringify(e.data));
    expect(first).not.toBe(second);
  });

  it('answers 409 without raising anything when the instance input has no code length', async () => {
    const { client, submit } = setup();
    client.put(ID, { customStatus: awaiting, input: null });
    const logs: string[] = [];
    const response = await submit(submitRequest({ code: '123456' }), invocation(logs));
    expect(response.status).toBe(409);
    expect(JSON.stringify(await bodyOf(response))).not.toContain('123456');
    expect(logs.join('\n')).not.toContain('123456');
    expect(client.events).toEqual([]);
  });

  it('answers 404 for an unknown id', async () => {
    const { client, submit } = setup();
    const response = await submit(submitRequest({ code: '123456' }), invocation());
    expect(response.status).toBe(404);
    expect(client.events).toEqual([]);
  });

  it.each([
    OrchestrationRuntimeStatus.Completed,
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
  ])('answers 410 once the instance is %s', async (runtimeStatus) => {
    const { client, submit } = setup();
    client.put(ID, { runtimeStatus, customStatus: { ...awaiting, state: 'verified' } });
    const response = await submit(submitRequest({ code: '123456' }), invocation());
    expect(response.status).toBe(410);
    expect(await problem(response)).toMatchObject({ code: 'gone' });
    expect(client.events).toEqual([]);
  });

  it('answers 410 when the deadline has passed but the timer has not been processed yet', async () => {
    const { client, submit } = setup();
    client.put(ID, { customStatus: { ...awaiting, expiresAt: '2026-11-22T10:00:29.000Z' } });
    expect((await submit(submitRequest({ code: '123456' }), invocation())).status).toBe(410);
    expect(client.events).toEqual([]);
  });

  it('answers 409 while the SMS has not been sent yet', async () => {
    const { client, submit } = setup();
    client.put(ID, { runtimeStatus: OrchestrationRuntimeStatus.Pending });
    expect((await submit(submitRequest({ code: '123456' }), invocation())).status).toBe(409);
    expect(client.events).toEqual([]);
  });

  it.each([
    ['missing code', {}],
    ['too few digits', { code: '123' }],
    ['too many digits', { code: '12345678901' }],
    ['letters', { code: '12ab56' }],
    ['negative number', { code: -5 }],
    ['fraction', { code: 12.5 }],
    ['unknown property', { code: '123456', extra: true }],
    ['array body', ['123456']],
  ])('answers 400 for %s', async (_label, body) => {
    const { client, submit } = setup();
    client.put(ID, { customStatus: awaiting });
    const response = await submit(submitRequest(body), invocation());
    expect(response.status).toBe(400);
    expect(await problem(response)).toMatchObject({ code: 'validation_failed' });
    expect(client.events).toEqual([]);
  });

  it('answers 400 for a malformed id before touching the durable client', async () => {
    const { client, submit } = setup();
    expect(
      (await submit(submitRequest({ code: '123456' }, 'x/terminate?reason='), invocation())).status,
    ).toBe(400);
    expect(client.events).toEqual([]);
  });

  it('answers a generic 500 without internals when the durable client fails unexpectedly', async () => {
    const { client, submit } = setup();
    client.put(ID, { customStatus: awaiting });
    client.raiseEvent = () =>
      Promise.reject(
        new Error('socket hang up at http://127.0.0.1:17071/durabletask/?code=SYSTEMKEY'),
      );
    const logs: string[] = [];
    const response = await submit(submitRequest({ code: '123456' }), invocation(logs));
    expect(response.status).toBe(500);
    expect(JSON.stringify(await bodyOf(response))).not.toContain('socket');
    expect(logs.join('\n')).toContain('socket hang up');
    expect(logs.join('\n')).not.toContain('SYSTEMKEY');
    expect(logs.join('\n')).not.toContain('123456');
  });
});
