/**
 * The dashboard's local-services API lists every emulator outbox (Twilio SMS, WhatsApp and calls, ACS SMS and
 * Email) as the app's hook (`local.services.cjs`) declares them, each item linked to its instance, with the
 * recipient masked and the code hidden by the hook's redaction rules (a call's code is spoken digit by digit).
 * On the local runtime with every embedded emulator. Needs the built app (`npm run build`, run by `pretest`).
 */
import { dashboardServices } from '@local/emulators';
import type { DashboardService } from '@local/durable-runtime';
import { startAppWithEmulators, type AppStack } from '../helpers/app-on-local-runtime';

interface OutboxView {
  id: string;
  title: string;
  items: { id: string; recipient: string; text: string; instances: string[] }[] | null;
}

let stack: AppStack;

it('declares the emulators as the runtime expects them (a type check): outboxes and fault switches in page order', () => {
  // The emulators package does not depend on the runtime: this assignment holds its panels to its types.
  const services: readonly DashboardService[] = dashboardServices({});
  expect(services.flatMap((s) => s.outboxes ?? []).map((o) => o.id)).toEqual([
    'sms',
    'whatsapp',
    'calls',
    'acs-sms',
    'emails',
  ]);
  expect(services.flatMap((s) => s.faultSwitches ?? []).map((f) => f.id)).toEqual([
    'twilio-messages',
    'twilio-calls',
    'acs-sms',
    'acs-email',
  ]);
});

beforeAll(async () => {
  stack = await startAppWithEmulators('dashboard-outboxes', {
    VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '1000',
    VERIFICATION_LIMIT_PER_IP_PER_HOUR: '1000',
  });
});
afterAll(async () => {
  await stack.stop();
});

async function startVerification(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${stack.host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  await stack.host.whenIdle();
  return id;
}

const digitsOf = (text: string | null | undefined): string => {
  const match = /(\d(?:, )?){6}/.exec(text ?? '');
  if (match === null) throw new Error('no code in the text');
  return match[0].replace(/\D/g, '');
};

it('shows every outbox, codes and recipients masked, each item linked to its instance', async () => {
  const sent: { outbox: string; instance: string; recipient: string; code: string }[] = [];
  const send = async (
    outbox: string,
    phone: string,
    body: Record<string, unknown>,
    read: () => string | null | undefined,
    recipient = phone,
  ): Promise<void> => {
    const instance = await startVerification({ phoneNumber: phone, ...body });
    sent.push({ outbox, instance, recipient, code: digitsOf(read()) });
  };
  await send('sms', '+14255550301', {}, () => stack.twilio.lastMessage('+14255550301')?.body);
  await send(
    'whatsapp',
    '+14255550302',
    { channel: 'whatsapp' },
    () => stack.twilio.lastMessage('whatsapp:+14255550302')?.body,
  );
  await send(
    'calls',
    '+14255550303',
    { channel: 'call' },
    () => stack.twilio.voice.calls('+14255550303').at(-1)?.spoken[0]?.text,
  );
  await send(
    'emails',
    '+14255550304',
    { channel: 'email', email: 'ada.lovelace@example.com' },
    () => stack.acs.email.emails('ada.lovelace@example.com').at(-1)?.plainText,
    'ada.lovelace@example.com',
  );
  stack.twilio.failNext({ status: 503, code: 20503, count: 1 });
  await send(
    'acs-sms',
    '+14255550305',
    {},
    () => stack.acs.sms.messages('+14255550305')[0]?.message,
  );

  const response = await fetch(`${stack.host.url}/_dashboard/api/services`);
  expect(response.status).toBe(200);
  const raw = await response.text();
  const { outboxes } = JSON.parse(raw) as { outboxes: OutboxView[] };
  expect(outboxes.map((o) => o.id)).toEqual(['sms', 'whatsapp', 'calls', 'acs-sms', 'emails']);
  for (const { outbox, instance, recipient, code } of sent) {
    const items = outboxes.find((o) => o.id === outbox)?.items ?? [];
    // One item each: SMS and WhatsApp share Twilio's outbox, the panels split it.
    expect([outbox, items.length]).toEqual([outbox, 1]);
    const item = items[0]!;
    expect([outbox, item.instances]).toEqual([outbox, [instance]]);
    expect(item.recipient).toContain(recipient.slice(-4));
    expect(item.recipient).not.toContain(recipient);
    expect(item.text).toMatch(/•(, )?•(, )?•(, )?•(, )?•(, )?•/);
    expect(raw).not.toContain(code);
    expect(raw).not.toContain(recipient);
  }
  expect(outboxes.find((o) => o.id === 'whatsapp')?.items?.[0]?.recipient).toMatch(
    /^whatsapp:\+•+0302$/,
  );
  expect(outboxes.find((o) => o.id === 'emails')?.items?.[0]?.text).toMatch(
    /^Your verification code — /,
  );
});
