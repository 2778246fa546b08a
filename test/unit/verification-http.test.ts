import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Channel } from '../../src/delivery/channels';
import './helpers/quiet-test-mode';
import { OrchestrationRuntimeStatus } from 'durable-functions';
import { createHttpStart } from '../../src/verification/start';
import {
  createCancelVerification,
  createGetVerification,
  createPurgeVerification,
  createRaiseVerificationEvent,
  createResendVerificationCode,
  createSubmitVerificationCode,
  createVerificationStatus,
} from '../../src/verification/link-handlers';
import { ConfigError, RateLimitedError } from '../../src/errors';
import { withErrors } from '../../src/http/respond';
import { buildVerificationLinks, type LinkPurpose } from '../../src/verification/links';
import { verifyLinkToken } from '../../src/verification/crypto/link-tokens';
import { openAnswer, sealAnswer } from '../../src/verification/crypto/sealed-answer';
import {
  openRecipient,
  sealRecipient,
  type RecipientField,
} from '../../src/verification/crypto/sealed-recipient';
import { EVENT } from '../../src/verification/names';
import { FakeDurableClient, bodyOf, headerOf, invocation, request } from './helpers/fakes';

const ID = '0123456789abcdef0123456789abcdef';
const SECRET = 'http-test-secret-0123456789';
const NOW = new Date('2026-11-22T10:00:30Z');
const EXPIRES = '2026-11-22T10:01:30.000Z';
const AWAITING = {
  state: 'awaiting_code',
  attemptsRemaining: 4,
  expiresAt: EXPIRES,
  codeLength: 6,
};
const LINK_SETTINGS = { publicOrigin: new URL('https://verify.example') };
const links = (id: string) => buildVerificationLinks(SECRET, LINK_SETTINGS, id);
const recipients = {
  sealRecipient: (id: string, field: RecipientField, recipient: string) =>
    sealRecipient(SECRET, id, field, recipient),
  newInstanceId: () => ID,
};
/** The number as a started input holds it: sealed and masked, never plain. */
/** base64url of IV, ciphertext and tag. */
const SEALED = /^[A-Za-z0-9_-]{38,}$/;
const SEALED_NUMBER = {
  sealedPhoneNumber: expect.stringMatching(SEALED) as unknown,
  maskedPhoneNumber: '+1******0100',
};

const PURPOSE_URI = {
  status: 'statusQueryGetUri',
  code: 'sendEventPostUri',
  cancel: 'terminatePostUri',
  purge: 'purgeHistoryDeleteUri',
  resend: 'resendPostUri',
} as const satisfies Record<LinkPurpose, string>;
const tokenFor = (purpose: LinkPurpose, id = ID) =>
  new URL(links(id)[PURPOSE_URI[purpose]].replace('{eventName}', 'x')).searchParams.get('token')!;

function setup(channels: () => readonly Channel[] = () => ['sms', 'call', 'whatsapp', 'email']) {
  const client = new FakeDurableClient();
  const admitted: string[] = [];
  let refusal: Error | undefined;
  const access = {
    getClient: () => client,
    verifyLinkToken: (id: string, purpose: LinkPurpose, token: unknown) =>
      verifyLinkToken(SECRET, id, purpose, token),
    openRecipient: (id: string, field: RecipientField, sealed: unknown) =>
      openRecipient(SECRET, id, field, sealed),
  };
  const answers = {
    ...access,
    now: () => NOW,
    sealAnswer: (id: string, code: string, receivedAt: Date) =>
      sealAnswer(SECRET, id, { code, receivedAt }),
    configuredCodeLength: () => 6,
  };
  const guard = () => ({
    check: (phone: unknown) => {
      if (refusal !== undefined) return Promise.reject(refusal);
      admitted.push(String(phone));
      return Promise.resolve({
        e164: String(phone),
        country: 'US' as const,
        // The real guard's type: libphonenumber's, as the phone policy reads it.
        type: parsePhoneNumberFromString(String(phone))?.getType() ?? ('UNKNOWN' as const),
        degraded: false,
      });
    },
  });
  return {
    client,
    admitted,
    refuseWith: (error: Error) => {
      refusal = error;
    },
    start: withErrors(
      createHttpStart({ getClient: () => client, guard, links, channels, ...recipients }),
    ),
    status: withErrors(createVerificationStatus(access)),
    get: withErrors(createGetVerification(access)),
    raise: withErrors(createRaiseVerificationEvent(answers)),
    submit: withErrors(createSubmitVerificationCode(answers)),
    cancel: withErrors(createCancelVerification(access)),
    purge: withErrors(createPurgeVerification(access)),
    resend: withErrors(createResendVerificationCode({ ...access, now: () => NOW, guard })),
  };
}

