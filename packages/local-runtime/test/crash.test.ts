/**
 * Crash safety end to end: the host runs in a child process on a SQLite file, is killed with SIGKILL while
 * verifications are in flight (and again while answers are being processed), restarts on the same file, and
 * every instance still reaches its correct final state. Needs the build output (`pretest` runs the build).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzuriteTable, type AzuriteTable } from '@local/emulators/azurite';
import { startTwilioEmulator } from '@local/emulators';
import type { TwilioEmulator } from '@local/emulators';
import type { LocalHostProcess, LocalHostProcessOptions } from '../src/index';
import { startLocalHostProcess } from '../src/index';

jest.setTimeout(120_000);

/**
 * A pass-through proxy in front of the Twilio emulator that can hold sends (POSTs), so the host can be killed
 * while its SMS activities are provably in the middle of their create call. Reads (the sender's re-run check)
 * pass.
 */
interface TwilioGate {
  readonly url: string;
  /** Holds every later send; the returned promise resolves when `count` are held. */
  hold(count: number): Promise<void>;
  /** Forwards the held requests and lets later ones through. */
  release(): Promise<void>;
  shutdown(): Promise<void>;
}

async function startTwilioGate(target: string): Promise<TwilioGate> {
  let holding = false;
  let held: (() => Promise<void>)[] = [];
  let wanted = 0;
  let notifyHeld: () => void = () => undefined;
  const forward = async (
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
  ): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length')
        headers[k] = v;
    }
    const upstream = await fetch(`${target}${req.url ?? '/'}`, {
      method: req.method,
      headers,
      body: body.length > 0 ? body : undefined,
    });
    const text = Buffer.from(await upstream.arrayBuffer());
    if (!res.destroyed) {
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      });
      res.end(text);
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const send = (): Promise<void> => forward(req, body, res).catch(() => undefined);
      if (holding && req.method === 'POST') {
        held.push(send);
        if (held.length >= wanted) notifyHeld();
      } else {
        void send();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hold: (count) => {
      holding = true;
      wanted = count;
      return new Promise<void>((resolve) => (notifyHeld = resolve));
    },
    release: async () => {
      holding = false;
      const pending = held;
      held = [];
      await Promise.all(pending.map((send) => send()));
    },
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');

interface Started {
  phone: string;
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
}

interface StatusBody {
  runtimeStatus: string;
  output: unknown;
  customStatus: { state?: string } | null;
}

let twilio: TwilioEmulator;
let azurite: AzuriteTable;
let gate: TwilioGate;
let dataDir: string;
let child: LocalHostProcess | undefined;

beforeAll(async () => {
  twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  gate = await startTwilioGate(twilio.url);
  // The app's fraud guard keeps its counters in Table storage.
  azurite = await startAzuriteTable({ host: '127.0.0.1', port: 0 });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crash-test-'));
});

afterAll(async () => {
  if (child) {
    child.kill('SIGKILL');
    await child.exited;
  }
  await gate.shutdown();
  await twilio.close();
  await azurite.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function options(): LocalHostProcessOptions {
  return {
    appDir: repoRoot,
    clock: 'manual',
    // The same start after every restart, so persisted deadlines stay ahead of the restarted clock.
    clockStart: '2030-01-01T00:00:00.000Z',
    dataDir,
    databasePath: path.join(dataDir, 'crash.sqlite'),
    settingsFile: false,
    emulators: false,
    settings: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      ...twilio.appSettings(),
      // Through the gate, which holds SMS requests in flight while the host is killed.
      TwilioApiBaseUrl: gate.url,
      VERIFICATION_TIMEOUT_SECONDS: '90',
      VERIFICATION_MAX_ATTEMPTS: '4',
      VERIFICATION_CODE_LENGTH: '6',
      VERIFICATION_CODE_SECRET: 'crash-test-secret',
      AzureWebJobsStorage: azurite.connectionString,
      // Twelve numbers share one prefix: the guard's per-prefix default (10 an hour) would refuse some.
      VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '1000',
    },
  };
}

async function kill(host: LocalHostProcess): Promise<void> {
  host.kill('SIGKILL');
  expect(await host.exited).toBeNull();
}

async function start(host: LocalHostProcess, phone: string): Promise<Started> {
  const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(phone),
  });
  expect(response.status).toBe(202);
  const body = (await response.json()) as Omit<Started, 'phone'>;
  return {
    phone,
    id: body.id,
    statusQueryGetUri: body.statusQueryGetUri,
    sendEventPostUri: body.sendEventPostUri,
  };
}

