/**
 * Issue 22: the attacks measured against the guard, replayed against the app on the in-process
 * local runtime with every embedded emulator and the default settings (only the secret is set).
 *
 * Clients are told apart as in Azure: by the TCP peer address. Each simulated client connects from
 * its own loopback address (127.x.y.z) and sends what App Service's front end forwards: its own
 * `X-Forwarded-For` (spoofed or none) with the peer address appended. The app counts the rightmost
 * entry, so these tests hold whether or not the local host appends the peer itself as well.
 * Time comes from the runtime's manual clock; nothing sleeps.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { ManualClock, startLocalHost, type LocalHost } from '@local/durable-runtime';
import type { TwilioEmulator } from '@local/emulators';
import { Webhook } from 'standardwebhooks';
import { Agent, fetch } from 'undici';

jest.setTimeout(300_000);

const repoRoot = path.resolve(__dirname, '..', '..');
const dirs: string[] = [];
const agents = new Map<string, Agent>();

afterAll(async () => {
  for (const agent of agents.values()) await agent.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Stack {
  readonly host: LocalHost;
  readonly clock: ManualClock;
  readonly twilio: TwilioEmulator;
  readonly dataDir: string;
}

async function startStack(name: string, settings: Record<string, string> = {}): Promise<Stack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  dirs.push(dataDir);
  const clock = new ManualClock();
  const host = await startLocalHost({
    appDir: repoRoot,
    settingsFile: false,
    dataDir,
    databasePath: ':memory:',
    clock,
    emulators: true,
    settings: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      VERIFICATION_CODE_SECRET: `${name}-verification-secret-0123456789`,
      VERIFICATION_LIMIT_TABLE_NAME: `Limits${name.replace(/[^A-Za-z0-9]/g, '')}`,
      ...settings,
    },
  });
  return { host, clock, twilio: host.emulators!.twilio as TwilioEmulator, dataDir };
}

function agentFor(peer: string): Agent {
  let agent = agents.get(peer);
  if (agent === undefined) {
    agent = new Agent({ localAddress: peer });
    agents.set(peer, agent);
  }
  return agent;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A client at `peer` starts a verification; `spoof` is the X-Forwarded-For it sends itself. */
