/**
 * The app's phone-verification flow end to end through HTTP, on the local runtime (in-process, manual clock)
 * with the Twilio emulator as the SMS sender. Needs the built app (`npm run build`, run by `pretest`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator } from '../../emulators/src/twilio/server';
import type { TwilioEmulator } from '../../emulators/src/twilio/server';
import { ManualClock } from '../../local-runtime/src/clock';
import type { LocalHost } from '../../local-runtime/src/index';
import { startLocalHost } from '../../local-runtime/src/index';

const repoRoot = path.resolve(__dirname, '..', '..');

interface CheckStatusPayload {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  purgeHistoryDeleteUri: string;
}

interface StatusBody {
  runtimeStatus: string;
  output: unknown;
  customStatus: { state?: string; attemptsRemaining?: number } | null;
}

let twilio: TwilioEmulator;
let host: LocalHost;
let clock: ManualClock;
let dataDir: string;
let phoneCounter = 0;

beforeAll(async () => {
  twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verification-flow-'));
  clock = new ManualClock();
  host = await startLocalHost({
    appDir: repoRoot,
    settingsFile: false,
    dataDir,
    databasePath: ':memory:',
    clock,
    settings: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      // Only the verification feature's settings: each feature validates its own.
      ...twilio.appSettings(),
      VERIFICATION_TIMEOUT_SECONDS: '90',
      VERIFICATION_MAX_ATTEMPTS: '4',
      VERIFICATION_CODE_LENGTH: '6',
      VERIFICATION_MESSAGE_TEMPLATE: 'Your verification code is {code}',
      VERIFICATION_CODE_SECRET: 'integration-test-secret',
    },
  });
});

afterAll(async () => {
  await host.stop();
  await twilio.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function nextPhone(): string {
  phoneCounter++;
  return `+1425555${String(1000 + phoneCounter).padStart(4, '0')}`;
}

async function startVerification(phone: string): Promise<CheckStatusPayload> {
  const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(phone),
  });
  expect(response.status).toBe(202);
  const payload = (await response.json()) as CheckStatusPayload;
  expect(response.headers.get('location')).toBe(payload.statusQueryGetUri);
  // The URLs point at the front door the request came through.
  expect(
    payload.statusQueryGetUri.startsWith(`${host.url}/runtime/webhooks/durabletask/instances/`),
  ).toBe(true);
  return payload;
}

async function codeSentTo(phone: string): Promise<string> {
  await host.whenIdle();
  const sms = twilio.lastMessage(phone);
  expect(sms).toBeDefined();
  const match = /(\d{6})/.exec(sms!.body);
  expect(match).not.toBeNull();
  return match![1]!;
}

async function submitCode(payload: CheckStatusPayload, code: unknown): Promise<number> {
  const url = payload.sendEventPostUri.replace('{eventName}', 'SmsChallengeResponse');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(code),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Polls the status URL; between polls the engine runs whatever became runnable (no wall-clock sleeps). */
async function pollUntilDone(payload: CheckStatusPayload): Promise<StatusBody> {
  for (let i = 0; i < 50; i++) {
    await host.whenIdle();
    const response = await fetch(payload.statusQueryGetUri);
    const body = (await response.json()) as StatusBody;
    if (!['Running', 'Pending', 'ContinuedAsNew'].includes(body.runtimeStatus)) {
      expect(response.status).toBe(200);
      return body;
    }
    expect(response.status).toBe(202);
  }
  throw new Error('the orchestration did not finish');
}

function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

describe('phone verification through HTTP on the local runtime', () => {
  it('completes with output true when the code from the SMS is submitted via sendEventPostUri', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const code = await codeSentTo(phone);
    expect(await submitCode(payload, code)).toBe(202);
    const status = await pollUntilDone(payload);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(true);
    expect(status.customStatus?.state).toBe('verified');
    // The generated code never reaches the status; in the history only the submitted event carries it
    // (the activity's result is a keyed hash).
    expect(JSON.stringify(status)).not.toContain(code);
    const withHistory = (await (
      await fetch(`${payload.statusQueryGetUri}&showHistory=true&showHistoryOutput=true`)
    ).json()) as { historyEvents: { EventType: string }[] };
    const notEvents = withHistory.historyEvents.filter((e) => e.EventType !== 'EventRaised');
    expect(notEvents.map((e) => e.EventType)).toContain('TaskCompleted');
    expect(JSON.stringify(notEvents)).not.toContain(code);
  });

  it('works through the end-user endpoints, which use the durable client inside the app', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const code = await codeSentTo(phone);
    const view = await fetch(`${host.url}/api/verifications/${payload.id}`);
    expect(view.status).toBe(200);
    expect(await view.json()).toMatchObject({
      id: payload.id,
      state: 'awaiting_code',
      attemptsRemaining: 4,
    });
    const submitted = await fetch(`${host.url}/api/verifications/${payload.id}/code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(submitted.status).toBe(202);
    const status = await pollUntilDone(payload);
    expect(status.output).toBe(true);
    // This endpoint raises the code sealed, so not even the EventRaised entry holds it.
    const history = await (
      await fetch(`${payload.statusQueryGetUri}&showHistory=true&showHistoryOutput=true`)
    ).text();
    expect(history).toContain('EventRaised');
    expect(history).toContain('sealedCode');
    expect(history).not.toContain(code);
    const again = await fetch(`${host.url}/api/verifications/${payload.id}/code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(again.status).toBe(410);
    const unknown = await fetch(`${host.url}/api/verifications/0123456789abcdef0123456789abcdef`);
    expect(unknown.status).toBe(404);
  });

  it('times out with output false when the manual clock passes 90 s', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    await codeSentTo(phone);
    clock.advance(89_000);
    await host.whenIdle();
    const running = (await (await fetch(payload.statusQueryGetUri)).json()) as StatusBody;
    expect(running.runtimeStatus).toBe('Running');
    clock.advance(1_001);
    const status = await pollUntilDone(payload);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(false);
    expect(status.customStatus?.state).toBe('expired');
    // Events after completion are gone (410); the JS client treats that as success, the HTTP API reports it.
    expect(await submitCode(payload, '000000')).toBe(410);
  });

  it('completes with output false after four wrong codes', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const code = await codeSentTo(phone);
    for (let i = 0; i < 4; i++) {
      expect(await submitCode(payload, wrongCode(code))).toBe(202);
    }
    const status = await pollUntilDone(payload);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe(false);
    expect(status.customStatus?.state).toBe('too_many_attempts');
  });

  it('accepts the right code after wrong ones, as a JSON number', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const code = await codeSentTo(phone);
    expect(await submitCode(payload, wrongCode(code))).toBe(202);
    await host.whenIdle();
    // A code without leading zeros would lose them as a number; only send it as one when that is safe.
    expect(await submitCode(payload, code.startsWith('0') ? code : Number(code))).toBe(202);
    const status = await pollUntilDone(payload);
    expect(status.output).toBe(true);
  });

  it('rejects an invalid phone number with a problem response', async () => {
    const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify('12345'),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });
});
