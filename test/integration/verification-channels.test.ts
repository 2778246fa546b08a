/**
 * Channels, SMS failover, fallback workflows and test numbers through the links front door, on the local
 * runtime with every embedded emulator (`npm start`'s defaults: every channel on, against its emulator) and
 * a manual clock; and a deployment without channel settings, which refuses every channel. Needs the built
 * app (`npm run build`, run by `pretest`).
 */
import type { LocalHost } from '@local/durable-runtime';
import twilio from 'twilio';
import {
  answerWithCode,
  startAppWithEmulators,
  TEST_VERIFY_ACCOUNT_SID,
  TEST_VERIFY_AUTH_TOKEN,
  type AppStack,
} from '../helpers/app-on-local-runtime';
import type { VerificationLinks } from '../../src/verification/links';
import { expectRecipientsSealed } from '../helpers/sealed-recipients';

interface StatusBody {
  runtimeStatus: string;
  output: unknown;
  customStatus: {
    state?: string;
    attemptsRemaining?: number;
    deliveries?: { channel: string; provider: string; sendNumber: number }[];
    nextFallback?: { channel: string; at: string };
  } | null;
}

const TEST_NUMBER = '+14255550199';
const TEST_CODE = '424242';
/** The guard's per-IP and per-prefix limits would stop a suite that starts this many verifications. */
const GENEROUS_LIMITS = {
  VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '1000',
  VERIFICATION_LIMIT_PER_IP_PER_HOUR: '1000',
  VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS: '0',
};

let stack: AppStack;
let phoneCounter = 0;

beforeAll(async () => {
  stack = await startAppWithEmulators('verification-channels', {
    ...GENEROUS_LIMITS,
    DELIVERY_TEST_NUMBERS: `${TEST_NUMBER}=${TEST_CODE}`,
  });
});
afterAll(async () => {
  await stack.stop();
});

function nextPhone(): string {
  phoneCounter++;
  return `+1425556${String(1000 + phoneCounter).padStart(4, '0')}`;
}