const linkRequest = (
  purpose: LinkPurpose,
  init: { body?: unknown; rawBody?: string; eventName?: string; id?: string; token?: string } = {},
) =>
  request({
    params: { id: init.id ?? ID, eventName: init.eventName ?? 'SmsChallengeResponse' },
    query: { token: init.token ?? tokenFor(purpose, init.id ?? ID) },
    ...(init.rawBody !== undefined ? { rawBody: init.rawBody } : { body: init.body }),
  });

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

  it('starts with only the number (and locale) and the input version, and answers the links in the seed shape', async () => {
    const { client, start } = setup();
    const response = await start(
      startRequest('smsphoneverification', { phoneNumber: '+14255550100', locale: 'pt-br' }),
      invocation(),
    );
    expect(response.status).toBe(202);
    expect(client.started).toEqual([
      {
        name: 'SmsPhoneVerification',
        options: {
          instanceId: ID,
          input: {
            ...SEALED_NUMBER,
            locale: 'pt-BR',
            version: 2,
            channel: 'sms',
            reportsLifecycle: true,
          },
        },
      },
    ]);
    const body = (await bodyOf(response)) as Record<string, string>;
    expect(body).toEqual(links(ID));
    expect(body.sendEventPostUri).toContain('/events/{eventName}?token=');
    expect(headerOf(response, 'location')).toBe(body.statusQueryGetUri);
    expect(JSON.stringify(body)).not.toContain('code=');
    // The number is in the input only sealed to this instance.
    const input = client.started[0]?.options?.input as { sealedPhoneNumber: string };
    expect(JSON.stringify(input)).not.toContain('4255550100');
    expect(openRecipient(SECRET, ID, 'phoneNumber', input.sealedPhoneNumber)).toBe('+14255550100');
    expect(openRecipient(SECRET, 'another', 'phoneNumber', input.sealedPhoneNumber)).toBe(
      undefined,
    );
  });

  it('answers 404 for orchestrations that are not startable, 400 for bad bodies and locales', async () => {
    const { start, client } = setup();
    expect((await start(startRequest('Other', '+14255550100'), invocation())).status).toBe(404);
    expect(
      (await start(startRequest('SmsPhoneVerification', undefined, '{'), invocation())).status,
    ).toBe(400);
    const badLocale = await start(
      startRequest('SmsPhoneVerification', { phoneNumber: '+14255550100', locale: 'not a tag!' }),
      invocation(),
    );
    expect(badLocale.status).toBe(400);
    const unknownField = await start(
      startRequest('SmsPhoneVerification', { phoneNumber: '+14255550100', maxAttempts: 10_000 }),
      invocation(),
    );
    expect(unknownField.status).toBe(400);
    expect(client.started).toEqual([]);
  });

  it('records the channel, the fallback steps and the email in the input (both list forms)', async () => {
    const { client, start } = setup();
    const body = {
      phoneNumber: '+14255550100',
      channel: 'sms',
      fallback: [
        { channel: 'call', afterSeconds: 30 },
        { channel: 'email', afterSeconds: 60 },
      ],
      email: 'ada@example.com',
    };
    expect((await start(startRequest('SmsPhoneVerification', body), invocation())).status).toBe(
      202,
    );
    const listed = {
      phoneNumber: '+14255550100',
      fallback: [{ channel: 'whatsapp' }, { channel: 'call', afterSeconds: 30 }],
    };
    expect((await start(startRequest('SmsPhoneVerification', listed), invocation())).status).toBe(
      202,
    );
    expect(client.started.map((s) => s.options)).toEqual([
      {
        instanceId: ID,
        input: {
          ...SEALED_NUMBER,
          version: 2,
          channel: 'sms',
          sealedEmail: expect.stringMatching(SEALED) as unknown,
          maskedEmail: 'a***@e***.com',
          fallback: [
            { channel: 'call', afterSeconds: 30 },
            { channel: 'email', afterSeconds: 60 },
          ],
          reportsLifecycle: true,
        },
      },
      {
        instanceId: ID,
        input: {
          ...SEALED_NUMBER,
          version: 2,
          channel: 'whatsapp',
          fallback: [{ channel: 'call', afterSeconds: 30 }],
          reportsLifecycle: true,
        },
      },
    ]);
  });

  it('refuses unknown channels, unbounded or bad fallback lists and a missing email: 400 per field', async () => {
    const { client, start } = setup();
    const refused = async (body: unknown): Promise<unknown> => {
      const response = await start(startRequest('SmsPhoneVerification', body), invocation());
      expect(response.status).toBe(400);
      return (await problem(response))['errors'];
    };
    const phoneNumber = '+14255550100';
    expect(await refused({ phoneNumber, channel: 'fax' })).toEqual([
      { field: 'channel', message: 'must be one of sms, call, whatsapp, email, auto' },
    ]);
    expect(await refused({ phoneNumber, channel: 'email' })).toEqual([
      { field: 'email', message: 'required for the email channel' },
    ]);
    expect(
      await refused({ phoneNumber, fallback: [{ channel: 'call', afterSeconds: 5 }] }),
    ).toEqual([{ field: 'fallback', message: 'must be an integer in 10..3600' }]);
    const tooMany = Array.from({ length: 5 }, () => ({ channel: 'call', afterSeconds: 30 }));
    expect(await refused({ phoneNumber, fallback: tooMany })).toEqual([
      {
        field: 'fallback',
        message:
          'must be a list of at most 3 steps {channel, afterSeconds} (afterSeconds 10..3600), optionally after the first step {channel}',
      },
    ]);
    expect(client.started).toEqual([]);
  });

  it('resolves `auto` in the starter: a landline gets a call, other numbers sms; history records the channel', async () => {
    const startAuto = async (
      phoneNumber: string,
      channels: readonly Channel[] = ['sms', 'call'],
    ): Promise<unknown> => {
      const { client, start } = setup(() => channels);
      const body = { phoneNumber, channel: 'auto' };
      const response = await start(startRequest('SmsPhoneVerification', body), invocation());
      expect(response.status).toBe(202);
      return (client.started[0]?.options as { input: { channel: unknown } }).input.channel;
    };
    expect(await startAuto('+442079460000')).toBe('call'); // London landline: FIXED_LINE
    expect(await startAuto('+33142685300')).toBe('call'); // Paris landline
    expect(await startAuto('+33612345678')).toBe('sms'); // French mobile
    expect(await startAuto('+14255550100')).toBe('sms'); // NANP: FIXED_LINE_OR_MOBILE
    // A deployment without calls texts the landline rather than refusing it.
    expect(await startAuto('+442079460000', ['sms'])).toBe('sms');
  });

  it('refuses `auto` on a deployment without sms, and `auto` as a later step', async () => {
    const { client, start } = setup(() => ['call']);
    const body = { phoneNumber: '+442079460000', channel: 'auto' };
    const response = await start(startRequest('SmsPhoneVerification', body), invocation());
    expect(response.status).toBe(400);
    expect((await problem(response))['errors']).toEqual([
      { field: 'channel', message: 'sms is not configured on this deployment (available: call)' },
    ]);
    const later = {
      phoneNumber: '+442079460000',
      fallback: [{ channel: 'auto', afterSeconds: 30 }],
    };
    const refused = await start(startRequest('SmsPhoneVerification', later), invocation());
    expect(refused.status).toBe(400);
    expect(client.started).toEqual([]);
  });

  it('refuses a channel this deployment does not have, naming the ones it has', async () => {
    const { client, start } = setup(() => ['sms']);
    const response = await start(
      startRequest('SmsPhoneVerification', {
        phoneNumber: '+14255550100',
        fallback: [{ channel: 'call', afterSeconds: 30 }],
      }),
      invocation(),
    );
    expect(response.status).toBe(400);
    expect((await problem(response))['errors']).toEqual([
      { field: 'channel', message: 'call is not configured on this deployment (available: sms)' },
    ]);
    expect(client.started).toEqual([]);
  });

  it('starts nothing when the guard refuses, and answers its 429 with Retry-After', async () => {
    const { start, client, refuseWith } = setup();
    refuseWith(new RateLimitedError('Too many.', 30));
    const response = await start(
      startRequest('SmsPhoneVerification', '+14255550100'),
      invocation(),
    );
    expect(response.status).toBe(429);
    expect(headerOf(response, 'retry-after')).toBe('30');
    expect(client.started).toEqual([]);
  });

  it('answers a generic 500 and logs only key names when settings are invalid', async () => {
    const client = new FakeDurableClient();
    const logs: string[] = [];
    const start = withErrors(
      createHttpStart({
        getClient: () => client,
        guard: () => {
          throw new ConfigError([{ field: 'VERIFICATION_CODE_SECRET', message: 'required' }]);
        },
        links,
        channels: () => ['sms'],
        ...recipients,
      }),
    );
    const response = await start(
      request({ params: { orchestratorName: 'SmsPhoneVerification' }, body: '+14255550100' }),
      invocation(logs),
    );
    expect(response.status).toBe(500);
    expect(JSON.stringify(await bodyOf(response))).not.toContain('VERIFICATION');
    expect(logs.join('\n')).toContain('VERIFICATION_CODE_SECRET');
  });
});

