/**
 * The delivery channels' emulators, each driven by its real SDK over HTTP: Twilio Calls (TwiML kept, lifecycle
 * on a manual clock with signed status callbacks) and WhatsApp through Messages (`ContentSid`), ACS SMS and ACS
 * Email (HMAC and managed-identity bearer auth, per-recipient results, the long-running send), their outboxes
 * (`to=`, `waitMs=`) and their fault switches (fail N, hang).
 */
import { EmailClient } from '@azure/communication-email';
import { SmsClient } from '@azure/communication-sms';
import { ManagedIdentityCredential } from '@azure/identity';
import twilio from 'twilio';
import { ManualClock } from '@local/durable-runtime';
import { trustLoopbackCertificate } from '../src/common/tls';
import {
  DEFAULT_CONTENT_SID,
  DEFAULT_WHATSAPP_SENDER,
  startEmulators,
  twilioSignature,
  UNDELIVERABLE_DOMAIN,
  type Emulators,
} from '../src/index';
import {
  EmulatorRequestClient,
  rejection,
  startCallbackReceiver,
  type CallbackReceiver,
} from './twilio-sdk';

const START = new Date('2030-03-04T10:00:00.000Z');
const to = '+14255550100';

let emus: Emulators;
let clock: ManualClock;
let twilioClient: twilio.Twilio;
const lines: string[] = [];

beforeAll(async () => {
  clock = new ManualClock(START);
  emus = await startEmulators({
    log: (l) => lines.push(l),
    printMessages: true,
    twilio: { clock },
    acs: { now: () => Date.now() },
  });
  twilioClient = twilio(emus.twilio.accountSid, emus.twilio.authToken, {
    httpClient: new EmulatorRequestClient(emus.twilio.url),
  });
});
afterAll(async () => {
  await emus.close();
});
beforeEach(() => {
  emus.reset();
  lines.length = 0;
});

