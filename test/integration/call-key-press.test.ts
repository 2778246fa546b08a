/**
 * The call's optional key press (`DELIVERY_CALL_KEY_PRESS=true`): the call placed with inline TwiML only asks
 * for a key (`<Gather>`), the Twilio emulator's callee presses one, the emulator posts it (signed) to the
 * Gather's action, and the app answers the code's TwiML. Only Twilio's signature opens that answer. On the local
 * runtime with every embedded emulator and a manual clock; needs the built app (`npm run build`).
 */
import twilio from 'twilio';
import {
  answerWithCode,
  startAppWithEmulators,
  type AppStack,
} from '../helpers/app-on-local-runtime';

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppWithEmulators('call-key-press', {
    DELIVERY_CALL_KEY_PRESS: 'true',
    VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '1000',
    VERIFICATION_LIMIT_PER_IP_PER_HOUR: '1000',
  });
});
afterAll(async () => {
  await stack.stop();
});

interface Links {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
}

async function callVerification(phoneNumber: string): Promise<Links> {
  const response = await fetch(`${stack.host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phoneNumber, channel: 'call', locale: 'fr' }),
  });
  expect(response.status).toBe(202);
  const links = (await response.json()) as Links;
  await stack.host.whenIdle();
  return links;
}

const spoken = (phone: string): string =>
  (stack.twilio.voice.calls(phone).at(-1)?.spoken ?? []).map((s) => s.text).join(' ');

/** Rings (1 s) and answers (4 s later) on the emulator's clock. */
async function answerCalls(): Promise<void> {
  stack.clock.advance(5_000);
  await stack.host.whenIdle();
}

it('asks for a key first: the code is spoken only after the key press, through the signed action', async () => {
  const phone = '+14255550401';
  const links = await callVerification(phone);
  const call = stack.twilio.voice.calls(phone)[0]!;
  expect(call.twiml).toContain('<Gather');
  // The placed call's TwiML holds no code: only the prompt, and the goodbye without a key.
  expect(call.twiml).not.toMatch(/\d, \d/);
  expect(spoken(phone)).toBe('Appuyez sur une touche pour entendre votre code de vérification.');
  expect(await stack.twilio.voice.pressKey(call.sid, '1')).toEqual({
    pressed: false,
    reason: 'not-waiting',
  });

  await answerCalls();
  const pressed = await fetch(`${stack.twilio.url}/_emulator/calls/${call.sid}/digits`, {
    method: 'POST',
    body: JSON.stringify({ digits: '5' }),
  });
  expect([pressed.status, await pressed.json()]).toEqual([
    200,
    { pressed: true, actionStatus: 200 },
  ]);
  const heard = spoken(phone);
  const match = /Votre code de vérification est (\d(?:, \d){5})\./.exec(heard);
  expect(match).not.toBeNull();
  const code = match![1]!.replace(/, /g, '');

  await answerWithCode(stack.host, links, code);
  const done = (await (await fetch(links.statusQueryGetUri)).json()) as { output: unknown };
  expect(done.output).toBe(true);
});

it('never speaks the code without a key: the call says goodbye when it ends', async () => {
  const phone = '+14255550402';
  await callVerification(phone);
  await answerCalls();
  stack.clock.advance(15_000);
  await stack.host.whenIdle();
  const call = stack.twilio.voice.calls(phone)[0]!;
  expect(call.status).toBe('completed');
  expect(spoken(phone)).toBe(
    "Appuyez sur une touche pour entendre votre code de vérification. Aucune touche n'a été pressée. Au revoir.",
  );
  expect(await stack.twilio.voice.pressKey(call.sid, '1')).toEqual({
    pressed: false,
    reason: 'not-waiting',
  });
});

it('answers the action only to Twilio, and only for the number the code was sealed to', async () => {
  const phone = '+14255550403';
  await callVerification(phone);
  const action = /action="([^"]+)"/
    .exec(stack.twilio.voice.calls(phone)[0]!.twiml!)![1]!
    .replace(/&amp;/g, '&');
  expect(new URL(action).searchParams.get('t')).toMatch(/^[A-Za-z0-9_-]{40,200}$/);
  const form = { CallSid: `CA${'0'.repeat(32)}`, Digits: '1', To: phone };
  const post = (params: Record<string, string>, signature?: string) =>
    fetch(action, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      },
      body: new URLSearchParams(params).toString(),
    });
  const sign = (token: string, params: Record<string, string>) =>
    twilio.getExpectedTwilioSignature(token, action, params);

  for (const forged of [
    await post(form),
    await post(form, sign('not-the-account-auth-token', form)),
    // Signed for other parameters than those sent.
    await post({ ...form, Digits: '2' }, sign(stack.twilio.authToken, form)),
  ]) {
    expect(forged.status).toBe(403);
    expect(forged.headers.get('content-type')).toContain('application/problem+json');
    expect(await forged.text()).not.toMatch(/\d, \d/);
  }
  // Signed by Twilio, but for another called number: the sealed code opens for its own number only.
  const elsewhere = { ...form, To: '+14255550499' };
  const other = await post(elsewhere, sign(stack.twilio.authToken, elsewhere));
  expect([other.status, await other.text()]).toEqual([
    200,
    '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>',
  ]);
  const signed = await post(form, sign(stack.twilio.authToken, form));
  expect(signed.status).toBe(200);
  expect(signed.headers.get('content-type')).toContain('text/xml');
  expect(await signed.text()).toMatch(
    /<Say language="fr-FR">Votre code de vérification est \d(, \d){5}\.<\/Say>/,
  );
});
