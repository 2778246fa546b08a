/**
 * The Twilio emulator's message lifecycle, driven by the twilio SDK over real HTTP on a manual clock:
 * status steps with dates and price, signed status callbacks, DateSent filters, delete, redact and cancel,
 * and the create-time rules for messaging services and magic From numbers.
 */
import twilio from 'twilio';
import { ManualClock } from '@local/durable-runtime';
import {
  DEFAULT_MESSAGING_SERVICE_SID,
  DEFAULT_TWILIO_SENDER,
  startTwilioEmulator,
  type TwilioEmulator,
} from '../src/twilio/server';
import {
  EmulatorRequestClient,
  rejection,
  startCallbackReceiver,
  type CallbackReceiver,
  type ReceivedCallback,
} from './twilio-sdk';

const START = new Date('2030-03-04T10:00:00.000Z');

describe('Twilio emulator message lifecycle', () => {
  let clock: ManualClock;
  let emu: TwilioEmulator;
  let client: twilio.Twilio;
  let receiver: CallbackReceiver;
  let callbackUrl: string;
  let callbacks: ReceivedCallback[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  const to = '+14255550100';

  /** Resolves once `count` callbacks have arrived in total (no sleeping: the emulator's POSTs wake it). */
  const callbacksArrived = (count: number): Promise<void> =>
    callbacks.length >= count
      ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ count, resolve }));

  beforeAll(async () => {
    receiver = await startCallbackReceiver((callback) => {
      callbacks.push(callback);
      waiters = waiters.filter((w) => (callbacks.length >= w.count ? (w.resolve(), false) : true));
    });
    callbackUrl = `${receiver.origin}/status?tenant=a%20b`;
  });
  afterAll(() => receiver.close());
  // A fresh emulator on a fresh clock per test, so every test starts at START.
  beforeEach(async () => {
    callbacks = [];
    waiters = [];
    clock = new ManualClock(START);
    emu = await startTwilioEmulator({ port: 0, log: () => undefined, clock });
    client = twilio(emu.accountSid, emu.authToken, {
      httpClient: new EmulatorRequestClient(emu.url),
    });
  });
  afterEach(async () => {
    await emu.close();
  });

  it('moves queued → sending → sent → delivered, with date_sent and price once sent', async () => {
    const created = await client.messages.create({
      to,
      from: DEFAULT_TWILIO_SENDER,
      body: 'hello',
      statusCallback: callbackUrl,
    });
    expect(created).toMatchObject({
      status: 'queued',
      dateSent: null,
      price: null,
      priceUnit: 'USD',
    });

    clock.advance(100);
    expect((await client.messages(created.sid).fetch()).status).toBe('sending');
    clock.advance(400);
    const sent = await client.messages(created.sid).fetch();
    expect(sent).toMatchObject({ status: 'sent', price: '-0.00790', priceUnit: 'USD' });
    expect(sent.dateSent?.toISOString()).toBe('2030-03-04T10:00:00.000Z');
    clock.advance(1500);
    const delivered = await client.messages(created.sid).fetch();
    expect(delivered.status).toBe('delivered');
    expect(delivered.dateUpdated.getTime()).toBe(START.getTime() + 2000 - (2000 % 1000));
    expect(delivered.errorCode).toBeNull();
    // The outbox the app's tests and the load driver read is unchanged, apart from the status.
    const outbox = (await (
      await fetch(`${emu.url}/_emulator/messages?to=${encodeURIComponent(to)}`)
    ).json()) as {
      messages: { sid: string; body: string; status: string }[];
    };
    expect(outbox.messages).toEqual([
      expect.objectContaining({ sid: created.sid, body: 'hello', status: 'delivered' }),
    ]);
  });

  it('POSTs each change to StatusCallback, in order, signed so twilio.validateRequest accepts it', async () => {
    const created = await client.messages.create({
      to,
      from: DEFAULT_TWILIO_SENDER,
      body: 'hello',
      statusCallback: callbackUrl,
    });
    clock.advance(5_000);
    await callbacksArrived(3);
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['sending', 'sent', 'delivered']);
    for (const c of callbacks) {
      expect(c.url).toBe(callbackUrl);
      expect(c.params).toMatchObject({
        MessageSid: created.sid,
        SmsSid: created.sid,
        AccountSid: emu.accountSid,
        From: DEFAULT_TWILIO_SENDER,
        To: to,
        ApiVersion: '2010-04-01',
      });
      expect(twilio.validateRequest(emu.authToken, c.signature, c.url, c.params)).toBe(true);
      // The signature covers the parameters: changing one breaks it.
      expect(
        twilio.validateRequest(emu.authToken, c.signature, c.url, { ...c.params, To: '+1999' }),
      ).toBe(false);
      expect(twilio.validateRequest('another-token', c.signature, c.url, c.params)).toBe(false);
    }
  });

  it.each([
    ['+15005550010', 'undelivered', 30003],
    ['+15005550011', 'undelivered', 30005],
    ['+15005550012', 'failed', 30008],
  ])(
    'ends a message to %s as %s with error %d (callback included)',
    async (failing, status, code) => {
      const created = await client.messages.create({
        to: failing,
        from: DEFAULT_TWILIO_SENDER,
        body: 'hello',
        statusCallback: callbackUrl,
      });
      expect(created.status).toBe('queued');
      clock.advance(10_000);
      const final = await client.messages(created.sid).fetch();
      expect(final).toMatchObject({ status, errorCode: code });
      const expected =
        status === 'failed' ? ['sending', 'failed'] : ['sending', 'sent', 'undelivered'];
      await callbacksArrived(expected.length);
      expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(expected);
      expect(callbacks[callbacks.length - 1]?.params.ErrorCode).toBe(String(code));
    },
  );

  it('filters the list by DateSent, DateSent< and DateSent>', async () => {
    const first = await client.messages.create({ to, from: DEFAULT_TWILIO_SENDER, body: 'day 1' });
    clock.advance(1_000); // first is sent at 10:00:00.5
    clock.advance(86_400_000);
    const second = await client.messages.create({ to, from: DEFAULT_TWILIO_SENDER, body: 'day 2' });
    clock.advance(1_000);
    const unsent = await client.messages.create({ to, from: DEFAULT_TWILIO_SENDER, body: 'later' });

    const sids = async (options: Parameters<typeof client.messages.list>[0]): Promise<string[]> =>
      (await client.messages.list(options)).map((m) => m.sid);
    expect(await sids({ dateSent: new Date('2030-03-04T10:00:00.000Z') })).toEqual([first.sid]);
    expect(await sids({ dateSentBefore: new Date('2030-03-04T23:59:59Z') })).toEqual([first.sid]);
    expect(await sids({ dateSentAfter: new Date('2030-03-05T00:00:00Z') })).toEqual([second.sid]);
    // Unsent messages have no date_sent, so any DateSent filter leaves them out; no filter keeps them.
    expect(await sids({})).toEqual([unsent.sid, second.sid, first.sid]);
    const day = await fetch(
      `${emu.url}/2010-04-01/Accounts/${emu.accountSid}/Messages.json?DateSent=2030-03-05`,
      {
        headers: {
          authorization: `Basic ${Buffer.from(`${emu.accountSid}:${emu.authToken}`).toString('base64')}`,
        },
      },
    );
    expect(
      ((await day.json()) as { messages: { sid: string }[] }).messages.map((m) => m.sid),
    ).toEqual([second.sid]);
    const bad = await rejection(client.messages.list({ dateSent: new Date(Number.NaN) }));
    expect(bad.status).toBe(400);
  });

  it('deletes a message (204) and forgets it everywhere', async () => {
    const created = await client.messages.create({
      to,
      from: DEFAULT_TWILIO_SENDER,
      body: 'bye',
      statusCallback: callbackUrl,
    });
    expect(await client.messages(created.sid).remove()).toBe(true);
    const gone = await rejection(client.messages(created.sid).fetch());
    expect([gone.status, gone.code]).toEqual([404, 20404]);
    expect(emu.messages(to)).toEqual([]);
    // Its lifecycle stopped too: only the other message's changes are called back.
    const other = await client.messages.create({
      to,
      from: DEFAULT_TWILIO_SENDER,
      body: 'stays',
      statusCallback: callbackUrl,
    });
    clock.advance(10_000);
    await callbacksArrived(3);
    expect(new Set(callbacks.map((c) => c.params.MessageSid))).toEqual(new Set([other.sid]));
  });

  it('redacts the body with Body "" once the message is sent, not while it is being sent', async () => {
    const created = await client.messages.create({
      to,
      from: DEFAULT_TWILIO_SENDER,
      body: 'code 123456',
    });
    const early = await rejection(client.messages(created.sid).update({ body: '' }));
    expect(early.status).toBe(400);
    clock.advance(500);
    const redacted = await client.messages(created.sid).update({ body: '' });
    expect(redacted).toMatchObject({ sid: created.sid, body: '', status: 'sent' });
    expect((await client.messages(created.sid).fetch()).body).toBe('');
    expect(emu.lastMessage(to)?.body).toBe('');
  });

  it('cancels a scheduled messaging-service message (Status canceled); other messages answer 30409', async () => {
    const sendAt = new Date(START.getTime() + 3_600_000);
    const scheduled = await client.messages.create({
      to,
      messagingServiceSid: DEFAULT_MESSAGING_SERVICE_SID,
      body: 'later',
      scheduleType: 'fixed',
      sendAt,
      statusCallback: callbackUrl,
    });
    expect(scheduled.status).toBe('scheduled');
    const canceled = await client.messages(scheduled.sid).update({ status: 'canceled' });
    expect(canceled.status).toBe('canceled');
    await callbacksArrived(1);
    expect(callbacks.map((c) => c.params.MessageStatus)).toEqual(['canceled']);
    clock.advance(2 * 3_600_000);
    expect((await client.messages(scheduled.sid).fetch()).status).toBe('canceled');

    const queued = await client.messages.create({ to, from: DEFAULT_TWILIO_SENDER, body: 'now' });
    const refused = await rejection(client.messages(queued.sid).update({ status: 'canceled' }));
    expect([refused.status, refused.code]).toEqual([400, 30409]);
    const tooSoon = await rejection(
      client.messages.create({
        to,
        messagingServiceSid: DEFAULT_MESSAGING_SERVICE_SID,
        body: 'soon',
        scheduleType: 'fixed',
        sendAt: new Date(clock.now().getTime() + 60_000),
      }),
    );
    expect(tooSoon.code).toBe(35114);
  });

  it('sends a scheduled message at SendAt', async () => {
    const scheduled = await client.messages.create({
      to,
      messagingServiceSid: DEFAULT_MESSAGING_SERVICE_SID,
      body: 'later',
      scheduleType: 'fixed',
      sendAt: new Date(clock.now().getTime() + 20 * 60_000),
    });
    clock.advance(19 * 60_000);
    expect((await client.messages(scheduled.sid).fetch()).status).toBe('scheduled');
    clock.advance(60_000);
    expect((await client.messages(scheduled.sid).fetch()).status).toBe('queued');
    clock.advance(10_000);
    expect((await client.messages(scheduled.sid).fetch()).status).toBe('delivered');
  });

  it('answers 21619 for a messaging-service send without Body, 21602 without a service', async () => {
    const viaService = await rejection(
      client.messages.create({ to, messagingServiceSid: DEFAULT_MESSAGING_SERVICE_SID }),
    );
    expect([viaService.status, viaService.code]).toEqual([400, 21619]);
    const direct = await rejection(client.messages.create({ to, from: DEFAULT_TWILIO_SENDER }));
    expect(direct.code).toBe(21602);
  });

  it.each([
    ['+15005550001', 21212],
    ['+15005550008', 21611],
    ['+15005550007', 21606],
  ])('answers magic From %s with %d', async (from, code) => {
    const err = await rejection(client.messages.create({ to, from, body: 'x' }));
    expect([err.status, err.code]).toEqual([400, code]);
    expect(emu.messages()).toEqual([]);
  });
});
