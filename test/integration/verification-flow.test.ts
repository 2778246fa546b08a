/**
 * The app's phone-verification flow end to end through HTTP, on the local runtime (in-process, manual clock)
 * with the Twilio emulator as the SMS sender and Azurite for the guard's counters. Needs the built app
 * (`npm run build`, run by `pretest`).
 */
import type { TwilioEmulator } from '@local/emulators';
import type { LocalHost, ManualClock } from '@local/durable-runtime';
import { startAppWithTwilio, type TwilioAppStack } from '../helpers/app-with-twilio';
import { answerCode } from '../helpers/verification-links';
import { expectRecipientsSealed } from '../helpers/sealed-recipients';
import { buildVerificationLinks, type VerificationLinks } from '../../src/verification/links';
import { maskPhoneNumber } from '../../src/redact';

interface StatusBody {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: { state?: string; attemptsRemaining?: number } | null;
  createdTime: string;
  lastUpdatedTime: string;
}

let stack: TwilioAppStack;
let twilio: TwilioEmulator;
let host: LocalHost;
let clock: ManualClock;
let phoneCounter = 0;

beforeAll(async () => {
  stack = await startAppWithTwilio('verification-flow', {
    // Only the verification feature's settings: each feature validates its own.
    VERIFICATION_TIMEOUT_SECONDS: '90',
    VERIFICATION_MAX_ATTEMPTS: '4',
    VERIFICATION_CODE_LENGTH: '6',
    VERIFICATION_MESSAGE_TEMPLATE: 'Your verification code is {code}',
    VERIFICATION_CODE_SECRET: 'integration-test-secret',
    VERIFICATION_LIMIT_TABLE_NAME: 'FlowLimits',
    VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '1000',
    VERIFICATION_LIMIT_PER_IP_PER_HOUR: '1000',
    VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS: '0',
  });
  ({ twilio, host, clock } = stack);
});

afterAll(() => stack.stop());

function nextPhone(): string {
  phoneCounter++;
  return `+1425555${String(1000 + phoneCounter).padStart(4, '0')}`;
}

const hostKeys = (): string[] => [host.keys.masterKey, host.keys.functionKey, host.keys.systemKey];

/** Fails when any header or the body of an anonymous answer carries one of the host's keys. */
async function assertNoKey(response: Response): Promise<string> {
  const text = await response.text();
  const headers = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  for (const key of hostKeys()) {
    expect(text).not.toContain(key);
    expect(headers).not.toContain(key);
  }
  return text;
}

async function startVerification(body: unknown): Promise<VerificationLinks> {
  const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', host: 'evil.example' },
    body: JSON.stringify(body),
  });
  const text = await assertNoKey(response);
  expect(response.status).toBe(202);
  const payload = JSON.parse(text) as VerificationLinks;
  expect(response.headers.get('location')).toBe(payload.statusQueryGetUri);
  expect(response.headers.get('retry-after')).toBe('10');
  // Every link is on the app's own routes at the local runtime's origin, never the forged Host.
  expect(payload.statusQueryGetUri).toMatch(
    new RegExp(`^${host.url}/api/verifications/${payload.id}/status\\?token=[\\w-]{43}$`),
  );
  expect(payload.sendEventPostUri).toContain(
    `/api/verifications/${payload.id}/events/{eventName}?token=`,
  );
  expect(text).not.toContain('evil.example');
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

async function submitCode(payload: VerificationLinks, code: unknown): Promise<number> {
  const response = await answerCode(payload, code);
  await assertNoKey(response);
  return response.status;
}

/** Polls the status URL; between polls the engine runs whatever became runnable (no wall-clock sleeps). */
async function pollUntilDone(payload: VerificationLinks): Promise<StatusBody> {
  for (let i = 0; i < 50; i++) {
    await host.whenIdle();
    const response = await fetch(payload.statusQueryGetUri);
    const body = JSON.parse(await assertNoKey(response)) as StatusBody;
    if (!['Running', 'Pending', 'ContinuedAsNew'].includes(body.runtimeStatus)) {
      expect(response.status).toBe(200);
      return body;
    }
    expect(response.status).toBe(202);
  }
  throw new Error('the orchestration did not finish');
}

/** The full history, through the management API with the system key (only the test holds it). */
async function history(id: string): Promise<string> {
  const url = `${host.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true&showHistoryOutput=true&showInput=true&code=${host.keys.systemKey}`;
  const response = await fetch(url);
  expect(response.ok).toBe(true);
  return response.text();
}

function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

