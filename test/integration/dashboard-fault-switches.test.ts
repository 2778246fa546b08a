/**
 * The dashboard's fault switches drive the app's SMS failover: arming the Twilio Messages switch through the
 * dashboard API (as its Local services page does) makes the next SMS go out through ACS SMS, the page shows
 * what is left armed, and clearing the switch sends the next one through Twilio again. On the local runtime
 * with every embedded emulator. Needs the built app (`npm run build`, run by `pretest`).
 */
import { startAppWithEmulators, type AppStack } from '../helpers/app-on-local-runtime';

interface SwitchView {
  id: string;
  armed: { remaining: number; hang: boolean; status: number | null }[] | null;
}

let stack: AppStack;

// Two verifications in all: the default rate limits allow them.
beforeAll(async () => {
  stack = await startAppWithEmulators('dashboard-fault-switches');
});
afterAll(() => stack.stop());

/** A dashboard call as the page makes it: its marker header, JSON, same origin. */
async function dashboard(method: string, route: string, body?: unknown): Promise<Response> {
  return fetch(`${stack.host.url}/_dashboard/api${route}`, {
    method,
    headers: { 'x-dashboard-request': '1', 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function twilioMessagesSwitch(): Promise<SwitchView['armed']> {
  const response = await dashboard('GET', '/services');
  expect(response.status).toBe(200);
  const { faultSwitches } = (await response.json()) as { faultSwitches: SwitchView[] };
  return faultSwitches.find((s) => s.id === 'twilio-messages')?.armed ?? null;
}

async function startVerification(phoneNumber: string): Promise<void> {
  const response = await fetch(`${stack.host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phoneNumber }),
  });
  expect(response.status).toBe(202);
  await response.arrayBuffer();
  await stack.host.whenIdle();
}

it('arming the Twilio Messages switch fails the SMS over to ACS; clearing it restores Twilio', async () => {
  expect(await twilioMessagesSwitch()).toEqual([]);
  const armed = await dashboard('POST', '/faults/twilio-messages/arm', { count: 3, status: 503 });
  expect(armed.status).toBe(200);
  await armed.arrayBuffer();

  const failedOver = '+14255550401';
  const twilioRequests = stack.twilio.requestCount();
  await startVerification(failedOver);
  expect(stack.twilio.requestCount()).toBe(twilioRequests + 1);
  expect(stack.twilio.messages(failedOver)).toHaveLength(0);
  expect(stack.acs.sms.messages(failedOver)).toHaveLength(1);
  expect(await twilioMessagesSwitch()).toEqual([{ remaining: 2, hang: false, status: 503 }]);

  const cleared = await dashboard('POST', '/faults/twilio-messages/clear', {});
  expect(cleared.status).toBe(200);
  await cleared.arrayBuffer();
  expect(await twilioMessagesSwitch()).toEqual([]);

  const restored = '+14255550402';
  await startVerification(restored);
  expect(stack.twilio.messages(restored)).toHaveLength(1);
  expect(stack.acs.sms.messages(restored)).toHaveLength(0);
});

it('refuses a cross-origin or forwarded arm, and a count or status out of bounds, arming nothing', async () => {
  const arm = JSON.stringify({ count: 1, status: 503 });
  const crossOrigin = await fetch(`${stack.host.url}/_dashboard/api/faults/twilio-messages/arm`, {
    method: 'POST',
    headers: {
      'x-dashboard-request': '1',
      'content-type': 'application/json',
      origin: 'http://evil.example',
    },
    body: arm,
  });
  const forwarded = await fetch(`${stack.host.url}/_dashboard/api/faults/twilio-messages/arm`, {
    method: 'POST',
    headers: {
      'x-dashboard-request': '1',
      'content-type': 'application/json',
      'x-forwarded-for': '203.0.113.7',
    },
    body: arm,
  });
  const badCount = await dashboard('POST', '/faults/twilio-messages/arm', {
    count: 1000,
    status: 503,
  });
  const badStatus = await dashboard('POST', '/faults/twilio-messages/arm', {
    count: 1,
    status: 200,
  });
  const answers = [crossOrigin, forwarded, badCount, badStatus];
  expect(answers.map((r) => r.status)).toEqual([403, 403, 400, 400]);
  for (const r of answers) {
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    await r.arrayBuffer();
  }
  expect(await twilioMessagesSwitch()).toEqual([]);
});