describe('the link tokens', () => {
  const handlers = (s: ReturnType<typeof setup>) =>
    [
      ['status', s.status],
      ['status', s.get],
      ['code', s.raise],
      ['code', s.submit],
      ['cancel', s.cancel],
      ['purge', s.purge],
      ['resend', s.resend],
    ] as const;

  it('each link opens its own purpose on its own instance only: 404 problem+json otherwise', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    s.client.put('other', { customStatus: AWAITING });
    for (const [purpose, handler] of handlers(s)) {
      const wrongPurpose: LinkPurpose = purpose === 'status' ? 'cancel' : 'status';
      for (const init of [
        { token: tokenFor(purpose, 'other') },
        { id: 'other', token: tokenFor(purpose) },
        { token: tokenFor(wrongPurpose) },
        { token: '' },
        {
          token:
            `${tokenFor(purpose).slice(0, -1)}A` === tokenFor(purpose)
              ? 'x'
              : `${tokenFor(purpose).slice(0, -1)}A`,
        },
        { id: 'x/terminate?reason=', token: tokenFor(purpose) },
      ]) {
        const response = await handler(
          linkRequest(purpose, { ...init, body: '123456' }),
          invocation(),
        );
        expect([purpose, response.status]).toEqual([purpose, 404]);
        expect((await problem(response)).code).toBe('not_found');
      }
    }
    expect(s.client.events).toEqual([]);
    expect(s.client.purged).toEqual([]);
  });

  it('an unknown instance and an instance of another orchestration are the same 404', async () => {
    const s = setup();
    s.client.put('other', { name: 'SomethingElse' });
    for (const id of [ID, 'other']) {
      expect((await s.status(linkRequest('status', { id }), invocation())).status).toBe(404);
    }
  });
});

