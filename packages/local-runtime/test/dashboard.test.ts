/**
 * The dashboard's server side over HTTP (the page itself is tested in Chromium, test/browser/): who may call
 * it, that it drives the management API with the system key without ever handing the key out, and what it
 * hides. Plus the pure parts: access decisions, redaction, the timeline, the SMS-to-instance link.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { decideAccess, isLoopbackAddress, isLoopbackHostHeader } from '../src/dashboard/access';
import { ActivityWindows, mentions } from '../src/dashboard/activity-windows';
import {
  HIDDEN,
  maskDigits,
  maskPhoneNumber,
  redactHistoryEvent,
  redactValue,
} from '../src/dashboard/redact';
import { buildTimeline } from '../src/dashboard/timeline';
import { callDashboard, DASHBOARD_ACTION, type DashAnswer } from './dashboard-api';
import { useFixtureHost } from './fixture-host';

const host = useFixtureHost('durable-app');

const ACTION = DASHBOARD_ACTION;

function dash(
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = ACTION,
): Promise<DashAnswer> {
  return callDashboard(host().url, method, route, body, headers);
}

async function start(name: string, id: string): Promise<void> {
  const response = await fetch(
    `${host().url}/runtime/webhooks/durabletask/orchestrators/${name}/${id}?code=${host().keys.systemKey}`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"+14255550123"' },
  );
  expect(response.status).toBe(202);
  await response.arrayBuffer();
}

function noKeyIn(text: string): void {
  for (const key of Object.values(host().keys)) expect(text).not.toContain(key);
}

/** A raw request, for a Host header fetch would not send. */
function rawGet(pathname: string, hostHeader: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: host().port, path: pathname, headers: { host: hostHeader } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard pages', () => {
  it('serves the page and its assets with a strict CSP and no key', async () => {
    const page = await fetch(`${host().url}/_dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    noKeyIn(await page.text());
    const script = await fetch(`${host().url}/_dashboard/assets/dashboard.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    noKeyIn(await script.text());
    expect((await fetch(`${host().url}/_dashboard/assets/nope.js`)).status).toBe(404);
    expect(host().dashboardUrl).toBe(`${host().url}/_dashboard`);
  });

  it('refuses a host name that is not loopback (DNS rebinding) on pages and API', async () => {
    expect(await rawGet('/_dashboard', `localhost:${host().port}`)).toBe(200);
    expect(await rawGet('/_dashboard', 'evil.example')).toBe(403);
    expect(await rawGet('/_dashboard/api/instances', `evil.example:${host().port}`)).toBe(403);
  });
});

