import { TwilioSmsSender, mapTwilioError } from '../../src/verification/twilio-sms-sender';
import { RateLimitedError, UpstreamError, UpstreamUnavailableError } from '../../src/errors';
import { StubServer } from './helpers/stub-server';

const SID = `AC${'a'.repeat(32)}`;
const TOKEN = 'local-emulator-auth-token';

describe('TwilioSmsSender (official twilio SDK, rebased to a local server)', () => {
  let stub: StubServer;
  beforeEach(async () => {
    stub = await new StubServer().start();
  });
  afterEach(() => stub.close());

  /** The re-run check's answer: no earlier message to this number. */
  const noEarlierMessages = () =>
    stub.replies.push({
      status: 200,
      body: { messages: [], page: 0, page_size: 20, uri: '/x', next_page_uri: null },
    });

  const sender = () =>
    new TwilioSmsSender({
      accountSid: SID,
      authToken: TOKEN,
      phoneNumber: '+15005550006',
      apiBaseUrl: new URL(stub.url),
    });

  it('posts the message to the Messages API of the configured base URL with Basic auth', async () => {
    noEarlierMessages();
    stub.replies.push({
      status: 201,
      body: {
        sid: `SM${'1'.repeat(32)}`,
        status: 'queued',
        to: '+14255550100',
        from: '+15005550006',
        body: 'x',
        date_created: 'Sun, 22 Nov 2026 10:00:00 +0000',
        date_updated: 'Sun, 22 Nov 2026 10:00:00 +0000',
        date_sent: null,
      },
    });
    const receipt = await sender().send({
      to: '+14255550100',
      body: 'Your verification code is 123456',
    });
    expect(receipt).toEqual({ sid: `SM${'1'.repeat(32)}` });
    const [lookup, req] = stub.requests;
    expect(lookup?.method).toBe('GET');
    expect(lookup?.url).toBe(
      `/2010-04-01/Accounts/${SID}/Messages.json?To=%2B14255550100&From=%2B15005550006&PageSize=20`,
    );
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(req?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`,
    );
    const form = new URLSearchParams(req?.body);
    expect(Object.fromEntries(form)).toEqual({
      To: '+14255550100',
      From: '+15005550006',
      Body: 'Your verification code is 123456',
    });
  });

  it('turns a Twilio rejection into an UpstreamError that names the Twilio code but not the body', async () => {
    noEarlierMessages();
    stub.replies.push({
      status: 400,
      body: {
        code: 21211,
        message: "Invalid 'To' Phone Number: +14255550100",
        more_info: 'https://www.twilio.com/docs/errors/21211',
        status: 400,
      },
    });
    const error = await sender()
      .send({ to: '+14255550100', body: 'Your verification code is 654321' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).message).toBe(
      'Twilio rejected the message (Twilio error 21211).',
    );
    expect((error as UpstreamError).upstreamStatus).toBe(400);
    expect((error as Error).cause).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain('654321');
  });

  it('maps 429 to RateLimitedError and 401 to a credentials UpstreamError', async () => {
    noEarlierMessages();
    stub.replies.push({
      status: 429,
      body: { code: 20429, message: 'Too Many Requests', status: 429 },
    });
    await expect(sender().send({ to: '+14255550100', body: 'b' })).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    noEarlierMessages();
    stub.replies.push({ status: 401, body: { code: 20003, message: 'Authenticate', status: 401 } });
    await expect(sender().send({ to: '+14255550100', body: 'b' })).rejects.toThrow(
      'Twilio rejected the account credentials (Twilio error 20003).',
    );
  });

  it('reports an unreachable API as UpstreamUnavailableError', async () => {
    const url = stub.url;
    await stub.close();
    const offline = new TwilioSmsSender({
      accountSid: SID,
      authToken: TOKEN,
      phoneNumber: '+15005550006',
      apiBaseUrl: new URL(url),
    });
    await expect(offline.send({ to: '+14255550100', body: 'b' })).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
  });

  it('maps unknown failures to a generic UpstreamError', () => {
    expect(mapTwilioError(new Error('boom'))).toBeInstanceOf(UpstreamError);
    expect(mapTwilioError({ status: 503 }).message).toBe('Twilio failed with HTTP 503.');
  });
});
