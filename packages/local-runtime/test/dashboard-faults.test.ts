/**
 * The dashboard's fault switches: the services API shows what each declared switch has armed, and
 * `POST /_dashboard/api/faults/<id>/arm|clear` arms and clears it on the service (here the Twilio emulator the
 * fixture's settings point at), under the dashboard's access rules and with bounded input.
 */
import { startTwilioEmulator, type TwilioEmulator } from '@local/emulators';
import { callDashboard, DASHBOARD_ACTION, type DashAnswer } from './dashboard-api';
import { startFixtureHost } from './fixture-host';
import type { LocalHost } from '../src/index';

interface SwitchView {
  id: string;
  title: string;
  service: string;
  armed: { remaining: number; hang: boolean; status: number | null }[] | null;
}

let twilio: TwilioEmulator;
let host: LocalHost;
let stopHost: () => Promise<void>;

beforeAll(async () => {
  twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  const started = await startFixtureHost('durable-app', {
    settings: { TwilioApiBaseUrl: twilio.url },
  });
  host = started.host;
  stopHost = started.stop;
});
afterAll(async () => {
  await stopHost();
  await twilio.close();
});

function dash(
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = DASHBOARD_ACTION,
): Promise<DashAnswer> {
  return callDashboard(host.url, method, route, body, headers);
}

async function switches(): Promise<SwitchView[]> {
  const answer = await dash('GET', '/services');
  expect(answer.status).toBe(200);
  return answer.body.faultSwitches as SwitchView[];
}

const armedOn = async (id: string): Promise<SwitchView['armed']> =>
  (await switches()).find((s) => s.id === id)?.armed ?? null;

it('lists every declared switch: off when its service answers, null when it is not configured', async () => {
  const all = await switches();
  expect(all.map((s) => [s.id, s.armed])).toEqual([
    ['twilio-messages', []],
    ['twilio-calls', []],
    ['acs-sms', null],
    ['acs-email', null],
  ]);
});

it('arms N failures with a status and N hangs, shows them, and clears them', async () => {
  const armed = await dash('POST', '/faults/twilio-messages/arm', { count: 3, status: 503 });
  expect(armed.status).toBe(200);
  expect((armed.body as unknown as SwitchView).armed).toEqual([
    { remaining: 3, hang: false, status: 503 },
  ]);
  expect((await dash('POST', '/faults/twilio-messages/arm', { count: 2, hang: true })).status).toBe(
    200,
  );
  expect(await armedOn('twilio-messages')).toEqual([
    { remaining: 3, hang: false, status: 503 },
    { remaining: 2, hang: true, status: null },
  ]);
  // The emulator takes it: the next send fails with 503.
  const send = await fetch(`${twilio.url}/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ To: '+14255550100', From: twilio.senders[0]!, Body: 'hi' }),
  });
  await send.arrayBuffer();
  expect(send.status).toBe(503);
  expect((await armedOn('twilio-messages'))?.[0]).toEqual({
    remaining: 2,
    hang: false,
    status: 503,
  });

  const cleared = await dash('POST', '/faults/twilio-messages/clear', {});
  expect(cleared.status).toBe(200);
  expect((cleared.body as unknown as SwitchView).armed).toEqual([]);
  expect(await armedOn('twilio-messages')).toEqual([]);
});

it('refuses bad counts and statuses, unknown switches and unconfigured services', async () => {
  for (const body of [
    {},
    { count: 0, status: 503 },
    { count: 101, status: 503 },
    { count: 1.5, status: 503 },
    { count: '1', status: 503 },
    { count: 1 },
    { count: 1, status: 399 },
    { count: 1, status: 600 },
    { count: 1, status: 503, hang: true },
    { count: 1, hang: 'yes' },
  ]) {
    const answer = await dash('POST', '/faults/twilio-messages/arm', body);
    expect([body, answer.status]).toEqual([body, 400]);
    expect(answer.type).toMatch(/^application\/problem\+json/);
  }
  expect((await dash('POST', '/faults/nothing/arm', { count: 1, status: 503 })).status).toBe(404);
  expect((await dash('POST', '/faults/twilio-messages/toggle', {})).status).toBe(404);
  expect((await dash('POST', '/faults/acs-sms/arm', { count: 1, status: 503 })).status).toBe(502);
  expect(await armedOn('twilio-messages')).toEqual([]);
});

it('arms only from the dashboard page on this machine: no cross-origin, unmarked or forwarded call', async () => {
  const arm = { count: 1, status: 503 };
  const refused = [
    await dash('POST', '/faults/twilio-messages/arm', arm, {
      ...DASHBOARD_ACTION,
      origin: 'http://evil.example',
    }),
    await dash('POST', '/faults/twilio-messages/arm', arm, { 'content-type': 'application/json' }),
    await dash('POST', '/faults/twilio-messages/arm', arm, {
      ...DASHBOARD_ACTION,
      'x-forwarded-for': '203.0.113.7',
    }),
    await dash(
      'POST',
      '/faults/twilio-messages/clear',
      {},
      {
        ...DASHBOARD_ACTION,
        forwarded: 'for=203.0.113.7',
      },
    ),
  ];
  expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403]);
  expect(await armedOn('twilio-messages')).toEqual([]);
});