async function start(host: LocalHost, body: unknown): Promise<Response> {
  return fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function started(body: unknown): Promise<VerificationLinks> {
  const response = await start(stack.host, body);
  expect(response.status).toBe(202);
  const links = (await response.json()) as VerificationLinks;
  await stack.host.whenIdle();
  return links;
}

const submit = (links: VerificationLinks, code: string): Promise<void> =>
  answerWithCode(stack.host, links, code);

async function status(links: VerificationLinks): Promise<StatusBody> {
  await stack.host.whenIdle();
  return (await (await fetch(links.statusQueryGetUri)).json()) as StatusBody;
}

async function history(id: string): Promise<string> {
  const url = `${stack.host.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true&showHistoryOutput=true&showInput=true&code=${stack.host.keys.systemKey}`;
  return (await fetch(url)).text();
}

const sixDigits = (text: string | undefined): string => {
  const match = /(\d{6})/.exec(text ?? '');
  if (match?.[1] === undefined) throw new Error('no code in the message');
  return match[1];
};
/** The code a call speaks: "… 1, 2, 3, 4, 5, 6." */
const spokenCode = (twiml: string | null | undefined): string => {
  const match = /(\d(?:, \d){5})\./.exec(twiml ?? '');
  if (match?.[1] === undefined) throw new Error('no code in the TwiML');
  return match[1].replace(/, /g, '');
};

describe('every channel through the links front door (embedded emulators)', () => {
  it('verifies by sms, call, whatsapp and email, each code read from its own outbox', async () => {
    const read: Record<string, (phone: string, email: string) => string> = {
      sms: (phone) => sixDigits(stack.twilio.lastMessage(phone)?.body),
      call: (phone) => spokenCode(stack.twilio.voice.calls(phone).at(-1)?.twiml),
      whatsapp: (phone) => sixDigits(stack.twilio.lastMessage(`whatsapp:${phone}`)?.body),
      email: (_phone, email) => sixDigits(stack.acs.email.emails(email).at(-1)?.plainText ?? ''),
    };
    for (const channel of ['sms', 'call', 'whatsapp', 'email']) {
      const phone = nextPhone();
      const email = `user${phoneCounter}@example.com`;
      const links = await started({
        phoneNumber: phone,
        channel,
        locale: 'fr',
        ...(channel === 'email' ? { email } : {}),
      });
      const code = read[channel]!(phone, email);
      await submit(links, code);
      const done = await status(links);
      expect([channel, done.runtimeStatus, done.output]).toEqual([channel, 'Completed', true]);
      expect(done.customStatus?.deliveries?.map((d) => d.channel)).toEqual([channel]);
      expect(await history(links.id)).not.toContain(code);
      await expectRecipientsSealed(stack.host, links.id, [phone, email]);
    }
    // The call spoke French, digit by digit, twice.
    const call = stack.twilio.voice.calls().at(-1);
    expect(call?.spoken.map((s) => s.language)).toEqual(['fr-FR', 'fr-FR']);
    expect(call?.spoken[0]?.text).toMatch(/^Votre code de vérification est \d(, \d){5}\.$/);
    const email = stack.acs.email.emails().at(-1);
    expect(email?.subject).toBe('Votre code de vérification');
    expect(email?.html).toContain('<strong');
  });

  it('hands the same code to ACS SMS when Twilio fails (fault switch), and history names ACS', async () => {
    const phone = nextPhone();
    const arm = await fetch(`${stack.twilio.url}/_emulator/messages/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 503, code: 20503, count: 1 }),
    });
    expect(arm.status).toBe(204);
    const links = await started({ phoneNumber: phone });
    expect(stack.twilio.messages(phone)).toEqual([]);
    const sms = stack.acs.sms.messages(phone);
    expect(sms).toHaveLength(1);
    const code = sixDigits(sms[0]?.message);
    await submit(links, code);
    const done = await status(links);
    expect(done.output).toBe(true);
    expect(done.customStatus?.deliveries).toEqual([
      expect.objectContaining({ channel: 'sms', provider: 'acs', sendNumber: 1 }),
    ]);
    const events = await history(links.id);
    expect(events).toContain('"failedOver":["twilio"]');
    expect(events).not.toContain(code);
  });

  it('Verify API: a Twilio outage hands Verify’s own text to ACS SMS, and the check approves that code', async () => {
    const client = twilio(TEST_VERIFY_ACCOUNT_SID, TEST_VERIFY_AUTH_TOKEN);
    client.verify.baseUrl = `${stack.host.url}/api/verify`;
    const service = await client.verify.v2.services.create({ friendlyName: 'Acme' });
    const phone = nextPhone();
    const arm = await fetch(`${stack.twilio.url}/_emulator/messages/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 503, code: 20503, count: 1 }),
    });
    expect(arm.status).toBe(204);
    const created = await client.verify.v2
      .services(service.sid)
      .verifications.create({ to: phone, channel: 'sms' });
    expect(created).toMatchObject({ channel: 'sms', status: 'pending' });
    await stack.host.whenIdle();
    expect(stack.twilio.messages(phone)).toEqual([]);
    const sms = stack.acs.sms.messages(phone);
    expect(sms).toHaveLength(1);
    // Verify's rendering (service name, its wording), not the links starter's template.
    expect(sms[0]?.message).toMatch(/^Your Acme verification code is: \d{6}$/);
    const code = sixDigits(sms[0]?.message);
    const check = await client.verify.v2
      .services(service.sid)
      .verificationChecks.create({ to: phone, code });
    expect(check).toMatchObject({ status: 'approved', channel: 'sms' });
  });

  it('Verify API: Channel=email through ACS Email, approved with the code from its outbox, the address never logged in full nor in history', async () => {
    const client = twilio(TEST_VERIFY_ACCOUNT_SID, TEST_VERIFY_AUTH_TOKEN);
    client.verify.baseUrl = `${stack.host.url}/api/verify`;
    const service = await client.verify.v2.services.create({ friendlyName: 'Acme' });
    const verifications = client.verify.v2.services(service.sid).verifications;
    const address = 'Ada.Lovelace@Example.com';
    const created = await verifications.create({
      to: address,
      channel: 'email',
      locale: 'fr',
      channelConfiguration: {
        from: 'noreply@example.com',
        from_name: 'Acme',
        substitutions: { username: 'Ada' },
      },
    });
    expect(created).toMatchObject({ channel: 'email', status: 'pending', to: address });
    await stack.host.whenIdle();
    const emails = stack.acs.email.emails(address);
    expect(emails).toHaveLength(1);
    expect(emails[0]?.subject).toBe('Votre code de vérification');
    const code = sixDigits(emails[0]?.plainText ?? '');
    // A check by To finds the verification whatever the address's case.
    const check = await client.verify.v2
      .services(service.sid)
      .verificationChecks.create({ to: address.toLowerCase(), code });
    expect(check).toMatchObject({ status: 'approved', channel: 'email', valid: true });
    const events = await history(created.sid);
    expect(events).not.toContain(code);
    const attempts = await client.verify.v2.verificationAttempts.list({
      verificationSid: created.sid,
    });
    expect(attempts.map((a) => [a.channel, a.conversionStatus])).toEqual([['email', 'converted']]);
    expect(JSON.stringify(attempts)).not.toContain('Lovelace');
    // History holds the address only sealed; the account still reads it back in full.
    await expectRecipientsSealed(stack.host, created.sid, ['Lovelace', 'lovelace']);
    const fetched = await verifications(created.sid).fetch();
    expect([fetched.status, fetched.to]).toEqual(['approved', address]);
  });

  it('Verify API: an email To that is not an address, or a ChannelConfiguration whose from is none, answers 60200', async () => {
    const client = twilio(TEST_VERIFY_ACCOUNT_SID, TEST_VERIFY_AUTH_TOKEN);
    client.verify.baseUrl = `${stack.host.url}/api/verify`;
    const service = await client.verify.v2.services.create({ friendlyName: 'Acme' });
    const verifications = client.verify.v2.services(service.sid).verifications;
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (e: { status: number; code: number; message: string }) => [
          e.status,
          e.code,
          e.message.split(' ').slice(0, 3).join(' '),
        ],
      );
    for (const to of ['ada.example.com', 'ada@localhost', nextPhone()]) {
      expect(await failure(verifications.create({ to, channel: 'email' }))).toEqual([
        400,
        60200,
        'Invalid parameter: To',
      ]);
    }
    expect(
      await failure(
        verifications.create({
          to: 'ada@example.com',
          channel: 'email',
          channelConfiguration: { from: 'not an address' },
        }),
      ),
    ).toEqual([400, 60200, 'Invalid parameter: ChannelConfiguration']);
    expect(stack.acs.email.emails('ada@example.com')).toEqual([]);
  });

  it('falls back from sms to a call after the wait: the same code spoken, attempts counted across both', async () => {
    const phone = nextPhone();
    const links = await started({
      phoneNumber: phone,
      fallback: [{ channel: 'sms' }, { channel: 'call', afterSeconds: 30 }],
    });
    const code = sixDigits(stack.twilio.lastMessage(phone)?.body);
    await submit(links, code === '000000' ? '000001' : '000000');
    const waiting = await status(links);
    expect(waiting.customStatus).toMatchObject({
      attemptsRemaining: 3,
      nextFallback: { channel: 'call' },
    });
    expect(stack.twilio.voice.calls(phone)).toEqual([]);
    stack.clock.advance(29_000);
    await stack.host.whenIdle();
    expect(stack.twilio.voice.calls(phone)).toEqual([]);
    stack.clock.advance(1_000);
    await stack.host.whenIdle();
    const calls = stack.twilio.voice.calls(phone);
    expect(calls).toHaveLength(1);
    expect(spokenCode(calls[0]?.twiml)).toBe(code);
    const called = await status(links);
    if (called.customStatus?.deliveries?.length !== 2)
      console.log(JSON.stringify(called), await history(links.id));
    expect(
      called.customStatus?.deliveries?.map((d) => [d.channel, d.provider, d.sendNumber]),
    ).toEqual([
      ['sms', 'twilio', 1],
      ['call', 'twilio-voice', 1],
    ]);
    expect(called.customStatus?.nextFallback).toBeUndefined();
    await submit(links, code);
    const done = await status(links);
    expect(done).toMatchObject({ output: true, customStatus: { attemptsRemaining: 2 } });
  });

  it('verifies a test number with its fixed code and sends nothing by any channel', async () => {
    for (const channel of ['sms', 'call']) {
      const links = await started({ phoneNumber: TEST_NUMBER, channel });
      await submit(links, TEST_CODE);
      const done = await status(links);
      expect(done.output).toBe(true);
      expect(done.customStatus?.deliveries).toEqual([
        expect.objectContaining({ channel, provider: 'test-number' }),
      ]);
    }
    expect(stack.twilio.messages(TEST_NUMBER)).toEqual([]);
    expect(stack.twilio.voice.calls(TEST_NUMBER)).toEqual([]);
    expect(stack.acs.sms.messages(TEST_NUMBER)).toEqual([]);
    const outbox = await fetch(
      `${stack.twilio.url}/_emulator/calls?to=${encodeURIComponent(TEST_NUMBER)}`,
    );
    expect(await outbox.json()).toEqual({ calls: [] });
  });
});