describe('dashboard API over the management API', () => {
  beforeAll(async () => {
    await start('typedData', 'dash-a1');
    await start('typedData', 'dash-a2');
    await start('throwsDirectly', 'dash-b1');
    await host().whenIdle();
  });

  it('lists instances with paging, name, status and prefix filters, and counts per status', async () => {
    const first = await dash('GET', '/instances?top=2');
    expect((first.body.instances as unknown[]).length).toBe(2);
    const token = first.body.continuationToken as string;
    expect(token).toEqual(expect.any(String));
    const second = await dash(
      'GET',
      `/instances?top=2&continuationToken=${encodeURIComponent(token)}`,
    );
    expect((second.body.instances as unknown[]).length).toBe(1);
    expect(second.body.continuationToken).toBeNull();

    const byName = await dash('GET', '/instances?name=typeddata&top=1');
    expect((byName.body.instances as { name: string }[]).map((i) => i.name)).toEqual(['typedData']);
    const failed = await dash('GET', '/instances?status=Failed');
    expect((failed.body.instances as { instanceId: string }[]).map((i) => i.instanceId)).toEqual([
      'dash-b1',
    ]);
    const prefixed = await dash('GET', '/instances?prefix=dash-a');
    expect((prefixed.body.instances as unknown[]).length).toBe(2);
    const counts = await dash('GET', '/counts');
    expect(counts.body.counts).toEqual({ Completed: 2, Failed: 1 });
    expect(counts.body.statuses).toContain('Suspended');
  });

  it('shows one instance with history and timeline, phone numbers masked', async () => {
    const detail = await dash('GET', '/instances/dash-a1');
    expect(detail.status).toBe(200);
    expect(detail.body.runtimeStatus).toBe('Completed');
    expect(detail.body.input).toBe('+•••••••0123');
    const timeline = detail.body.timeline as { kind: string; name: string; outcome: string }[];
    expect(timeline.filter((t) => t.kind === 'activity').map((t) => t.name)).toEqual([
      'upper',
      'describeInput',
      'describeInput',
      'describeInput',
    ]);
    expect(timeline[0]).toMatchObject({ kind: 'orchestration', outcome: 'completed' });
    expect((detail.body.history as { EventType: string }[]).map((e) => e.EventType)).toContain(
      'TaskCompleted',
    );
    expect(detail.text).not.toContain('+14255550123');
    noKeyIn(detail.text);
    expect((await dash('GET', '/instances/missing')).status).toBe(404);
  });

  it('restarts through the management API without handing out its key-bearing URLs', async () => {
    const restarted = await dash('POST', '/instances/dash-a1/restart', {});
    expect(restarted.status).toBe(200);
    expect(restarted.body.id).toEqual(expect.any(String));
    expect(Object.keys(restarted.body).filter((k) => k.endsWith('Uri'))).toEqual([]);
    noKeyIn(restarted.text);
    await host().whenIdle();
    const again = await dash('GET', `/instances/${restarted.body.id as string}`);
    expect(again.body.runtimeStatus).toBe('Completed');
  });

  it("passes the management API's refusals on as problems", async () => {
    // Only Failed instances can be rewound: a Completed one is gone (410, as in the extension).
    const rewind = await dash('POST', '/instances/dash-a2/rewind', {});
    expect(rewind.status).toBe(410);
    expect(rewind.type).toMatch(/^application\/problem\+json/);
    expect(rewind.body.detail).toEqual(expect.stringContaining('Completed'));
    const terminate = await dash('POST', '/instances/dash-a2/terminate', { reason: 'test' });
    expect(terminate.status).toBe(410);
    const badEvent = await dash('POST', '/instances/dash-a2/raise-event', { eventName: 'a b' });
    expect(badEvent.status).toBe(400);
    expect((await dash('POST', '/instances/dash-a2/explode', {})).status).toBe(404);
  });

  it('refuses a request a proxy on this machine forwarded (X-Forwarded-For on loopback)', async () => {
    const forwarded = await dash('GET', '/instances/dash-a2', undefined, {
      'x-forwarded-for': '203.0.113.7',
    });
    expect(forwarded.status).toBe(403);
    expect(forwarded.type).toMatch(/^application\/problem\+json/);
  });

  it('accepts actions only from the dashboard page: its header and the same origin', async () => {
    const noHeader = await dash('POST', '/instances/dash-a2/suspend', {}, {});
    expect(noHeader.status).toBe(403);
    const foreign = await dash(
      'POST',
      '/instances/dash-a2/suspend',
      {},
      { ...ACTION, origin: 'http://evil.example' },
    );
    expect(foreign.status).toBe(403);
    const purge = await dash('DELETE', '/instances/dash-a2', undefined, {});
    expect(purge.status).toBe(403);
    expect((await dash('GET', '/instances/dash-a2')).status).toBe(200);
  });

  it('purges one instance, and by filter', async () => {
    expect((await dash('DELETE', '/instances/dash-a2')).body).toEqual({ instancesDeleted: 1 });
    expect((await dash('GET', '/instances/dash-a2')).status).toBe(404);
    expect((await dash('POST', '/purge', {})).status).toBe(400);
    const none = await dash('POST', '/purge', {
      from: '2000-01-01T00:00:00Z',
      statuses: ['Suspended'],
    });
    expect(none.body).toEqual({ instancesDeleted: 0 });
    const failed = await dash('POST', '/purge', {
      from: '2000-01-01T00:00:00Z',
      statuses: ['Failed'],
    });
    expect(failed.body).toEqual({ instancesDeleted: 1 });
    expect((await dash('GET', '/instances/dash-b1')).status).toBe(404);
  });

  it('lists no entities for an app that has none', async () => {
    const entities = await dash('GET', '/entities');
    expect(entities.status).toBe(200);
    expect(entities.body).toEqual({ entities: [], continuationToken: null });
  });

  it('reports local services as not configured when the settings point at none', async () => {
    const services = await dash('GET', '/services');
    expect((services.body.outboxes as { items: unknown }[]).map((o) => o.items)).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(services.body.acsIdentities).toBeNull();
    expect((services.body.health as { status: string }[]).map((s) => s.status)).toEqual([
      'not configured',
      'not configured',
      'not configured',
    ]);
  });
});