async function start(stack: Stack, peer: string, phone: string, spoof?: string): Promise<Answer> {
  const response = await fetch(`${stack.host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    dispatcher: agentFor(peer),
    headers: {
      'content-type': 'application/json',
      // What the front end forwards: the client's own header, then the peer it saw.
      'x-forwarded-for': spoof === undefined ? peer : `${spoof}, ${peer}`,
    },
    body: JSON.stringify(phone),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Answers the code the Twilio emulator received for `phone` through the start's link. */
async function verify(stack: Stack, started: Answer, phone: string): Promise<void> {
  await stack.host.whenIdle();
  const message = stack.twilio.messages(phone).at(-1);
  const code = /(\d{6})/.exec(message?.body ?? '')?.[1];
  if (code === undefined) throw new Error(`no code was sent to ${phone}`);
  const link = String(started.body.sendEventPostUri).replace('{eventName}', 'SmsChallengeResponse');
  const answered = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(code),
  });
  expect(answered.status).toBe(202);
  await stack.host.whenIdle();
  const status = await fetch(String(started.body.statusQueryGetUri));
  expect(((await status.json()) as { output?: unknown }).output).toBe(true);
}

async function inBatches<T>(count: number, size: number, run: (i: number) => Promise<T>) {
  const results: T[] = [];
  for (let first = 0; first < count; first += size) {
    const batch = Array.from({ length: Math.min(size, count - first) }, (_, k) => run(first + k));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

const tally = (answers: readonly Answer[]) => {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status === 202 ? '202' : `${a.status} ${String(a.body.reason)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

describe('attacks against the default settings', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('guard-attacks');
  });
  afterAll(() => stack.host.stop());

  it('a 960-number spray from one client spends that client’s budget only: others stay served', async () => {
    // 960 UK mobile numbers, each in its own prefix (no prefix budget helps here).
    const numbers = Array.from({ length: 960 }, (_, i) => `+4474${1000 + i}1234`);
    const answers = await inBatches(960, 16, (i) => start(stack, '127.0.0.2', numbers[i]!));
    expect(tally(answers)).toEqual({ '202': 20, '429 ip_rate_limited': 940 });
    await stack.host.whenIdle();
    expect(stack.twilio.messages().filter((m) => m.to.startsWith('+4474'))).toHaveLength(20);
    // The global cap was never reached: every other client is served.
    for (let c = 3; c <= 7; c++) {
      expect((await start(stack, `127.0.0.${c}`, `+44750${c}001234`)).status).toBe(202);
    }
  });

  it('rotating spoofed X-Forwarded-For values from one peer are counted as one client', async () => {
    const answers = await inBatches(30, 10, (i) =>
      start(stack, '127.0.0.8', `+336${10_000_000 + i * 10_000 + 1234}`, `198.51.${i}.${i + 1}`),
    );
    expect(tally(answers)).toEqual({ '202': 20, '429 ip_rate_limited': 10 });
  });

  it('a pumping campaign on one prefix is blocked after the threshold; a prefix that converts keeps working', async () => {
    // Prefix +142577 converts normally: every code sent is answered.
    const converting = (i: number) => `+14257${70 + (i % 10)}${String(1000 + i).padStart(4, '0')}`;
    for (let i = 0; i < 12; i++) {
      const phone = converting(i);
      const started = await start(stack, `127.0.1.${100 + (i % 4)}`, phone);
      expect(started.status).toBe(202);
      await verify(stack, started, phone);
    }
    // Prefix +142555 is pumped: 20 sends (the minimum), none answered, from 5 clients.
    const pumped = (i: number) => `+142555${i % 10}${String(2000 + i).padStart(4, '0')}`;
    const campaign = await inBatches(20, 5, (i) => start(stack, `127.0.1.${i % 5}`, pumped(i)));
    expect(tally(campaign)).toEqual({ '202': 20 });
    const blocked = await start(stack, '127.0.1.50', pumped(20));
    expect(blocked.status).toBe(403);
    expect(blocked.body).toMatchObject({ reason: 'conversion_blocked', blocked: 'prefix' });
    // 12 hours, as Twilio's Fraud Guard.
    await stack.host.whenIdle();
    const before = stack.twilio.messages().length;
    expect((await start(stack, '127.0.1.51', pumped(21))).status).toBe(403);
    // The converting prefix is untouched.
    for (let i = 12; i < 15; i++) {
      const phone = converting(i);
      const started = await start(stack, `127.0.1.${100 + (i % 4)}`, phone);
      expect(started.status).toBe(202);
      await verify(stack, started, phone);
    }
    await stack.host.whenIdle();
    expect(stack.twilio.messages().filter((m) => m.to.startsWith('+142555'))).toHaveLength(20);
    expect(stack.twilio.messages().length).toBe(before + 3);
    const report = await fetch(`${stack.host.url}/api/verifications/guard/report`, {
      headers: { 'x-functions-key': stack.host.keys.functionKey },
    });
    const rows = ((await report.json()) as { rows: Record<string, unknown>[] }).rows;
    expect(rows.find((r) => r.subject === '+142555')).toMatchObject({
      blocked: true,
      blockMode: 'on',
      sends: 20,
      completions: 0,
    });
    expect(rows.find((r) => r.subject === '+142577')).toMatchObject({
      blocked: false,
      sends: 15,
      completions: 15,
    });
  });

  it('five strangers’ starts do not lock a recently verified owner out; an unverified number is', async () => {
    const owner = '+16045550100';
    const started = await start(stack, '127.0.2.1', owner);
    expect(started.status).toBe(202);
    await verify(stack, started, owner);
    for (let s = 2; s <= 6; s++) {
      expect((await start(stack, `127.0.2.${s}`, owner)).status).toBe(202);
    }
    expect((await start(stack, '127.0.2.1', owner)).status).toBe(202);
    // The same strangers against a number nobody verified here: its owner is refused.
    const other = '+16045550199';
    expect((await start(stack, '127.0.2.2', other)).status).toBe(202);
    for (let s = 3; s <= 6; s++) {
      expect((await start(stack, `127.0.2.${s}`, other)).status).toBe(429);
    }
    expect((await start(stack, '127.0.2.1', other)).body.reason).toMatch(
      /^number_(cooldown|rate_limited)$/,
    );
  });
});

interface Delivery {
  readonly id: string;
  readonly status: number;
  readonly body: string;
  readonly signatureValid: boolean;
}