describe('phone verification through the capability links on the local runtime', () => {
  it('the seed walk-through: POST the number, POST the code to sendEventPostUri, GET until output true', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const code = await codeSentTo(phone);
    expect(await submitCode(payload, Number(code) >= 100_000 ? Number(code) : code)).toBe(202);
    const status = await pollUntilDone(payload);
    expect(status).toMatchObject({
      name: 'SmsPhoneVerification',
      instanceId: payload.id,
      runtimeStatus: 'Completed',
      input: maskPhoneNumber(phone),
      output: true,
      customStatus: { state: 'verified' },
    });
    expect(Date.parse(status.createdTime)).not.toBeNaN();
    expect(Date.parse(status.lastUpdatedTime)).not.toBeNaN();
    // Neither the status nor any history entry holds the code: the answer was sealed.
    expect(JSON.stringify(status)).not.toContain(code);
    const events = await history(payload.id);
    expect(events).toContain('sealedAnswer');
    expect(events).not.toContain(code);
  });

  it('works through the end-user endpoints, which take the same tokens', async () => {
    const phone = nextPhone();
    const payload = await startVerification({ phoneNumber: phone });
    const code = await codeSentTo(phone);
    const statusToken = new URL(payload.statusQueryGetUri).searchParams.get('token')!;
    const codeToken = new URL(
      payload.sendEventPostUri.replace('{eventName}', 'x'),
    ).searchParams.get('token')!;
    const view = await fetch(`${host.url}/api/verifications/${payload.id}?token=${statusToken}`);
    expect(view.status).toBe(200);
    expect(JSON.parse(await assertNoKey(view))).toMatchObject({
      id: payload.id,
      state: 'awaiting_code',
      attemptsRemaining: 4,
    });
    const noToken = await fetch(`${host.url}/api/verifications/${payload.id}`);
    expect(noToken.status).toBe(404);
    expect(noToken.headers.get('content-type')).toContain('application/problem+json');
    const submitted = await fetch(
      `${host.url}/api/verifications/${payload.id}/code?token=${codeToken}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      },
    );
    await assertNoKey(submitted);
    expect(submitted.status).toBe(202);
    const status = await pollUntilDone(payload);
    expect(status.output).toBe(true);
    const events = await history(payload.id);
    expect(events).toContain('sealedAnswer');
    expect(events).not.toContain(code);
    const again = await fetch(
      `${host.url}/api/verifications/${payload.id}/code?token=${codeToken}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      },
    );
    expect(again.status).toBe(410);
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
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      output: false,
      customStatus: { state: 'expired' },
    });
    expect(await submitCode(payload, '000000')).toBe(410);
  });

  it('completes with output false after four wrong codes, and none of them is in history', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const code = await codeSentTo(phone);
    for (let i = 0; i < 4; i++) {
      expect(await submitCode(payload, wrongCode(code))).toBe(202);
      await host.whenIdle();
    }
    const status = await pollUntilDone(payload);
    expect(status).toMatchObject({ output: false, customStatus: { state: 'too_many_attempts' } });
    expect(await history(payload.id)).not.toContain(wrongCode(code));
  });

  it('cancel ends the verification with false and "canceled"; delete then erases it', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    await codeSentTo(phone);
    const early = await fetch(payload.purgeHistoryDeleteUri, { method: 'DELETE' });
    expect(early.status).toBe(409);
    const cancel = await fetch(payload.terminatePostUri, { method: 'POST' });
    await assertNoKey(cancel);
    expect(cancel.status).toBe(202);
    const status = await pollUntilDone(payload);
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      output: false,
      customStatus: { state: 'canceled' },
    });
    const purge = await fetch(payload.purgeHistoryDeleteUri, { method: 'DELETE' });
    await assertNoKey(purge);
    expect(purge.status).toBe(204);
    expect((await fetch(payload.statusQueryGetUri)).status).toBe(404);
  });

  it('resend texts a new code; the old one stops working, the new one verifies', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const first = await codeSentTo(phone);
    const resend = await fetch(payload.resendPostUri, { method: 'POST' });
    await assertNoKey(resend);
    expect(resend.status).toBe(202);
    await host.whenIdle();
    expect(twilio.messages(phone)).toHaveLength(2);
    const second = await codeSentTo(phone);
    expect(second).not.toBe(first);
    expect(await submitCode(payload, first)).toBe(202);
    await host.whenIdle();
    const afterOld = (await (await fetch(payload.statusQueryGetUri)).json()) as StatusBody;
    expect(afterOld.customStatus).toMatchObject({ state: 'awaiting_code', attemptsRemaining: 3 });
    expect(await submitCode(payload, second)).toBe(202);
    expect((await pollUntilDone(payload)).output).toBe(true);
  });

  it('a wrong code, then two resends: each resend texts a new code and the last one verifies', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    const first = await codeSentTo(phone);
    expect(await submitCode(payload, wrongCode(first))).toBe(202);
    await host.whenIdle();
    for (const sent of [2, 3]) {
      expect((await fetch(payload.resendPostUri, { method: 'POST' })).status).toBe(202);
      await host.whenIdle();
      // A timer reused across waits shifted the first resend's task id: the second never went out.
      expect(twilio.messages(phone)).toHaveLength(sent);
    }
    const last = await codeSentTo(phone);
    expect(await submitCode(payload, last)).toBe(202);
    expect(await pollUntilDone(payload)).toMatchObject({
      output: true,
      customStatus: { state: 'verified', attemptsRemaining: 2 },
    });
  });

  it('a locale picks the SMS template', async () => {
    const phone = nextPhone();
    await startVerification({ phoneNumber: phone, locale: 'ko' });
    await host.whenIdle();
    expect(twilio.lastMessage(phone)?.body).toMatch(/^인증 코드는 \d{6}입니다$/);
  });

  it('a token opens only its own instance and purpose: 404 problem+json otherwise', async () => {
    const phoneA = nextPhone();
    const phoneB = nextPhone();
    const a = await startVerification(phoneA);
    const b = await startVerification(phoneB);
    await host.whenIdle();
    const tokenOf = (uri: string) =>
      new URL(uri.replace('{eventName}', 'x')).searchParams.get('token')!;
    const swap = (uri: string, id: string) => uri.replace(a.id, id);
    const attempts: [string, string][] = [
      ['GET', swap(a.statusQueryGetUri, b.id)],
      ['POST', swap(a.sendEventPostUri, b.id).replace('{eventName}', 'SmsChallengeResponse')],
      ['POST', swap(a.terminatePostUri, b.id)],
      ['DELETE', swap(a.purgeHistoryDeleteUri, b.id)],
      ['POST', swap(a.resendPostUri, b.id)],
      // Right instance, wrong purpose: the status token on the cancel route.
      [
        'POST',
        a.terminatePostUri.replace(tokenOf(a.terminatePostUri), tokenOf(a.statusQueryGetUri)),
      ],
      // Altered and missing tokens.
      [
        'GET',
        a.statusQueryGetUri.replace(
          /token=(.)/,
          (_m, c: string) => `token=${c === 'A' ? 'B' : 'A'}`,
        ),
      ],
      ['GET', a.statusQueryGetUri.replace(/\?token=.*$/, '')],
      // Other event names.
      ['POST', a.sendEventPostUri.replace('{eventName}', 'VerificationCancelRequested')],
    ];
    for (const [method, url] of attempts) {
      const response = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '"000000"' } : {}),
      });
      await assertNoKey(response);
      expect([method, url, response.status]).toEqual([method, url, 404]);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
    const status = (await (await fetch(b.statusQueryGetUri)).json()) as StatusBody;
    expect(status.customStatus).toMatchObject({ state: 'awaiting_code', attemptsRemaining: 4 });
    expect(twilio.messages(phoneB)).toHaveLength(1);
  });

  it('an answer larger than 1 KiB is 413, a malformed one 400', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    await host.whenIdle();
    const url = payload.sendEventPostUri.replace('{eventName}', 'SmsChallengeResponse');
    const big = await fetch(url, { method: 'POST', body: JSON.stringify('1'.repeat(2000)) });
    expect(big.status).toBe(413);
    const bad = await fetch(url, { method: 'POST', body: JSON.stringify({ code: 'x' }) });
    expect(bad.status).toBe(400);
  });

  it('the trusted starter needs a function key and answers the Durable management payload', async () => {
    const phone = nextPhone();
    const url = `${host.url}/api/trusted/orchestrators/SmsPhoneVerification`;
    const anonymous = await fetch(url, { method: 'POST', body: JSON.stringify(phone) });
    expect(anonymous.status).toBe(401);
    const trusted = await fetch(url, {
      method: 'POST',
      headers: { 'x-functions-key': host.keys.functionKey },
      body: JSON.stringify(phone),
    });
    expect(trusted.status).toBe(202);
    const body = (await trusted.json()) as { statusQueryGetUri: string; links: VerificationLinks };
    expect(body.statusQueryGetUri).toContain('/runtime/webhooks/durabletask/instances/');
    expect(body.statusQueryGetUri).toContain(host.keys.systemKey);
    const code = await codeSentTo(phone);
    expect(await submitCode(body.links, code)).toBe(202);
    expect((await pollUntilDone(body.links)).output).toBe(true);
  });

  it('the links starter puts the number in history only sealed; the verification still ends true', async () => {
    const phone = nextPhone();
    const payload = await startVerification({ phoneNumber: phone, locale: 'ko' });
    expect(await submitCode(payload, await codeSentTo(phone))).toBe(202);
    const status = await pollUntilDone(payload);
    expect([status.output, status.customStatus?.state]).toEqual([true, 'verified']);
    // The status link shows the number masked: the link travels, its holder knows the number.
    expect(status.input).toBe(maskPhoneNumber(phone));
    expect(JSON.stringify(status)).not.toContain(phone.slice(1));
    await expectRecipientsSealed(host, payload.id, [phone]);
  });

  it('the trusted starter puts the number in history only sealed; the verification still ends true', async () => {
    const phone = nextPhone();
    const trusted = await fetch(`${host.url}/api/trusted/orchestrators/SmsPhoneVerification`, {
      method: 'POST',
      headers: { 'x-functions-key': host.keys.functionKey },
      body: JSON.stringify({ phoneNumber: phone }),
    });
    expect(trusted.status).toBe(202);
    const { links, statusQueryGetUri } = (await trusted.json()) as {
      links: VerificationLinks;
      statusQueryGetUri: string;
    };
    expect(await submitCode(links, await codeSentTo(phone))).toBe(202);
    expect((await pollUntilDone(links)).output).toBe(true);
    // The management payload's own status URL (system key) shows the input: sealed and masked only.
    const managed = (await (await fetch(statusQueryGetUri)).json()) as { input: unknown };
    expect(managed.input).toMatchObject({
      maskedPhoneNumber: `+1******${phone.slice(-4)}`,
      sealedPhoneNumber: expect.stringMatching(/^[\w-]{38,}$/) as unknown,
    });
    await expectRecipientsSealed(host, links.id, [phone]);
  });

  it('rejects an invalid phone number with a problem response and sends nothing', async () => {
    const before = twilio.messages().length;
    const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify('+14251234567'),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ reason: 'phone_number_invalid' });
    await host.whenIdle();
    expect(twilio.messages()).toHaveLength(before);
  });

  it('an instance started before the input version (no `version`) still runs: rules activity first, then the send', async () => {
    // What a release before `version` 2 left in the store: an instance whose input is only the
    // number. Started here through the management API (the system key stays in the test).
    const phone = nextPhone();
    const start = await fetch(
      `${host.url}/runtime/webhooks/durabletask/orchestrators/SmsPhoneVerification?code=${host.keys.systemKey}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phoneNumber: phone }),
      },
    );
    expect(start.status).toBe(202);
    const { id } = (await start.json()) as { id: string };
    const code = await codeSentTo(phone);
    const events = JSON.parse(await history(id)) as {
      historyEvents: { EventType: string; FunctionName?: string; Input?: unknown }[];
    };
    const completed = events.historyEvents.filter((e) => e.EventType === 'TaskCompleted');
    expect(completed.map((e) => e.FunctionName)).toEqual([
      'GetVerificationRules',
      'SendSmsChallenge',
    ]);
    expect(completed[1]!.Input).toMatchObject({ codeLength: 6, sendNumber: 1 });
    const links = buildVerificationLinks(
      'integration-test-secret',
      { publicOrigin: new URL(host.url) },
      id,
    );
    expect(await submitCode(links, code)).toBe(202);
    expect((await pollUntilDone(links)).output).toBe(true);
    // Its plain input is what the sealed-recipient check exists to catch.
    await expect(expectRecipientsSealed(host, id, [phone])).rejects.toThrow();
  });

  it('a new instance records its rules with the first send: no rules activity in its history', async () => {
    const phone = nextPhone();
    const payload = await startVerification(phone);
    await codeSentTo(phone);
    const events = JSON.parse(await history(payload.id)) as {
      historyEvents: { EventType: string; FunctionName?: string; Result?: unknown }[];
    };
    const completed = events.historyEvents.filter((e) => e.EventType === 'TaskCompleted');
    // Then only the lifecycle reports of issue 22 (PublishVerificationEvents), never the rules.
    expect(completed[0]!.FunctionName).toBe('SendSmsChallenge');
    expect(completed.map((e) => e.FunctionName)).not.toContain('GetVerificationRules');
    expect(completed[0]!.Result).toMatchObject({
      rules: { timeoutSeconds: 90, maxAttempts: 4, codeLength: 6 },
      challengeHash: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
    });
  });
});