describe('the status link and the end-user view', () => {
  it('answers the Durable status shape, 202 while running and 200 when done; input is the number, masked', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    const running = await s.status(linkRequest('status'), invocation());
    expect(running.status).toBe(202);
    expect(await bodyOf(running)).toEqual({
      name: 'SmsPhoneVerification',
      instanceId: ID,
      runtimeStatus: 'Running',
      input: '+1******0100',
      customStatus: AWAITING,
      output: null,
      createdTime: '2026-11-22T10:00:00.000Z',
      lastUpdatedTime: '2026-11-22T10:00:01.000Z',
    });
    // Suspended is not finished: the extension's status endpoint answers 202, and so does the link.
    s.client.put(ID, {
      runtimeStatus: OrchestrationRuntimeStatus.Suspended,
      customStatus: AWAITING,
    });
    expect((await s.status(linkRequest('status'), invocation())).status).toBe(202);
    s.client.put(ID, {
      runtimeStatus: OrchestrationRuntimeStatus.Completed,
      output: true,
      customStatus: { ...AWAITING, state: 'verified' },
    });
    const done = await s.status(linkRequest('status'), invocation());
    expect(done.status).toBe(200);
    expect(await bodyOf(done)).toMatchObject({ output: true, runtimeStatus: 'Completed' });
  });

  it('the view shows state, attempts left and deadline, and nothing else', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    const response = await s.get(linkRequest('status'), invocation());
    expect(await bodyOf(response)).toEqual({
      id: ID,
      state: 'awaiting_code',
      attemptsRemaining: 4,
      expiresAt: EXPIRES,
    });
  });
});