/** A webhook receiver with a fault switch: the next `failNext` deliveries answer 500. */
async function startReceiver(secret: () => string) {
  const deliveries: Delivery[] = [];
  const state = { failNext: 0 };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      };
      let signatureValid = true;
      try {
        new Webhook(secret()).verify(body, headers);
      } catch {
        signatureValid = false;
      }
      const status = state.failNext > 0 ? 500 : 204;
      if (state.failNext > 0) state.failNext -= 1;
      deliveries.push({ id: headers['webhook-id'], status, body, signatureValid });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/verification`,
    deliveries,
    state,
    /** Accepted (2xx) deliveries per event id. */
    accepted(): Map<string, { type: string; count: number; data: Record<string, unknown> }> {
      const byId = new Map<
        string,
        { type: string; count: number; data: Record<string, unknown> }
      >();
      for (const d of deliveries.filter((d) => d.status < 300)) {
        const event = JSON.parse(d.body) as { type: string; data: Record<string, unknown> };
        const seen = byId.get(d.id);
        byId.set(d.id, { type: event.type, data: event.data, count: (seen?.count ?? 0) + 1 });
      }
      return byId;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('verification events and dry-run', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let secret = '';
  beforeAll(async () => {
    receiver = await startReceiver(() => secret);
    // No VERIFICATION_WEBHOOK_SECRET: the local runtime generates one under the data folder.
    stack = await startStack('guard-events', {
      VERIFICATION_WEBHOOK_URLS: receiver.url,
      VERIFICATION_FRAUD_GUARD_MODE: 'dry-run',
    });
    const file = path.join(stack.dataDir, 'webhook-secret.json');
    secret = (JSON.parse(fs.readFileSync(file, 'utf8')) as { secret: string }).secret;
  });
  afterAll(async () => {
    await stack.host.stop();
    await receiver.close();
  });

  /**
   * Lets durable retry timers (5 s, then 10 s, …) fire on the runtime's clock until `done`, in
   * 5-second steps, well inside the verification's 90-second deadline.
   */
  async function deliverUntil(done: () => boolean): Promise<void> {
    for (let round = 0; round < 12 && !done(); round++) {
      await stack.host.whenIdle();
      if (done()) return;
      stack.clock.advance(5_000);
    }
    await stack.host.whenIdle();
  }

  const typesOf = () => [...receiver.accepted().values()].map((e) => e.type).sort();

  it('arrive signed, once per event id across a retried delivery, with neither code nor number', async () => {
    const phone = '+12065550100';
    receiver.state.failNext = 3;
    const started = await start(stack, '127.0.3.1', phone);
    expect(started.status).toBe(202);
    await deliverUntil(() => typesOf().length >= 2);
    await verify(stack, started, phone);
    // The refused start of a premium-rate number is announced too.
    expect((await start(stack, '127.0.3.1', '+19005551234')).status).toBe(403);
    const expected = [
      'verification.approved',
      'verification.blocked',
      'verification.code_sent',
      'verification.created',
    ];
    await deliverUntil(() => typesOf().length >= expected.length);
    expect(typesOf()).toEqual(expected);
    // Three deliveries failed and were retried with the same id; each id was accepted once.
    const failed = receiver.deliveries.filter((d) => d.status === 500);
    expect(failed).toHaveLength(3);
    const accepted = receiver.accepted();
    for (const d of failed) expect(accepted.get(d.id)?.count).toBe(1);
    for (const event of accepted.values()) expect(event.count).toBe(1);
    expect(receiver.deliveries.every((d) => d.signatureValid)).toBe(true);
    const code = /(\d{6})/.exec(stack.twilio.messages(phone).at(-1)!.body)![1]!;
    for (const d of receiver.deliveries) {
      expect(d.body).not.toContain(phone.slice(1));
      expect(d.body).not.toContain(code);
    }
    const created = [...accepted.values()].find((e) => e.type === 'verification.created')!;
    expect(created.data).toMatchObject({
      verificationId: started.body.id,
      phoneNumber: '+1******0100',
      country: 'US',
    });
    const blocked = [...accepted.values()].find((e) => e.type === 'verification.blocked')!;
    expect(blocked.data).toMatchObject({ reason: 'phone_number_type_blocked', status: 403 });
  });

  it('dry-run blocks nothing but reports the block and what it would have refused', async () => {
    const pumped = (i: number) => `+120677${i % 10}${String(3000 + i).padStart(4, '0')}`;
    const answers = await inBatches(25, 5, (i) => start(stack, `127.0.4.${i % 5}`, pumped(i)));
    expect(tally(answers)).toEqual({ '202': 25 });
    const report = await fetch(`${stack.host.url}/api/verifications/guard/report`, {
      headers: { 'x-functions-key': stack.host.keys.functionKey },
    });
    const body = (await report.json()) as { mode: string; rows: Record<string, unknown>[] };
    expect(body.mode).toBe('dry-run');
    expect(body.rows.find((r) => r.subject === '+120677')).toMatchObject({
      blocked: true,
      blockMode: 'dry-run',
      dryRunRefusals: 5,
    });
    await stack.host.whenIdle();
  });
});