const outbox = async (url: string, query = ''): Promise<Record<string, unknown>> => {
  const res = await fetch(`${url}${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
};

describe('Twilio Calls', () => {
  let receiver: CallbackReceiver;
  let callbackUrl: string;
  const callbacks: { signature: string; params: Record<string, string> }[] = [];
  let arrived: (() => void) | undefined;

  beforeAll(async () => {
    receiver = await startCallbackReceiver(({ signature, params }) => {
      callbacks.push({ signature, params });
      arrived?.();
    });
    callbackUrl = `${receiver.origin}/calls`;
  });
  afterAll(() => receiver.close());

  const callbacksArrived = (count: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (callbacks.length >= count) resolve();
      };
      arrived = check;
      check();
    });

  it('creates a call with TwiML, keeps it readable, and lists and fetches it', async () => {
    const twiml =
      '<Response><Say language="fr-FR">Votre code est 1 2 3 4 5 6.</Say><Pause length="1"/><Say language="fr-FR">Je répète: 1 2 3 4 5 6.</Say></Response>';
    const call = await twilioClient.calls.create({ to, from: emus.twilio.senders[0] ?? '', twiml });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(call.direction).toBe('outbound-api');
    expect(call.dateCreated.toISOString()).toBe(START.toISOString());

    const fetched = await twilioClient.calls(call.sid).fetch();
    expect(fetched.to).toBe(to);
    const listed = await twilioClient.calls.list({ to });
    expect(listed.map((c) => c.sid)).toEqual([call.sid]);

    const read = await outbox(emus.twilio.url, `/_emulator/calls?to=${encodeURIComponent(to)}`);
    expect(read['calls']).toEqual([
      expect.objectContaining({
        sid: call.sid,
        twiml,
        spoken: [
          { text: 'Votre code est 1 2 3 4 5 6.', language: 'fr-FR' },
          { text: 'Je répète: 1 2 3 4 5 6.', language: 'fr-FR' },
        ],
      }),
    ]);
    expect(lines).toContain(`Call to ${to}: Votre code est 1 2 3 4 5 6. Je répète: 1 2 3 4 5 6.`);
  });

  it('moves queued → ringing → in-progress → completed on the clock, with signed callbacks', async () => {
    callbacks.length = 0;
    const call = await twilioClient.calls.create({
      to,
      from: emus.twilio.senders[0] ?? '',
      twiml: '<Response><Say>1 2 3</Say></Response>',
      statusCallback: callbackUrl,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    await callbacksArrived(1);
    clock.advance(1_000);
    expect((await twilioClient.calls(call.sid).fetch()).status).toBe('ringing');
    clock.advance(4_000);
    const answered = await twilioClient.calls(call.sid).fetch();
    expect(answered.status).toBe('in-progress');
    expect(answered.startTime?.toISOString()).toBe(new Date(START.getTime() + 5_000).toISOString());
    clock.advance(15_000);
    const done = await twilioClient.calls(call.sid).fetch();
    expect(done.status).toBe('completed');
    expect(done.duration).toBe('15');
    await callbacksArrived(4);
    expect(callbacks.map((c) => c.params['CallStatus'])).toEqual([
      'queued',
      'ringing',
      'in-progress',
      'completed',
    ]);
    for (const cb of callbacks) {
      expect(
        twilio.validateRequest(emus.twilio.authToken, cb.signature, callbackUrl, cb.params),
      ).toBe(true);
    }
    expect(callbacks[3]?.params['CallDuration']).toBe('15');
    expect(cb0(callbacks).params['CallSid']).toBe(call.sid);
    expect(twilioSignature(emus.twilio.authToken, callbackUrl, cb0(callbacks).params)).toBe(
      cb0(callbacks).signature,
    );
  });

  it('refuses a call without TwiML or Url, and from a number the account does not own', async () => {
    expect((await rejection(twilioClient.calls.create({ to, from: '+15005550006' }))).code).toBe(
      21205,
    );
    const e = await rejection(
      twilioClient.calls.create({ to, from: '+14255550199', twiml: '<Response/>' }),
    );
    expect([e.status, e.code]).toEqual([400, 21210]);
  });

  it('fails the next N calls with the armed status, then works again', async () => {
    const arm = await fetch(`${emus.twilio.url}/_emulator/calls/faults`, {
      method: 'POST',
      body: JSON.stringify({ count: 2, status: 503, code: 20503 }),
    });
    expect(arm.status).toBe(204);
    const params = { to, from: emus.twilio.senders[0] ?? '', twiml: '<Response/>' };
    expect((await rejection(twilioClient.calls.create(params))).status).toBe(503);
    expect((await rejection(twilioClient.calls.create(params))).status).toBe(503);
    await expect(twilioClient.calls.create(params)).resolves.toMatchObject({ status: 'queued' });
    expect(emus.twilio.voice.requestCount()).toBe(3);
  });
});

function cb0<T>(list: readonly T[]): T {
  const first = list[0];
  if (first === undefined) throw new Error('no callback');
  return first;
}

describe('WhatsApp through Messages', () => {
  it('renders the approved template from ContentSid and ContentVariables', async () => {
    const msg = await twilioClient.messages.create({
      to: `whatsapp:${to}`,
      from: `whatsapp:${DEFAULT_WHATSAPP_SENDER}`,
      contentSid: DEFAULT_CONTENT_SID,
      contentVariables: JSON.stringify({ 1: '482913' }),
    });
    expect(msg.to).toBe(`whatsapp:${to}`);
    expect(msg.body).toBe(
      '482913 is your verification code. For your security, do not share this code.',
    );
    const read = await outbox(
      emus.twilio.url,
      `/_emulator/messages?to=${encodeURIComponent(`whatsapp:${to}`)}`,
    );
    expect(read['messages']).toEqual([expect.objectContaining({ sid: msg.sid })]);
    expect(lines.some((l) => l.startsWith(`WhatsApp to ${to}: 482913 is your`))).toBe(true);
  });

  it('refuses an unknown template, bad variables and a sender that is not a WhatsApp sender', async () => {
    const base = { to: `whatsapp:${to}`, from: `whatsapp:${DEFAULT_WHATSAPP_SENDER}` };
    const unknown = await rejection(
      twilioClient.messages.create({ ...base, contentSid: `HX${'b'.repeat(32)}` }),
    );
    expect(unknown.code).toBe(21655);
    const bad = await rejection(
      twilioClient.messages.create({
        ...base,
        contentSid: DEFAULT_CONTENT_SID,
        contentVariables: '{nope',
      }),
    );
    expect(bad.code).toBe(21656);
    const sender = await rejection(
      twilioClient.messages.create({
        ...base,
        from: 'whatsapp:+15005550006',
        contentSid: DEFAULT_CONTENT_SID,
      }),
    );
    expect(sender.code).toBe(63007);
  });
});

describe('ACS SMS', () => {
  const smsClient = (): SmsClient =>
    new SmsClient(emus.acs.connectionString, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });

  it('sends with the HMAC-signed SDK and answers one result per recipient', async () => {
    const results = await smsClient().send({
      from: emus.acs.sms.senders[0] ?? '',
      to: [to, 'not-a-number'],
      message: 'Your verification code is 123456',
    });
    expect(results).toEqual([
      expect.objectContaining({ to, successful: true, httpStatusCode: 202 }),
      expect.objectContaining({ to: 'not-a-number', successful: false, httpStatusCode: 400 }),
    ]);
    expect(results[0]?.messageId).toMatch(/^Outgoing_/);
    const read = await outbox(emus.acs.url, `/_emulator/sms?to=${encodeURIComponent(to)}`);
    expect(read['messages']).toEqual([
      expect.objectContaining({ to, message: 'Your verification code is 123456' }),
    ]);
    expect(lines).toContain(`SMS to ${to} (ACS): Your verification code is 123456`);
  });

  it('refuses a request signed with another key, and a sender the resource does not own', async () => {
    const wrongKey = new SmsClient(
      emus.acs.connectionString.replace(/accesskey=.*/, 'accesskey=d3Jvbmcta2V5'),
      { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } },
    );
    await expect(
      wrongKey.send({ from: emus.acs.sms.senders[0] ?? '', to: [to], message: 'x' }),
    ).rejects.toMatchObject({ statusCode: 401, code: 'Denied' });
    await expect(
      smsClient().send({ from: '+18005550199', to: [to], message: 'x' }),
    ).rejects.toMatchObject({ statusCode: 401 });
    expect(emus.acs.sms.messages()).toEqual([]);
  });

  it('authenticates a managed identity (bearer) on the https endpoint', async () => {
    const saved = { e: process.env.IDENTITY_ENDPOINT, h: process.env.IDENTITY_HEADER };
    process.env.IDENTITY_ENDPOINT = emus.managedIdentity.identityEndpoint;
    process.env.IDENTITY_HEADER = emus.managedIdentity.identityHeader;
    const untrust = trustLoopbackCertificate(emus.certificate.cert);
    try {
      const client = new SmsClient(emus.acs.httpsUrl ?? '', new ManagedIdentityCredential());
      const [result] = await client.send({
        from: emus.acs.sms.senders[0] ?? '',
        to: [to],
        message: 'by identity',
      });
      expect(result?.successful).toBe(true);
    } finally {
      untrust();
      process.env.IDENTITY_ENDPOINT = saved.e;
      process.env.IDENTITY_HEADER = saved.h;
      if (saved.e === undefined) delete process.env.IDENTITY_ENDPOINT;
      if (saved.h === undefined) delete process.env.IDENTITY_HEADER;
    }
  });

  it('hangs when told to, and fails the next send with the armed status', async () => {
    emus.acs.sms.failNext({ hang: true });
    const hung = smsClient().send(
      { from: emus.acs.sms.senders[0] ?? '', to: [to], message: 'x' },
      { abortSignal: AbortSignal.timeout(200) },
    );
    await expect(hung).rejects.toThrow();
    emus.acs.sms.failNext({ status: 500 });
    await expect(
      smsClient().send({ from: emus.acs.sms.senders[0] ?? '', to: [to], message: 'x' }),
    ).rejects.toMatchObject({ statusCode: 500 });
    expect(emus.acs.sms.messages()).toEqual([]);
  });

  it('answers a waiting outbox read as soon as the SMS arrives', async () => {
    const read = outbox(emus.acs.url, `/_emulator/sms?to=${encodeURIComponent(to)}&waitMs=5000`);
    while (emus.acs.sms.waitingReads() === 0) await new Promise((r) => setImmediate(r));
    await smsClient().send({ from: emus.acs.sms.senders[0] ?? '', to: [to], message: 'late' });
    expect((await read)['messages']).toEqual([expect.objectContaining({ message: 'late' })]);
  });
});

describe('ACS Email', () => {
  const emailClient = (): EmailClient =>
    new EmailClient(emus.acs.connectionString, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
  const message = (address: string) => ({
    senderAddress: emus.acs.email.senders[0] ?? '',
    content: {
      subject: 'Your code',
      plainText: 'Code: 123456',
      html: '<p>Code: <b>123456</b></p>',
    },
    recipients: { to: [{ address }] },
  });

  it('runs the long-running send to Succeeded through operation-location polling', async () => {
    const poller = await emailClient().beginSend(message('ada@example.com'), {
      updateIntervalInMs: 10,
    });
    const result = await poller.pollUntilDone();
    expect(result.status).toBe('Succeeded');
    const read = await outbox(emus.acs.url, '/_emulator/emails?to=ada%40example.com');
    expect(read['emails']).toEqual([
      expect.objectContaining({
        operationId: result.id,
        subject: 'Your code',
        plainText: 'Code: 123456',
        html: '<p>Code: <b>123456</b></p>',
      }),
    ]);
    expect(lines.some((l) => l.startsWith('Email to ada@example.com: Your code'))).toBe(true);
  });

  it('fails the operation for an undeliverable recipient, and the send for an unknown sender', async () => {
    // beginSend polls once itself, so an operation that is already Failed rejects there.
    await expect(
      emailClient().beginSend(message(`x@${UNDELIVERABLE_DOMAIN}`), { updateIntervalInMs: 10 }),
    ).rejects.toThrow(/EmailDroppedAllRecipientsSuppressed/);
    await expect(
      emailClient().beginSend({ ...message('a@example.com'), senderAddress: 'me@elsewhere.com' }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidSenderUserName' });
  });

  it('fails the next send with the armed status (POST /_emulator/emails/faults)', async () => {
    const arm = await fetch(`${emus.acs.url}/_emulator/emails/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 503, code: 'ServiceUnavailable' }),
    });
    expect(arm.status).toBe(204);
    await expect(emailClient().beginSend(message('a@example.com'))).rejects.toMatchObject({
      statusCode: 503,
    });
    expect(emus.acs.email.emails()).toEqual([]);
  });
});
