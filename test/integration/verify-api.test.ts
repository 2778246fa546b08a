/**
 * The Verify v2 API driven by the published `twilio` SDK, unchanged, with only
 * `client.verify.baseUrl` (and `client.api.baseUrl` for API keys) pointed at the app on the local
 * runtime (in-process, manual clock), the Twilio emulator as SMS sender and Azurite for the tables.
 * Every answer is validated against Twilio's own OpenAPI schemas (vendored, test/fixtures/twilio-oai).
 * Needs the built app (`npm run build`, run by `pretest`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TableClient } from '@azure/data-tables';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import twilio from 'twilio';
import type { TwilioEmulator } from '@local/emulators';
import type { ManualClock, LocalHost } from '@local/durable-runtime';
import { startAppWithTwilio, type TwilioAppStack } from '../helpers/app-with-twilio';
import { expectRecipientsSealed } from '../helpers/sealed-recipients';

const repoRoot = path.resolve(__dirname, '..', '..');
const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'verify-api-test-auth-token-0123456789abcdef';

let stack: TwilioAppStack;
let twilioEmulator: TwilioEmulator;
let host: LocalHost;
let clock: ManualClock;
let client: twilio.Twilio;
let phoneCounter = 0;

const spec = JSON.parse(
  fs.readFileSync(path.join(repoRoot, 'test/fixtures/twilio-oai/twilio_verify_v2.json'), 'utf8'),
) as Record<string, unknown>;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('uri-map', true);
ajv.addSchema(toJsonSchema(spec) as object, 'verify');

/** OpenAPI 3.0's `nullable: true` as JSON Schema: `null` added to the type (or left open without one). */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = toJsonSchema(value);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  }
  return out;
}