/** The management URLs carry the old port; the instance is the same on the restarted host. */
function onHost(host: LocalHostProcess, url: string): string {
  const u = new URL(url);
  return `${host.url}${u.pathname}${u.search}`.replace('%7BeventName%7D', '{eventName}');
}

async function raise(host: LocalHostProcess, s: Started, code: string): Promise<number> {
  const url = onHost(host, s.sendEventPostUri).replace('{eventName}', 'SmsChallengeResponse');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(code),
  });
  await response.arrayBuffer();
  return response.status;
}

async function status(host: LocalHostProcess, s: Started): Promise<StatusBody> {
  const response = await fetch(onHost(host, s.statusQueryGetUri));
  return (await response.json()) as StatusBody;
}

function lastCode(phone: string): string {
  const sms = twilio.lastMessage(phone);
  if (!sms) throw new Error(`no SMS to ${phone}`);
  const match = /(\d{6})/.exec(sms.body);
  if (!match) throw new Error('no code in the SMS');
  return match[1]!;
}

function wrong(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

it('every verification reaches its correct final state across SIGKILL and restarts on the same database', async () => {
  const count = 12;
  const phones = Array.from(
    { length: count },
    (_, i) => `+1425556${String(1000 + i).padStart(4, '0')}`,
  );

  // 1. Start every verification and kill the host while every SMS activity is in the middle of its send.
  let host = await startLocalHostProcess(options());
  child = host;
  const allHeld = gate.hold(count);
  const started = await Promise.all(phones.map((p) => start(host, p)));
  await allHeld;
  await kill(host);
  // Nothing reached Twilio before the kill: every SMS activity was in the middle of its create call.
  expect(twilio.messages()).toHaveLength(0);
  // The dead host's calls still go out (an SMS delivered whose result was never recorded).
  await gate.release();
  expect(twilio.messages()).toHaveLength(count);

  // 2. Restart on the same file: pending activities run again (at-least-once), find the SMS the dead host
  //    sent (same derived text, listed by To/From) and send no second one: one SMS per phone.
  host = await startLocalHostProcess(options());
  child = host;
  await host.whenIdle();
  for (const s of started) {
    expect((await status(host, s)).runtimeStatus).toBe('Running');
    expect(twilio.messages(s.phone)).toHaveLength(1);
  }

  // 3. Answer a third correctly and a third wrongly four times, then kill while those events are processed.
  const correct = started.slice(0, count / 3);
  const wrongFour = started.slice(count / 3, (2 * count) / 3);
  const silent = started.slice((2 * count) / 3);
  const raised: Promise<number>[] = [];
  for (const s of correct) raised.push(raise(host, s, lastCode(s.phone)));
  for (const s of wrongFour)
    for (let i = 0; i < 4; i++) raised.push(raise(host, s, wrong(lastCode(s.phone))));
  expect(new Set(await Promise.all(raised))).toEqual(new Set([202]));
  await kill(host);

  // 4. Restart again: undelivered events are delivered; then let the silent ones time out.
  host = await startLocalHostProcess(options());
  child = host;
  await host.whenIdle();
  await host.advanceClock(91_000);
  await host.whenIdle();

  for (const s of correct) {
    expect(await status(host, s)).toMatchObject({
      runtimeStatus: 'Completed',
      output: true,
      customStatus: { state: 'verified' },
    });
  }
  for (const s of wrongFour) {
    expect(await status(host, s)).toMatchObject({
      runtimeStatus: 'Completed',
      output: false,
      customStatus: { state: 'too_many_attempts' },
    });
  }
  for (const s of silent) {
    expect(await status(host, s)).toMatchObject({
      runtimeStatus: 'Completed',
      output: false,
      customStatus: { state: 'expired' },
    });
  }

  // 5. SIGTERM shuts down cleanly.
  expect(await host.stop()).toBe(0);
  child = undefined;
});