describe('answers through sendEventPostUri and /code', () => {
  it('raises the code sealed with its receipt time, restoring leading zeros of a number', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    const seed = await s.raise(linkRequest('code', { body: 2168 }), invocation());
    expect(seed.status).toBe(202);
    const app = await s.submit(linkRequest('code', { body: { code: '012345' } }), invocation());
    expect(app.status).toBe(202);
    expect(s.client.events.map((e) => e.eventName)).toEqual([
      EVENT.SmsChallengeResponse,
      EVENT.SmsChallengeResponse,
    ]);
    expect(s.client.events.map((e) => openAnswer(SECRET, ID, e.data))).toEqual([
      { code: '002168', receivedAt: NOW },
      { code: '012345', receivedAt: NOW },
    ]);
    // Only ciphertext travels: the payload is exactly { sealedAnswer }.
    for (const e of s.client.events)
      expect(Object.keys(e.data as object)).toEqual(['sealedAnswer']);
  });

  it('other event names: 404; a body over 1 KiB: 413; a malformed answer: 400; nothing raised', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    const other = await s.raise(
      linkRequest('code', { eventName: EVENT.CancelRequested, body: '123456' }),
      invocation(),
    );
    expect(other.status).toBe(404);
    const big = await s.raise(
      linkRequest('code', { rawBody: `"${'1'.repeat(1100)}"` }),
      invocation(),
    );
    expect(big.status).toBe(413);
    for (const body of [{ code: '123456' }, 'abc', -1, null]) {
      expect((await s.raise(linkRequest('code', { body }), invocation())).status).toBe(400);
    }
    expect(s.client.events).toEqual([]);
  });

  it('410 once finished or past the deadline', async () => {
    const s = setup();
    s.client.put(ID, {
      runtimeStatus: OrchestrationRuntimeStatus.Completed,
      customStatus: AWAITING,
    });
    expect((await s.raise(linkRequest('code', { body: 1 }), invocation())).status).toBe(410);
    s.client.put(ID, { customStatus: { ...AWAITING, expiresAt: '2026-11-22T10:00:30.000Z' } });
    expect((await s.raise(linkRequest('code', { body: 1 }), invocation())).status).toBe(410);
    expect(s.client.events).toEqual([]);
  });

  it('raises an answer that arrives before the SMS is out, padded to the configured length', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: undefined });
    expect((await s.raise(linkRequest('code', { body: 2168 }), invocation())).status).toBe(202);
    expect(s.client.events).toHaveLength(1);
    expect(openAnswer(SECRET, ID, s.client.events[0]!.data)).toMatchObject({ code: '002168' });
  });
});

describe('cancel, delete and resend links', () => {
  it('cancel raises the cancel event while running; 410 once finished', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    expect((await s.cancel(linkRequest('cancel'), invocation())).status).toBe(202);
    expect(s.client.events).toEqual([
      { instanceId: ID, eventName: EVENT.CancelRequested, data: null },
    ]);
    s.client.put(ID, { runtimeStatus: OrchestrationRuntimeStatus.Completed });
    expect((await s.cancel(linkRequest('cancel'), invocation())).status).toBe(410);
  });

  it('delete purges only a finished verification: 409 while running', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    expect((await s.purge(linkRequest('purge'), invocation())).status).toBe(409);
    s.client.put(ID, { runtimeStatus: OrchestrationRuntimeStatus.Completed });
    expect((await s.purge(linkRequest('purge'), invocation())).status).toBe(204);
    expect(s.client.purged).toEqual([ID]);
  });

  it('resend passes the guard with the instance number, then raises the resend event', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    expect((await s.resend(linkRequest('resend'), invocation())).status).toBe(202);
    expect(s.admitted).toEqual(['+14255550100']);
    expect(s.client.events).toEqual([
      { instanceId: ID, eventName: EVENT.ResendRequested, data: null },
    ]);
  });

  it('resend refused by the guard raises nothing and answers 429', async () => {
    const s = setup();
    s.client.put(ID, { customStatus: AWAITING });
    s.refuseWith(new RateLimitedError('Too many.', 20));
    const response = await s.resend(linkRequest('resend'), invocation());
    expect(response.status).toBe(429);
    expect(headerOf(response, 'retry-after')).toBe('20');
    expect(s.client.events).toEqual([]);
  });
});