describe('access decisions', () => {
  const request = (remoteAddress: string, headers: Record<string, string>, method = 'GET') =>
    ({ socket: { remoteAddress } as net.Socket, headers, method }) as http.IncomingMessage;
  const local = { host: 'localhost:7071' };
  const closed = { allowRemote: false, masterKey: 'master-key-value' };
  const open = { allowRemote: true, masterKey: 'master-key-value' };

  it('knows loopback addresses and host names', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '192.0.2.1', undefined])
      expect(isLoopbackAddress(a)).toBe(false);
    for (const h of ['localhost:7071', '127.0.0.1', '[::1]:7071'])
      expect(isLoopbackHostHeader(h)).toBe(true);
    for (const h of ['127.0.0.1.nip.io', 'localhost.evil.example', 'example.com:7071'])
      expect(isLoopbackHostHeader(h)).toBe(false);
  });

  it('refuses other machines unless allowed, and then wants the master key for the API', () => {
    expect(decideAccess(request('127.0.0.1', local), true, closed)).toEqual({ allowed: true });
    expect(decideAccess(request('192.0.2.1', local), false, closed)).toMatchObject({ status: 403 });
    expect(decideAccess(request('192.0.2.1', local), false, open)).toEqual({ allowed: true });
    expect(decideAccess(request('192.0.2.1', local), true, open)).toMatchObject({ status: 401 });
    expect(
      decideAccess(
        request('192.0.2.1', { ...local, 'x-functions-key': 'master-key-value' }),
        true,
        open,
      ),
    ).toEqual({ allowed: true });
  });

  it('counts a forwarded request on loopback as remote unless the proxy is trusted', () => {
    const forwardings: Record<string, string>[] = [
      { 'x-forwarded-for': '203.0.113.7' },
      { 'x-forwarded-host': 'dashboard.example' },
      { forwarded: 'for=203.0.113.7' },
    ];
    for (const forwarded of forwardings) {
      const req = request('127.0.0.1', { ...local, ...forwarded });
      expect(decideAccess(req, true, closed)).toMatchObject({ status: 403 });
      expect(decideAccess(req, true, open)).toMatchObject({ status: 401 });
      expect(decideAccess(req, true, { ...closed, trustProxy: true })).toEqual({ allowed: true });
    }
  });
});

describe('redaction', () => {
  it('masks codes in text, phone numbers, JWTs and secret-named properties', () => {
    expect(maskDigits('Your verification code is 012345')).toBe('Your verification code is ••••••');
    expect(maskDigits('at 12:30 on day 7')).toBe('at 12:30 on day 7');
    expect(maskDigits('Your code is 0, 1, 2, 3, 4, 5.')).toBe('Your code is •, •, •, •, •, •.');
    expect(maskPhoneNumber('+14255550100')).toBe('+•••••••0100');
    expect(
      redactValue({
        phoneNumber: '+14255550100',
        codeLength: 6,
        sealedCode: 'abc',
        token: 'x',
        nested: ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig'],
        attempts: 4,
      }),
    ).toEqual({
      phoneNumber: '+•••••••0100',
      codeLength: 6,
      sealedCode: HIDDEN,
      token: HIDDEN,
      nested: [HIDDEN],
      attempts: 4,
    });
  });

  it('masks raw codes in raised events only', () => {
    expect(redactHistoryEvent({ EventType: 'EventRaised', Input: '123456' }).Input).toBe('••••••');
    expect(redactHistoryEvent({ EventType: 'EventRaised', Input: 123456 }).Input).toBe(HIDDEN);
    expect(redactHistoryEvent({ EventType: 'TaskCompleted', Result: 5 }).Result).toBe(5);
  });
});

