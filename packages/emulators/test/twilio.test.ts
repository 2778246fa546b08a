import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type Response from 'twilio/lib/http/response';
import {
  startTwilioEmulator,
  type TwilioEmulator,
  formatTwilioDate,
  segmentCount,
} from '../src/twilio/server';
import { EmulatorRequestClient, rejection } from './twilio-sdk';

describe('Twilio Messages emulator, driven by the twilio SDK', () => {
  let emu: TwilioEmulator;
  let client: twilio.Twilio;
  const lines: string[] = [];
  const to = '+14255550100';

  beforeAll(async () => {
    // The lifecycle (and its callbacks to the example URL) is covered in twilio-lifecycle.test.ts.
    emu = await startTwilioEmulator({ port: 0, log: (l) => lines.push(l), lifecycle: false });
    client = twilio(emu.accountSid, emu.authToken, {
      httpClient: new EmulatorRequestClient(emu.url),
    });
  });
  afterAll(async () => {
    await emu.close();
  });
  beforeEach(() => {
    emu.reset();
    lines.length = 0;
  });

  it('creates a message: 201, parsed MessageInstance, stored in the outbox', async () => {
    const msg = await client.messages.create({
      to,
      from: '+15005550006',
      body: 'Your verification code is 123456',
      statusCallback: 'https://example.com/cb',
    });
    expect(msg.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(msg.status).toBe('queued');
    expect(msg.to).toBe(to);
    expect(msg.from).toBe('+15005550006');
    expect(msg.body).toBe('Your verification code is 123456');
    expect(msg.accountSid).toBe(emu.accountSid);
    expect(msg.apiVersion).toBe('2010-04-01');
    expect(msg.direction).toBe('outbound-api');
    expect(msg.numSegments).toBe('1');
    expect(msg.errorCode).toBeNull();
    expect(msg.dateSent).toBeNull();
    expect(msg.dateCreated).toBeInstanceOf(Date);
    expect(Math.abs(msg.dateCreated.getTime() - Date.now())).toBeLessThan(5000);
    expect(msg.uri).toBe(`/2010-04-01/Accounts/${emu.accountSid}/Messages/${msg.sid}.json`);
    expect(client.httpClient.lastResponse?.statusCode).toBe(201);

    const out = emu.messages(to);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      sid: msg.sid,
      to,
      from: '+15005550006',
      body: 'Your verification code is 123456',
      statusCallback: 'https://example.com/cb',
    });
    expect(emu.messages('+14255550199')).toHaveLength(0);
    // The request log carries neither the body nor the credentials.
    expect(lines.join('\n')).not.toContain('123456');
    expect(lines.join('\n')).not.toContain(emu.authToken);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[twilio\] POST \/2010-04-01\/Accounts\/AC\w+\/Messages\.json 201 /);
  });

  it('fetches a created message', async () => {
    const created = await client.messages.create({ to, from: '+15005550006', body: 'hi' });
    const fetched = await client.messages(created.sid).fetch();
    expect(fetched.sid).toBe(created.sid);
    expect(fetched.dateCreated.getTime()).toBe(created.dateCreated.getTime());
    const missing = await rejection(client.messages('SM00000000000000000000000000000000').fetch());
    expect(missing.status).toBe(404);
    expect(missing.code).toBe(20404);
  });

  it('lists messages newest first, filtered, across pages', async () => {
    for (let i = 1; i <= 5; i += 1)
      await client.messages.create({ to, from: '+15005550006', body: `m${i}` });
    await client.messages.create({ to: '+14255550199', from: '+15005550006', body: 'other' });
    const listed = await client.messages.list({ to, pageSize: 2 });
    expect(listed.map((m) => m.body)).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
    const limited = await client.messages.list({ limit: 3 });
    expect(limited.map((m) => m.body)).toEqual(['other', 'm5', 'm4']);
    const page = await client.messages.page({ pageSize: 4 });
    expect(page.instances).toHaveLength(4);
    expect(page.nextPageUrl).toBeDefined();
  });

  it('sends through a messaging service: accepted, no From yet', async () => {
    const msg = await client.messages.create({
      to,
      messagingServiceSid: 'MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      body: 'hi',
    });
    expect(msg.status).toBe('accepted');
    expect(msg.from).toBeNull();
    expect(msg.messagingServiceSid).toBe('MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    const bad = await rejection(
      client.messages.create({
        to,
        messagingServiceSid: 'MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
        body: 'hi',
      }),
    );
    expect([bad.status, bad.code]).toEqual([400, 21701]);
  });

  it('rejects a wrong auth token with 401 / 20003', async () => {
    const wrong = twilio(emu.accountSid, 'not-the-token', {
      httpClient: new EmulatorRequestClient(emu.url),
    });
    const err = await rejection(wrong.messages.create({ to, from: '+15005550006', body: 'hi' }));
    expect(err.status).toBe(401);
    expect(err.code).toBe(20003);
    expect(err.moreInfo).toBe('https://www.twilio.com/docs/errors/20003');
    expect(emu.messages()).toHaveLength(0);
  });

  it('accepts a configured API key (SK sid + secret) with the accountSid option', async () => {
    const keyed = await startTwilioEmulator({
      port: 0,
      log: () => undefined,
      apiKeys: [{ sid: 'SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', secret: 'key-secret' }],
    });
    try {
      const c = twilio('SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'key-secret', {
        accountSid: keyed.accountSid,
        httpClient: new EmulatorRequestClient(keyed.url),
      });
      const msg = await c.messages.create({ to, from: '+15005550006', body: 'via key' });
      expect(msg.accountSid).toBe(keyed.accountSid);
      expect(c.httpClient.lastResponse?.headers).toBeDefined();
      const wrong = twilio('SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'nope', {
        accountSid: keyed.accountSid,
        httpClient: new EmulatorRequestClient(keyed.url),
      });
      const err = await rejection(wrong.messages.create({ to, from: '+15005550006', body: 'x' }));
      expect([err.status, err.code]).toEqual([401, 20003]);
    } finally {
      await keyed.close();
    }
  });

  it('rejects a wrong account sid with 401 / 20003', async () => {
    const other = twilio('ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', emu.authToken, {
      httpClient: new EmulatorRequestClient(emu.url),
    });
    const err = await rejection(other.messages.create({ to, from: '+15005550006', body: 'hi' }));
    expect([err.status, err.code]).toEqual([401, 20003]);
  });

  it.each([
    ['not E.164', '4255550100', 21211],
    ['letters', '+1425abc0100', 21211],
    ['too short', '+1234', 21211],
  ])('rejects a To that is %s with 400 / 21211', async (_name, badTo, code) => {
    const err = await rejection(
      client.messages.create({ to: badTo, from: '+15005550006', body: 'hi' }),
    );
    expect(err.status).toBe(400);
    expect(err.code).toBe(code);
    expect(err.message).toContain("Invalid 'To' Phone Number");
  });

  it('rejects a From that is not a configured sender with 400 / 21606', async () => {
    const err = await rejection(client.messages.create({ to, from: '+15005550007', body: 'hi' }));
    expect([err.status, err.code]).toEqual([400, 21606]);
  });

  it('rejects missing From, missing Body and a too-long Body', async () => {
    const noFrom = await rejection(client.messages.create({ to, body: 'hi' }));
    expect([noFrom.status, noFrom.code]).toEqual([400, 21603]);
    const noBody = await rejection(client.messages.create({ to, from: '+15005550006' }));
    expect([noBody.status, noBody.code]).toEqual([400, 21602]);
    const long = await rejection(
      client.messages.create({ to, from: '+15005550006', body: 'x'.repeat(1601) }),
    );
    expect([long.status, long.code]).toEqual([400, 21617]);
  });

  it.each([
    ['+15005550001', 21211],
    ['+15005550002', 21612],
    ['+15005550003', 21408],
    ['+15005550004', 21610],
    ['+15005550009', 21614],
  ])('answers Twilio magic test number %s with %d', async (magicTo, code) => {
    const err = await rejection(
      client.messages.create({ to: magicTo, from: '+15005550006', body: 'hi' }),
    );
    expect([err.status, err.code]).toEqual([400, code]);
  });

  it('injects faults for the next N sends, then recovers', async () => {
    emu.failNext({ count: 2, status: 503, code: 20503, message: 'Service unavailable' });
    const e1 = await rejection(client.messages.create({ to, from: '+15005550006', body: 'a' }));
    const e2 = await rejection(client.messages.create({ to, from: '+15005550006', body: 'b' }));
    expect([e1.status, e1.code, e1.message]).toEqual([503, 20503, 'Service unavailable']);
    expect([e2.status, e2.code]).toEqual([503, 20503]);
    const ok = await client.messages.create({ to, from: '+15005550006', body: 'c' });
    expect(ok.status).toBe('queued');
    expect(emu.messages(to).map((m) => m.body)).toEqual(['c']);
    expect(emu.requestCount()).toBe(3);
  });

  it('lets the SDK retry a 429 with autoRetry', async () => {
    const retrying = twilio(emu.accountSid, emu.authToken, {
      httpClient: new (class extends twilio.RequestClient {
        constructor() {
          super({ autoRetry: true, maxRetries: 3, maxRetryDelay: 20 });
        }
        override request<T>(opts: RequestClient.RequestOptions<T>): Promise<Response<T>> {
          return super.request<T>({ ...opts, uri: opts.uri.replace(/^https:\/\/[^/]+/, emu.url) });
        }
      })(),
    });
    emu.failNext({
      count: 1,
      status: 429,
      code: 20429,
      message: 'Too Many Requests',
      retryAfterSeconds: 1,
    });
    const msg = await retrying.messages.create({ to, from: '+15005550006', body: 'after retry' });
    expect(msg.body).toBe('after retry');
    expect(emu.requestCount()).toBe(2);
  });

  it('works through the Api domain baseUrl mechanism too', async () => {
    const viaBase = twilio(emu.accountSid, emu.authToken);
    viaBase.api.baseUrl = emu.url;
    const msg = await viaBase.messages.create({ to, from: '+15005550006', body: 'base url' });
    expect(msg.status).toBe('queued');
    expect(emu.lastMessage(to)?.body).toBe('base url');
  });

  it('serves the outbox, faults and reset over HTTP', async () => {
    await client.messages.create({ to, from: '+15005550006', body: 'one' });
    await client.messages.create({ to: '+14255550199', from: '+15005550006', body: 'two' });
    const all = (await (await fetch(`${emu.url}/_emulator/messages`)).json()) as {
      messages: { body: string }[];
    };
    expect(all.messages.map((m) => m.body)).toEqual(['one', 'two']);
    const filtered = (await (
      await fetch(`${emu.url}/_emulator/messages?to=${encodeURIComponent(to)}`)
    ).json()) as { messages: { body: string }[] };
    expect(filtered.messages.map((m) => m.body)).toEqual(['one']);

    const badFault = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 200, code: 1 }),
    });
    expect(badFault.status).toBe(400);
    expect(badFault.headers.get('content-type')).toContain('application/problem+json');
    const notJson = await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    const fault = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 500, code: 20500 }),
    });
    expect(fault.status).toBe(204);
    const err = await rejection(client.messages.create({ to, from: '+15005550006', body: 'x' }));
    expect([err.status, err.code]).toEqual([500, 20500]);

    expect((await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' })).status).toBe(204);
    expect(emu.messages()).toHaveLength(0);
    const unknown = await fetch(`${emu.url}/_emulator/nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    const unknownApi = await fetch(
      `${emu.url}/2010-04-01/Accounts/${emu.accountSid}/Recordings.json`,
    );
    expect(unknownApi.status).toBe(404);
    expect(((await unknownApi.json()) as { code: number }).code).toBe(20404);
  });

  describe('reading the outbox with waitMs (long poll)', () => {
    type Outbox = { messages: { body: string }[] };
    const read = async (query: string): Promise<{ status: number; body: Outbox }> => {
      const res = await fetch(`${emu.url}/_emulator/messages?${query}`);
      return { status: res.status, body: (await res.json()) as Outbox };
    };
    const send = (body: string, recipient = to) =>
      client.messages.create({ to: recipient, from: '+15005550006', body });
    /** Until the emulator holds `n` waiting reads (each turn of the loop lets I/O in). */
    const untilWaiting = async (n: number): Promise<void> => {
      while (emu.waitingReads() !== n) await new Promise((resolve) => setImmediate(resolve));
    };

    it('answers once a message to `to` arrives, not before', async () => {
      let answered = false;
      const waiting = read(`to=${encodeURIComponent(to)}&waitMs=10000`).then((r) => {
        answered = true;
        return r;
      });
      await untilWaiting(1);
      await send('to someone else', '+14255550199');
      // The other recipient's message went through the emulator first: the read still waits.
      expect(emu.messages()).toHaveLength(1);
      expect(answered).toBe(false);
      await send('yours');
      const { status, body } = await waiting;
      expect(status).toBe(200);
      expect(body.messages.map((m) => m.body)).toEqual(['yours']);
    });

    it('waits for `count` messages, and answers at once when they are already there', async () => {
      await send('first');
      const waiting = read(`to=${encodeURIComponent(to)}&count=2&waitMs=10000`);
      await untilWaiting(1);
      await send('second');
      expect((await waiting).body.messages.map((m) => m.body)).toEqual(['first', 'second']);
      const now = await read(`to=${encodeURIComponent(to)}&count=2&waitMs=10000`);
      expect(now.body.messages).toHaveLength(2);
    });

    it('answers with what there is once waitMs has passed', async () => {
      const { status, body } = await read(`to=${encodeURIComponent(to)}&waitMs=20`);
      expect(status).toBe(200);
      expect(body.messages).toEqual([]);
      expect(emu.waitingReads()).toBe(0);
    });

    it('answers waiting reads when the outbox is cleared', async () => {
      const waiting = read(`to=${encodeURIComponent(to)}&waitMs=10000`);
      await untilWaiting(1);
      await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' });
      expect((await waiting).body.messages).toEqual([]);
      expect(emu.waitingReads()).toBe(0);
    });

    it.each(['waitMs=-1', 'waitMs=30001', 'waitMs=soon', 'count=0', 'count=1.5'])(
      'refuses %s with 400 problem+json',
      async (query) => {
        const res = await fetch(`${emu.url}/_emulator/messages?${query}`);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(((await res.json()) as { detail: string }).detail).toMatch(/waitMs.*count/);
      },
    );
  });

  it('refuses an oversized body with 413 and keeps serving', async () => {
    const auth = Buffer.from(`${emu.accountSid}:${emu.authToken}`).toString('base64');
    const res = await fetch(`${emu.url}/2010-04-01/Accounts/${emu.accountSid}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${auth}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `Body=${'x'.repeat(1024 * 1024 + 1)}`,
    });
    expect(res.status).toBe(413);
    await expect(
      client.messages.create({ to, from: '+15005550006', body: 'still up' }),
    ).resolves.toBeDefined();
  });

  it('prints each SMS only in printMessages mode', async () => {
    const printed: string[] = [];
    const loud = await startTwilioEmulator({
      port: 0,
      printMessages: true,
      log: (l) => printed.push(l),
    });
    try {
      const c = twilio(loud.accountSid, loud.authToken, {
        httpClient: new EmulatorRequestClient(loud.url),
      });
      await c.messages.create({
        to,
        from: '+15005550006',
        body: 'Your verification code is 654321',
      });
      expect(printed).toContain(`SMS to ${to}: Your verification code is 654321`);
    } finally {
      await loud.close();
    }
  });

  it('formats dates and counts segments like Twilio', () => {
    expect(formatTwilioDate(new Date(Date.UTC(2023, 7, 24, 5, 1, 45)))).toBe(
      'Thu, 24 Aug 2023 05:01:45 +0000',
    );
    expect(segmentCount('a'.repeat(160))).toBe(1);
    expect(segmentCount('a'.repeat(161))).toBe(2);
    expect(segmentCount('é'.repeat(10))).toBe(1);
    expect(segmentCount('☃'.repeat(71))).toBe(2);
  });
});