/** Fails with the schema errors when `body` does not match Twilio's schema of that resource. */
function expectSpec(schema: string, body: unknown): void {
  const validate = ajv.getSchema(`verify#/components/schemas/${schema}`)!;
  const ok = validate(body);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

function makeClient(user = ACCOUNT_SID, password = AUTH_TOKEN): twilio.Twilio {
  const made = twilio(user, password, { accountSid: ACCOUNT_SID });
  made.verify.baseUrl = `${host.url}/api/verify`;
  made.api.baseUrl = `${host.url}/api/verify`;
  return made;
}

beforeAll(async () => {
  stack = await startAppWithTwilio('verify-api', {
    VERIFICATION_CODE_SECRET: 'verify-api-test-secret',
    VERIFICATION_LIMIT_TABLE_NAME: 'VerifyApiLimits',
    VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR: '100',
    VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS: '0',
    VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '10000',
    VERIFICATION_LIMIT_PER_IP_PER_HOUR: '3',
    VERIFICATION_ALLOWED_COUNTRIES: 'US,GB,FR,ES,DE',
    VERIFY_API_ACCOUNT_SID: ACCOUNT_SID,
    VERIFY_API_AUTH_TOKEN: AUTH_TOKEN,
    VERIFY_API_TABLE_NAME: 'VerifyApiTest',
  });
  ({ twilio: twilioEmulator, host, clock } = stack);
  client = makeClient();
});

afterAll(() => stack.stop());

function nextPhone(): string {
  phoneCounter++;
  return `+1425556${String(1000 + phoneCounter).padStart(4, '0')}`;
}

/** A new service with one SMS verification to a fresh number, and the code it texted. */
async function smsVerification() {
  const service = await newService();
  const to = nextPhone();
  const created = await client.verify.v2
    .services(service.sid)
    .verifications.create({ to, channel: 'sms' });
  return { service, to, created, code: codeIn(await smsTo(to)) };
}

/** 20 checks of `code` at once: each one's status, or its Twilio error code. */
function concurrentChecks(
  checks: ReturnType<twilio.Twilio['verify']['v2']['services']>['verificationChecks'],
  verificationSid: string,
  code: string,
): Promise<(string | number)[]> {
  return Promise.all(
    Array.from({ length: 20 }, () =>
      checks.create({ verificationSid, code }).then(
        (check) => check.status,
        (error: { code: number }) => error.code,
      ),
    ),
  );
}

/** The SMS texted to `phone` (the n-th, 1-based) once the engine ran what it could. */
async function smsTo(phone: string, nth = 1): Promise<string> {
  await host.whenIdle();
  const all = twilioEmulator.messages().filter((m) => m.to === phone);
  expect(all.length).toBeGreaterThanOrEqual(nth);
  return all[nth - 1]!.body;
}

function codeIn(body: string): string {
  return /verification code is: (\d+)/.exec(body)![1]!;
}

/** The RestException the SDK raises, as `{status, code}`. */
async function failure(promise: Promise<unknown>): Promise<{ status: number; code: number }> {
  try {
    await promise;
  } catch (error: unknown) {
    const { status, code } = error as { status: number; code: number };
    return { status, code };
  }
  throw new Error('the call succeeded');
}

async function newService(fields: Record<string, unknown> = {}) {
  return client.verify.v2.services.create({ friendlyName: 'Acme', ...fields });
}

async function rawFetch(route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${host.url}/api/verify${route}`, init);
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('authentication as Twilio', () => {
  it('answers 401 (20003) in Twilio error shape without or with wrong credentials', async () => {
    const none = await rawFetch('/v2/Services');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await none.json()) as Record<string, unknown>;
    expect(body).toEqual({
      code: 20003,
      message: 'Authenticate',
      more_info: 'https://www.twilio.com/docs/errors/20003',
      status: 401,
    });
    expect(await failure(makeClient(ACCOUNT_SID, 'wrong').verify.v2.services.list())).toEqual({
      status: 401,
      code: 20003,
    });
    expect(
      await failure(makeClient(`AC${'2'.repeat(32)}`, AUTH_TOKEN).verify.v2.services.list()),
    ).toEqual({ status: 401, code: 20003 });
  });

  it('API keys: created through the Accounts API (secret once), usable, unable to mint keys, revocable', async () => {
    const key = await client.newKeys.create({ friendlyName: 'backend' });
    expect(key.sid).toMatch(/^SK[0-9a-f]{32}$/);
    expect(key.secret).toMatch(/^[\w-]{32}$/);
    expect(key.friendlyName).toBe('backend');
    const keyed = makeClient(key.sid, key.secret);
    const service = await keyed.verify.v2.services.create({ friendlyName: 'ByKey' });
    expect(service.sid).toMatch(/^VA/);
    expect(await failure(makeClient(key.sid, 'not-the-secret').verify.v2.services.list())).toEqual({
      status: 401,
      code: 20003,
    });
    expect(await failure(keyed.newKeys.create({ friendlyName: 'x' }))).toEqual({
      status: 401,
      code: 20003,
    });
    const fetched = await client.api.v2010.accounts(ACCOUNT_SID).keys(key.sid).fetch();
    expect(fetched.friendlyName).toBe('backend');
    expect(JSON.stringify(fetched.toJSON())).not.toContain(key.secret);
    expect(await client.api.v2010.accounts(ACCOUNT_SID).keys(key.sid).remove()).toBe(true);
    // Revoked at once on this instance, although the key was just used (and cached).
    expect(await failure(keyed.verify.v2.services.list())).toEqual({ status: 401, code: 20003 });
    expect(await failure(client.api.v2010.accounts(ACCOUNT_SID).keys(key.sid).fetch())).toEqual({
      status: 404,
      code: 20404,
    });
  });
});

describe('Services', () => {
  it('create, fetch, update, delete, with the spec’s fields and types', async () => {
    const created = await newService({ codeLength: 8, doNotShareWarningEnabled: true });
    expect(created).toMatchObject({
      friendlyName: 'Acme',
      codeLength: 8,
      doNotShareWarningEnabled: true,
      accountSid: ACCOUNT_SID,
      url: `${host.url}/api/verify/v2/Services/${created.sid}`,
    });
    const raw = await rawFetch(`/v2/Services/${created.sid}`, {
      headers: { authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
    });
    expect(raw.status).toBe(200);
    const body = (await raw.json()) as Record<string, unknown>;
    expectSpec('verify.v2.service', body);
    expect(body.date_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const updated = await client.verify.v2.services(created.sid).update({
      friendlyName: 'Acme Two',
      psd2Enabled: true,
    });
    expect(updated).toMatchObject({ friendlyName: 'Acme Two', psd2Enabled: true, codeLength: 8 });
    expect((await client.verify.v2.services(created.sid).fetch()).friendlyName).toBe('Acme Two');
    expect(await client.verify.v2.services(created.sid).remove()).toBe(true);
    expect(await failure(client.verify.v2.services(created.sid).fetch())).toEqual({
      status: 404,
      code: 20404,
    });
  });

  it('refuses invalid parameters with 400 (60200)', async () => {
    expect(await failure(newService({ codeLength: 11 }))).toEqual({ status: 400, code: 60200 });
    expect(await failure(newService({ friendlyName: 'x'.repeat(31) }))).toEqual({
      status: 400,
      code: 60200,
    });
    const missing = await rawFetch('/v2/Services', {
      method: 'POST',
      headers: {
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'CodeLength=6',
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: 60200, status: 400 });
  });

  it('pages as Twilio pages: PageSize, next_page_url with PageToken, meta', async () => {
    for (let i = 0; i < 3; i++) await newService({ friendlyName: `Paged ${i}` });
    const first = await client.verify.v2.services.page({ pageSize: 2 });
    expect(first.instances).toHaveLength(2);
    expect(first.nextPageUrl).toContain('PageToken=');
    const raw = await rawFetch('/v2/Services?PageSize=2', {
      headers: { authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
    });
    const body = (await raw.json()) as { meta: Record<string, unknown>; services: unknown[] };
    expect(body.meta).toMatchObject({ page: 0, page_size: 2, key: 'services' });
    for (const service of body.services) expectSpec('verify.v2.service', service);
    const second = await first.nextPage();
    expect(second!.instances.length).toBeGreaterThan(0);
    const seen = new Set([...first.instances, ...second!.instances].map((s) => s.sid));
    expect(seen.size).toBe(first.instances.length + second!.instances.length);
    const forged = await rawFetch('/v2/Services?PageSize=2&PageToken=not-a-token', {
      headers: { authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
    });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ code: 60200 });
    const all = await client.verify.v2.services.list({ pageSize: 2 });
    expect(all.length).toBeGreaterThanOrEqual(3);
  });
});

describe('SafeList', () => {
  it('adds, fetches and removes a number with the spec’s shape; unknown numbers answer 20404', async () => {
    const phone = nextPhone();
    const created = await client.verify.v2.safelist.create({ phoneNumber: phone });
    expect(created.sid).toMatch(/^GN[0-9a-f]{32}$/);
    expect(created.phoneNumber).toBe(phone);
    const raw = await rawFetch(`/v2/SafeList/Numbers/${encodeURIComponent(phone)}`, {
      headers: { Authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
    });
    expect(raw.status).toBe(200);
    const body = (await raw.json()) as { sid: string; phone_number: string; url: string };
    expectSpec('verify.v2.safelist', body);
    expect(body).toMatchObject({ sid: created.sid, phone_number: phone });
    // Adding again is idempotent: the same entry.
    expect((await client.verify.v2.safelist.create({ phoneNumber: phone })).sid).toBe(created.sid);
    expect((await client.verify.v2.safelist(phone).fetch()).sid).toBe(created.sid);
    expect(await client.verify.v2.safelist(phone).remove()).toBe(true);
    expect(await failure(client.verify.v2.safelist(phone).fetch())).toEqual({
      status: 404,
      code: 20404,
    });
    expect(await failure(client.verify.v2.safelist(phone).remove())).toEqual({
      status: 404,
      code: 20404,
    });
    expect(await failure(client.verify.v2.safelist.create({ phoneNumber: '12345' }))).toEqual({
      status: 400,
      code: 60200,
    });
  });
});

describe('Attempts', () => {
  it('records each send (number masked), converts them on approval, and summarises conversion', async () => {
    const service = await newService();
    const verifications = client.verify.v2.services(service.sid).verifications;
    const approvedTo = nextPhone();
    const first = await verifications.create({ to: approvedTo, channel: 'sms' });
    await verifications.create({ to: approvedTo, channel: 'sms' }); // a resend: a second attempt
    const code = codeIn(await smsTo(approvedTo, 2));
    const lostTo = nextPhone();
    const lost = await verifications.create({ to: lostTo, channel: 'sms' });
    await client.verify.v2
      .services(service.sid)
      .verificationChecks.create({ verificationSid: first.sid, code });

    const listed = await client.verify.v2.verificationAttempts.list({
      verificationSid: first.sid,
    });
    expect(listed).toHaveLength(2);
    expect(listed.map((a) => a.conversionStatus)).toEqual(['converted', 'converted']);
    const raw = await rawFetch(`/v2/Attempts?VerifyServiceSid=${service.sid}&PageSize=10`, {
      headers: { Authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
    });
    const page = (await raw.json()) as { attempts: { sid: string; channel_data: object }[] };
    expect(page.attempts).toHaveLength(3);
    for (const attempt of page.attempts) {
      expectSpec('verify.v2.verification_attempt', attempt);
      expect(JSON.stringify(attempt)).not.toContain(approvedTo.slice(1));
      expect(JSON.stringify(attempt)).not.toContain(lostTo.slice(1));
    }
    const unconverted = await client.verify.v2.verificationAttempts.list({
      verifyServiceSid: service.sid,
      status: 'unconverted',
    });
    expect(unconverted.map((a) => a.verificationSid)).toEqual([lost.sid]);
    const one = await client.verify.v2.verificationAttempts(unconverted[0]!.sid).fetch();
    expect(one).toMatchObject({ serviceSid: service.sid, channel: 'sms' });
    expect(one.channelData).toMatchObject({ country: 'US' });

    const summary = await client.verify.v2
      .verificationAttemptsSummary()
      .fetch({ verifyServiceSid: service.sid, country: 'US', channel: 'sms' });
    expect(summary).toMatchObject({
      totalAttempts: 3,
      totalConverted: 2,
      totalUnconverted: 1,
      conversionRatePercentage: '66.67',
    });
    const byPrefix = await rawFetch(
      `/v2/Attempts/Summary?VerifyServiceSid=${service.sid}&DestinationPrefix=${encodeURIComponent('+1999')}`,
      { headers: { Authorization: basic(ACCOUNT_SID, AUTH_TOKEN) } },
    );
    const none = await byPrefix.json();
    expectSpec('verify.v2.verification_attempts_summary', none);
    expect(none).toMatchObject({ total_attempts: 0 });
    expect(
      await failure(client.verify.v2.verificationAttempts(`VL${'0'.repeat(32)}`).fetch()),
    ).toEqual({
      status: 404,
      code: 20404,
    });
  });
});

describe('Verifications and checks', () => {
  it('sends Verify’s message, approves the right code once, and answers 20404 after', async () => {
    const service = await newService({ friendlyName: 'Acme Shop' });
    const to = nextPhone();
    const verification = await client.verify.v2
      .services(service.sid)
      .verifications.create({ to, channel: 'sms' });
    expect(verification).toMatchObject({ to, channel: 'sms', status: 'pending', valid: false });
    expect(verification.sid).toMatch(/^VE[0-9a-f]{32}$/);
    expect(verification.sendCodeAttempts).toHaveLength(1);
    const body = await smsTo(to);
    expect(body).toMatch(/^Your Acme Shop verification code is: \d{6}$/);
    const code = codeIn(body);

    const raw = await rawFetch(`/v2/Services/${service.sid}/Verifications/${verification.sid}`, {
      headers: { authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
    });
    expectSpec('verify.v2.service.verification', await raw.json());

    const checks = client.verify.v2.services(service.sid).verificationChecks;
    const wrong = await checks.create({ to, code: code === '000000' ? '111111' : '000000' });
    expect(wrong).toMatchObject({ status: 'pending', valid: false, sid: verification.sid });
    const right = await checks.create({ verificationSid: verification.sid, code });
    expect(right).toMatchObject({ status: 'approved', valid: true, to, channel: 'sms' });
    expect(await failure(checks.create({ to, code }))).toEqual({ status: 404, code: 20404 });
    const fetched = await client.verify.v2
      .services(service.sid)
      .verifications(verification.sid)
      .fetch();
    expect(fetched.status).toBe('approved');

    // The code is in neither the status nor the history.
    const history = await fetch(
      `${host.url}/runtime/webhooks/durabletask/instances/${verification.sid}?showHistory=true&showHistoryOutput=true&showInput=true&code=${host.keys.systemKey}`,
    );
    const text = await history.text();
    expect(text).toContain('sealedAnswer');
    expect(text).not.toContain(code);
  });

  it('Channel=sms: the number is in history only sealed; the account reads it back and the check approves', async () => {
    const service = await newService();
    const to = nextPhone();
    const created = await client.verify.v2
      .services(service.sid)
      .verifications.create({ to, channel: 'sms' });
    expect(created.to).toBe(to);
    const code = codeIn(await smsTo(to));
    const check = await client.verify.v2
      .services(service.sid)
      .verificationChecks.create({ to, code });
    expect(check).toMatchObject({ status: 'approved', valid: true, to });
    await expectRecipientsSealed(host, created.sid, [to]);
  });

  it('a check answer validates against the spec', async () => {
    const service = await newService();
    const to = nextPhone();
    await client.verify.v2.services(service.sid).verifications.create({ to, channel: 'sms' });
    const code = codeIn(await smsTo(to));
    const raw = await rawFetch(`/v2/Services/${service.sid}/VerificationCheck`, {
      method: 'POST',
      headers: {
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ To: to, Code: code }).toString(),
    });
    expect(raw.status).toBe(200);
    const body = (await raw.json()) as Record<string, unknown>;
    expectSpec('verify.v2.service.verification_check', body);
    expect(body.status).toBe('approved');
  });

  it('after an approval, a create for the same number starts a new verification with a new code', async () => {
    const service = await newService();
    const to = nextPhone();
    const verifications = client.verify.v2.services(service.sid).verifications;
    const checks = client.verify.v2.services(service.sid).verificationChecks;
    const first = await verifications.create({ to, channel: 'sms' });
    expect((await checks.create({ to, code: codeIn(await smsTo(to, 1)) })).status).toBe('approved');
    const second = await verifications.create({ to, channel: 'sms' });
    expect(second.sid).not.toBe(first.sid);
    expect(second.sendCodeAttempts).toHaveLength(1);
    const code = codeIn(await smsTo(to, 2));
    expect((await checks.create({ to, code })).status).toBe('approved');
  });

  it('a second create for a pending number resends the same code on the same verification', async () => {
    const service = await newService();
    const to = nextPhone();
    const verifications = client.verify.v2.services(service.sid).verifications;
    const first = await verifications.create({ to, channel: 'sms' });
    const code = codeIn(await smsTo(to, 1));
    const again = await verifications.create({ to, channel: 'sms' });
    expect(again.sid).toBe(first.sid);
    expect(again.sendCodeAttempts).toHaveLength(2);
    expect(codeIn(await smsTo(to, 2))).toBe(code);
  });

  it('the sixth send of a verification answers 429 (60203)', async () => {
    const service = await newService();
    const to = nextPhone();
    const verifications = client.verify.v2.services(service.sid).verifications;
    for (let i = 0; i < 5; i++) await verifications.create({ to, channel: 'sms' });
    expect(await failure(verifications.create({ to, channel: 'sms' }))).toEqual({
      status: 429,
      code: 60203,
    });
  });

  it('20 concurrent wrong checks count at most 5 attempts; the 6th and later answer 429 (60202)', async () => {
    const { service, created, code } = await smsVerification();
    const wrong = code === '123456' ? '654321' : '123456';
    const checks = client.verify.v2.services(service.sid).verificationChecks;
    const outcomes = await concurrentChecks(checks, created.sid, wrong);
    expect(outcomes.filter((o) => o === 'pending')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 60202)).toHaveLength(15);
    // Exhausted: even the right code is refused now.
    expect(await failure(checks.create({ verificationSid: created.sid, code }))).toEqual({
      status: 429,
      code: 60202,
    });
    const fetched = await client.verify.v2.services(service.sid).verifications(created.sid).fetch();
    expect(fetched.status).toBe('max_attempts_reached');
  });

  it('20 concurrent right checks approve exactly once', async () => {
    const { service, created, code } = await smsVerification();
    const checks = client.verify.v2.services(service.sid).verificationChecks;
    const outcomes = await concurrentChecks(checks, created.sid, code);
    expect(outcomes.filter((o) => o === 'approved')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 20404)).toHaveLength(19);
  });

  it('Status=canceled ends it (then 20404); Status=approved approves it', async () => {
    const service = await newService();
    const verifications = client.verify.v2.services(service.sid).verifications;
    const to = nextPhone();
    const created = await verifications.create({ to, channel: 'sms' });
    const code = codeIn(await smsTo(to));
    const canceled = await client.verify.v2
      .services(service.sid)
      .verifications(created.sid)
      .update({ status: 'canceled' });
    expect(canceled.status).toBe('canceled');
    expect(
      await failure(client.verify.v2.services(service.sid).verificationChecks.create({ to, code })),
    ).toEqual({ status: 404, code: 20404 });
    expect(
      await failure(
        client.verify.v2
          .services(service.sid)
          .verifications(created.sid)
          .update({ status: 'approved' }),
      ),
    ).toEqual({ status: 404, code: 20404 });

    const other = await verifications.create({ to: nextPhone(), channel: 'sms' });
    const approved = await client.verify.v2
      .services(service.sid)
      .verifications(other.sid)
      .update({ status: 'approved' });
    expect(approved).toMatchObject({ status: 'approved', valid: true });
  });

  it('codes expire after 10 minutes: a check then answers 20404', async () => {
    const { service, created, code } = await smsVerification();
    clock.advance(601_000);
    await host.whenIdle();
    expect(
      await failure(
        client.verify.v2
          .services(service.sid)
          .verificationChecks.create({ verificationSid: created.sid, code }),
      ),
    ).toEqual({ status: 404, code: 20404 });
    const fetched = await client.verify.v2.services(service.sid).verifications(created.sid).fetch();
    expect(fetched.status).toBe('expired');
  });

  it('custom codes, PSD2 amount and payee, the do-not-share warning, locales', async () => {
    const service = await newService({
      friendlyName: 'Bank',
      customCodeEnabled: true,
      psd2Enabled: true,
      doNotShareWarningEnabled: true,
    });
    const verifications = client.verify.v2.services(service.sid).verifications;
    const to = nextPhone();
    const created = await verifications.create({
      to,
      channel: 'sms',
      customCode: '24680',
      amount: '€39.99',
      payee: 'Acme Inc.',
    });
    expect(created).toMatchObject({ amount: '€39.99', payee: 'Acme Inc.' });
    const body = await smsTo(to);
    expect(body).toBe(
      'Your Bank verification code is: 24680. Don’t share this code with anyone; our employees will never ask for the code.\nAmount: €39.99\nPayee: Acme Inc.',
    );
    const check = await client.verify.v2
      .services(service.sid)
      .verificationChecks.create({ to, code: '24680' });
    expect(check.status).toBe('approved');
    expect(await failure(verifications.create({ to: nextPhone(), channel: 'sms' }))).toEqual({
      status: 400,
      code: 60200,
    });

    const plain = await newService({ friendlyName: 'Tienda' });
    const spanish = nextPhone();
    await client.verify.v2
      .services(plain.sid)
      .verifications.create({ to: spanish, channel: 'sms', locale: 'es' });
    expect(await smsTo(spanish)).toMatch(/^Tu código de verificación de Tienda es: \d{6}$/);
    const french = '+33612345678';
    await client.verify.v2.services(plain.sid).verifications.create({ to: french, channel: 'sms' });
    expect(await smsTo(french)).toMatch(/^Votre code de vérification Tienda est : \d{6}$/);
  });

  it('verifies by call and by WhatsApp through the delivery layer (the emulator settings turn them on)', async () => {
    const service = await newService({ friendlyName: 'Acme' });
    const verifications = client.verify.v2.services(service.sid).verifications;
    const checks = client.verify.v2.services(service.sid).verificationChecks;

    const callee = nextPhone();
    const called = await verifications.create({ to: callee, channel: 'call', locale: 'fr' });
    expect(called).toMatchObject({ channel: 'call', status: 'pending' });
    await host.whenIdle();
    const call = twilioEmulator.voice.calls(callee).at(-1);
    expect(call?.spoken[0]?.language).toBe('fr-FR');
    const spoken = /(\d(?:, \d)+)\./.exec(call?.twiml ?? '')?.[1]?.replace(/, /g, '') ?? '';
    expect(spoken).toMatch(/^\d{6}$/);
    expect(await checks.create({ to: callee, code: spoken })).toMatchObject({
      status: 'approved',
      channel: 'call',
    });

    const reader = nextPhone();
    await verifications.create({ to: reader, channel: 'whatsapp' });
    await host.whenIdle();
    const message = twilioEmulator.lastMessage(`whatsapp:${reader}`);
    const code = /^(\d{6}) is your verification code/.exec(message?.body ?? '')?.[1] ?? '';
    expect(await checks.create({ to: reader, code })).toMatchObject({ status: 'approved' });
  });

  it('answers every documented error code', async () => {
    const service = await newService({ skipSmsToLandlines: true });
    const verifications = client.verify.v2.services(service.sid).verifications;
    const checks = client.verify.v2.services(service.sid).verificationChecks;
    // No ACS settings on this host: the email channel is off (ACS Email is its only provider).
    expect(await failure(verifications.create({ to: nextPhone(), channel: 'email' }))).toEqual({
      status: 400,
      code: 60223,
    });
    expect(await failure(verifications.create({ to: 'not a number', channel: 'sms' }))).toEqual({
      status: 400,
      code: 60200,
    });
    expect(
      await failure(verifications.create({ to: nextPhone(), channel: 'sms', customCode: '1234' })),
    ).toEqual({ status: 400, code: 60200 });
    // A London landline with SkipSmsToLandlines.
    expect(await failure(verifications.create({ to: '+442071838750', channel: 'sms' }))).toEqual({
      status: 403,
      code: 60205,
    });
    // Japan is not among the guard's allowed countries.
    expect(await failure(verifications.create({ to: '+819012345678', channel: 'sms' }))).toEqual({
      status: 403,
      code: 60605,
    });
    expect(await failure(checks.create({ code: '123456' }))).toEqual({ status: 400, code: 60221 });
    expect(
      await failure(checks.create({ verificationSid: `VE${'0'.repeat(32)}`, code: '123456' })),
    ).toEqual({ status: 404, code: 20404 });
    expect(await failure(checks.create({ to: nextPhone(), code: '123456' }))).toEqual({
      status: 404,
      code: 20404,
    });
    expect(
      await failure(
        client.verify.v2
          .services(`VA${'0'.repeat(32)}`)
          .verifications.create({ to: nextPhone(), channel: 'sms' }),
      ),
    ).toEqual({ status: 404, code: 20404 });

    // The guard's per-IP limit (3 an hour here) by the end user's DeviceIp: 429 20429 + Retry-After.
    for (let i = 0; i < 3; i++) {
      await verifications.create({ to: nextPhone(), channel: 'sms', deviceIp: '203.0.113.9' });
    }
    const limited = await rawFetch(`/v2/Services/${service.sid}/Verifications`, {
      method: 'POST',
      headers: {
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        To: nextPhone(),
        Channel: 'sms',
        DeviceIp: '203.0.113.9',
      }).toString(),
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ code: 20429, status: 429 });
  });
});

describe('Programmable rate limits', () => {
  /** The Verify table as the app writes it, for what the API does not show (cascades, hashing). */
  const verifyTable = () =>
    TableClient.fromConnectionString(stack.azurite.connectionString, 'VerifyApiTest', {
      allowInsecureConnection: true,
    });

  async function rawJson(
    route: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const raw = await rawFetch(route, {
      headers: { authorization: basic(ACCOUNT_SID, AUTH_TOKEN) },
    });
    return { status: raw.status, body: (await raw.json()) as Record<string, unknown> };
  }

  it('RateLimits: create, fetch, update, list in pages, delete, with the spec’s shape', async () => {
    const service = await newService();
    const rateLimits = client.verify.v2.services(service.sid).rateLimits;
    const created = await rateLimits.create({
      uniqueName: 'end_user_ip_address',
      description: 'IP',
    });
    expect(created.sid).toMatch(/^RK[0-9a-f]{32}$/);
    const url = `${host.url}/api/verify/v2/Services/${service.sid}/RateLimits/${created.sid}`;
    expect(created).toMatchObject({
      serviceSid: service.sid,
      accountSid: ACCOUNT_SID,
      uniqueName: 'end_user_ip_address',
      description: 'IP',
      url,
      links: { buckets: `${url}/Buckets` },
    });
    const fetched = await rawJson(`/v2/Services/${service.sid}/RateLimits/${created.sid}`);
    expect(fetched.status).toBe(200);
    expectSpec('verify.v2.service.rate_limit', fetched.body);
    expect(fetched.body.date_created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const updated = await rateLimits(created.sid).update({ description: 'End user IP' });
    expect(updated).toMatchObject({
      uniqueName: 'end_user_ip_address',
      description: 'End user IP',
    });
    expect((await rateLimits(created.sid).fetch()).description).toBe('End user IP');

    const second = await rateLimits.create({ uniqueName: 'user.id-v2' });
    expect(second.description).toBeNull();
    const first = await rateLimits.page({ pageSize: 1 });
    expect(first.instances.map((r) => r.sid)).toEqual([created.sid]);
    expect(first.nextPageUrl).toContain('PageToken=');
    const next = await first.nextPage();
    expect(next!.instances.map((r) => r.sid)).toEqual([second.sid]);
    const listed = await rawJson(`/v2/Services/${service.sid}/RateLimits?PageSize=10`);
    expect(listed.body.meta).toMatchObject({ key: 'rate_limits', page: 0, page_size: 10 });
    for (const item of listed.body.rate_limits as unknown[]) {
      expectSpec('verify.v2.service.rate_limit', item);
    }
    expect((await rateLimits.list()).map((r) => r.uniqueName)).toEqual([
      'end_user_ip_address',
      'user.id-v2',
    ]);

    expect(await rateLimits(second.sid).remove()).toBe(true);
    expect(await failure(rateLimits(second.sid).fetch())).toEqual({ status: 404, code: 20404 });
    expect(await failure(rateLimits(second.sid).remove())).toEqual({ status: 404, code: 20404 });
    expect(
      await failure(
        client.verify.v2.services(`VA${'0'.repeat(32)}`).rateLimits.create({ uniqueName: 'x' }),
      ),
    ).toEqual({ status: 404, code: 20404 });
  });

  it('Buckets: create, fetch, update, list, delete, with the spec’s shape', async () => {
    const service = await newService();
    const rateLimit = await client.verify.v2
      .services(service.sid)
      .rateLimits.create({ uniqueName: 'session' });
    const buckets = client.verify.v2.services(service.sid).rateLimits(rateLimit.sid).buckets;
    const minute = await buckets.create({ max: 2, interval: 60 });
    expect(minute.sid).toMatch(/^BL[0-9a-f]{32}$/);
    expect(minute).toMatchObject({
      rateLimitSid: rateLimit.sid,
      serviceSid: service.sid,
      accountSid: ACCOUNT_SID,
      max: 2,
      interval: 60,
      url: `${rateLimit.url}/Buckets/${minute.sid}`,
    });
    const fetched = await rawJson(
      `/v2/Services/${service.sid}/RateLimits/${rateLimit.sid}/Buckets/${minute.sid}`,
    );
    expectSpec('verify.v2.service.rate_limit.bucket', fetched.body);
    const day = await buckets.create({ max: 10, interval: 86_400 });
    expect(await buckets(minute.sid).update({ max: 3 })).toMatchObject({ max: 3, interval: 60 });
    expect((await buckets(minute.sid).fetch()).max).toBe(3);
    const listed = await rawJson(
      `/v2/Services/${service.sid}/RateLimits/${rateLimit.sid}/Buckets?PageSize=1`,
    );
    expect(listed.body.meta).toMatchObject({ key: 'buckets', page_size: 1 });
    expect(listed.body.meta).toHaveProperty('next_page_url', expect.stringContaining('PageToken='));
    for (const item of listed.body.buckets as unknown[]) {
      expectSpec('verify.v2.service.rate_limit.bucket', item);
    }
    expect((await buckets.list()).map((b) => b.sid)).toEqual([minute.sid, day.sid]);
    expect(await buckets(day.sid).remove()).toBe(true);
    expect(await failure(buckets(day.sid).fetch())).toEqual({ status: 404, code: 20404 });
    expect((await buckets.list()).map((b) => b.sid)).toEqual([minute.sid]);
  });

  it('refuses as Twilio does: 60209, 60208, 60207, 60210, 60211 and 60200 in Twilio’s shape', async () => {
    const service = await newService();
    const rateLimits = client.verify.v2.services(service.sid).rateLimits;
    expect(await failure(rateLimits.create({ uniqueName: 'end user ip' }))).toEqual({
      status: 400,
      code: 60209,
    });
    const created = await rateLimits.create({ uniqueName: 'ip' });
    expect(await failure(rateLimits.create({ uniqueName: 'ip' }))).toEqual({
      status: 400,
      code: 60208,
    });
    for (let i = 1; i < 10; i++) await rateLimits.create({ uniqueName: `key${i}` });
    expect(await failure(rateLimits.create({ uniqueName: 'eleventh' }))).toEqual({
      status: 400,
      code: 60207,
    });
    const buckets = rateLimits(created.sid).buckets;
    const first = await buckets.create({ max: 1, interval: 1 });
    expect(await failure(buckets.create({ max: 5, interval: 1 }))).toEqual({
      status: 400,
      code: 60211,
    });
    for (let i = 2; i <= 10; i++) await buckets.create({ max: 5, interval: i });
    expect(await failure(buckets.create({ max: 5, interval: 11 }))).toEqual({
      status: 400,
      code: 60210,
    });
    expect(await failure(buckets(first.sid).update({ interval: 2 }))).toEqual({
      status: 400,
      code: 60211,
    });
    expect(await failure(buckets(first.sid).update({ max: 0 }))).toEqual({
      status: 400,
      code: 60200,
    });
    const raw = await rawFetch(`/v2/Services/${service.sid}/RateLimits/${created.sid}/Buckets`, {
      method: 'POST',
      headers: {
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'Max=2&Interval=-5',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({
      code: 60200,
      message: 'Invalid parameter: Interval must be a positive integer',
      more_info: 'https://www.twilio.com/docs/errors/60200',
      status: 400,
    });
  });

  it('a bucket of Max 2 in 60 s serves two sends of a value, answers 20429 to the third and sends nothing, while another value is served', async () => {
    const service = await newService();
    const rateLimit = await client.verify.v2
      .services(service.sid)
      .rateLimits.create({ uniqueName: 'end_user_ip_address' });
    await client.verify.v2
      .services(service.sid)
      .rateLimits(rateLimit.sid)
      .buckets.create({ max: 2, interval: 60 });
    const verifications = client.verify.v2.services(service.sid).verifications;
    const from = (ip: string) => ({ end_user_ip_address: ip });
    for (let i = 0; i < 2; i++) {
      const to = nextPhone();
      await verifications.create({ to, channel: 'sms', rateLimits: from('203.0.113.7') });
      await smsTo(to);
    }
    const refusedTo = nextPhone();
    const refused = await rawFetch(`/v2/Services/${service.sid}/Verifications`, {
      method: 'POST',
      headers: {
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        To: refusedTo,
        Channel: 'sms',
        RateLimits: JSON.stringify(from('203.0.113.7')),
      }).toString(),
    });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.json()).toMatchObject({ code: 20429, status: 429 });
    expect(
      await failure(
        verifications.create({ to: nextPhone(), channel: 'sms', rateLimits: from('203.0.113.7') }),
      ),
    ).toEqual({ status: 429, code: 20429 });
    await host.whenIdle();
    expect(twilioEmulator.messages().filter((m) => m.to === refusedTo)).toEqual([]);

    const other = nextPhone();
    await verifications.create({ to: other, channel: 'sms', rateLimits: from('198.51.100.4') });
    expect(codeIn(await smsTo(other))).toMatch(/^\d{6}$/);
    // A rate limit the request does not name is not applied; a name the service lacks is refused.
    await verifications.create({ to: nextPhone(), channel: 'sms' });
    expect(
      await failure(
        verifications.create({ to: nextPhone(), channel: 'sms', rateLimits: { nope: '1' } }),
      ),
    ).toEqual({ status: 400, code: 60200 });

    // The value is at rest only as an HMAC.
    const rows: unknown[] = [];
    for await (const row of verifyTable().listEntities({
      queryOptions: { filter: "PartitionKey eq 'ratelimit-counter'" },
    })) {
      rows.push(row);
    }
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(rows)).not.toContain('203.0.113.7');
    expect(JSON.stringify(rows)).not.toContain('198.51.100.4');
  });

  it('deleting a rate limit or its service removes what hangs under it', async () => {
    const service = await newService();
    const rateLimits = client.verify.v2.services(service.sid).rateLimits;
    const kept = await rateLimits.create({ uniqueName: 'kept' });
    const gone = await rateLimits.create({ uniqueName: 'gone' });
    const bucket = await rateLimits(gone.sid).buckets.create({ max: 1, interval: 60 });
    expect(await rateLimits(gone.sid).remove()).toBe(true);
    expect(await failure(rateLimits(gone.sid).buckets(bucket.sid).fetch())).toEqual({
      status: 404,
      code: 20404,
    });
    expect(await failure(rateLimits(gone.sid).buckets.list())).toEqual({
      status: 404,
      code: 20404,
    });
    // Its name is free again, with no bucket: nothing limits it.
    const again = await rateLimits.create({ uniqueName: 'gone' });
    expect((await rateLimits(again.sid).buckets.list()).length).toBe(0);

    const table = verifyTable();
    expect((await table.getEntity('ratelimits', service.sid)).rateLimits).toContain(kept.sid);
    expect(await client.verify.v2.services(service.sid).remove()).toBe(true);
    await expect(table.getEntity('ratelimits', service.sid)).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(await failure(rateLimits(kept.sid).fetch())).toEqual({ status: 404, code: 20404 });
  });
});