describe('timeline', () => {
  it('spans activities, sub-orchestrations, timers (fired, cancelled) and points for events', () => {
    const items = buildTimeline([
      {
        EventType: 'ExecutionStarted',
        Timestamp: '2030-01-01T00:00:00.000Z',
        FunctionName: 'orch',
      },
      {
        EventType: 'TaskCompleted',
        Timestamp: '2030-01-01T00:00:02.000Z',
        ScheduledTime: '2030-01-01T00:00:00.500Z',
        FunctionName: 'send',
      },
      {
        EventType: 'TimerCreated',
        Timestamp: '2030-01-01T00:00:02.000Z',
        FireAt: '2030-01-01T00:01:00.000Z',
      },
      {
        EventType: 'TimerCreated',
        Timestamp: '2030-01-01T00:00:02.000Z',
        FireAt: '2030-01-01T00:00:10.000Z',
      },
      {
        EventType: 'TimerFired',
        Timestamp: '2030-01-01T00:00:10.000Z',
        FireAt: '2030-01-01T00:00:10.000Z',
      },
      { EventType: 'EventRaised', Timestamp: '2030-01-01T00:00:20.000Z', Name: 'go' },
      {
        EventType: 'SubOrchestrationInstanceCompleted',
        Timestamp: '2030-01-01T00:00:20.500Z',
        ScheduledTime: '2030-01-01T00:00:20.000Z',
        FunctionName: 'child',
      },
      {
        EventType: 'ExecutionCompleted',
        Timestamp: '2030-01-01T00:00:21.000Z',
        OrchestrationStatus: 'Completed',
      },
    ]);
    expect(items.map((i) => [i.kind, i.outcome, i.durationMs])).toEqual([
      ['orchestration', 'completed', 21_000],
      ['activity', 'completed', 1_500],
      ['timer', 'cancelled', 58_000],
      ['timer', 'fired', 8_000],
      ['event', 'raised', 0],
      ['suborchestration', 'completed', 500],
    ]);
  });
});

describe('SMS to instance link', () => {
  it('finds the instances whose activity ran when the SMS arrived, newest first', async () => {
    let now = 1000;
    const windows = new ActivityWindows(() => now);
    let release: () => void = () => undefined;
    const invoker = windows.observe({
      functions: () => [],
      invokeOrchestrator: () => Promise.resolve(undefined),
      invokeActivity: (_name, _input, instanceId) =>
        instanceId === 'slow'
          ? new Promise((resolve) => (release = () => resolve(1)))
          : Promise.resolve(2),
    });
    await invoker.invokeActivity('a', undefined, 'quick');
    now = 5000;
    const slow = invoker.invokeActivity('a', undefined, 'slow');
    expect(windows.instancesActiveAt(1000)).toEqual(['quick']);
    expect(windows.instancesActiveAt(9000)).toEqual(['slow']);
    now = 10_000;
    release();
    await slow;
    expect(windows.instancesActiveAt(20_000)).toEqual([]);
    expect(mentions({ phoneNumber: '+1', other: ['+2'] }, '+2')).toBe(true);
    expect(mentions({ phoneNumber: '+1' }, '+2')).toBe(false);
    // A masked recipient (an input that holds the number only sealed) links by what the mask shows.
    expect(mentions({ maskedPhoneNumber: '+1******0100' }, '+14255550100')).toBe(true);
    expect(mentions({ maskedPhoneNumber: '+1******0100' }, '+14255550199')).toBe(false);
    expect(mentions({ maskedTo: 'a***@e***.com' }, 'ada.lovelace@example.com')).toBe(true);
    expect(mentions({ maskedTo: 'a***@e***.com' }, 'bob@example.com')).toBe(false);
    expect(mentions({ masked: '***' }, '+14255550100')).toBe(false);
  });

  it('passes entity invocations through (and adds none to an invoker without them)', async () => {
    const base = {
      functions: () => [],
      invokeOrchestrator: () => Promise.resolve(undefined),
      invokeActivity: () => Promise.resolve(undefined),
    };
    const windows = new ActivityWindows();
    const seen: unknown[] = [];
    const withEntities = windows.observe({
      ...base,
      invokeEntity: (name, payload) => {
        seen.push([name, payload]);
        return Promise.resolve('batch result');
      },
    });
    expect(await withEntities.invokeEntity?.('Counter', { batch: [] })).toBe('batch result');
    expect(seen).toEqual([['Counter', { batch: [] }]]);
    expect(windows.observe(base).invokeEntity).toBeUndefined();
  });
});
