/**
 * The local runtime's dashboard in a real browser: headless Chromium (Debian's `chromium` package) driven by
 * playwright-core, against the local runtime with the embedded emulators. One verification goes through the
 * whole page flow: list → instance → its SMS on the local-services page → raise the code → Completed → purge.
 * Then entities and rewind on the entities fixture app in a child host.
 * Screenshots of each page land in `test-artifacts/` (git-ignored). Run with `npm run test:browser`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TwilioEmulator } from '@local/emulators';
import {
  startLocalHostProcess,
  type LocalHost,
  type LocalHostProcess,
} from '@local/durable-runtime';
import { startAppWithEmulators, type AppStack } from '../helpers/app-on-local-runtime';

const repoRoot = path.resolve(__dirname, '..', '..');
const artifacts = path.join(repoRoot, 'test-artifacts');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PHONE = '+14255550177';

let stack: AppStack;
let host: LocalHost;
let browser: Browser;
let page: Page;
let twilio: TwilioEmulator;
/** The codes of the call and the email (the call's as spoken: "1, 2, 3, 4, 5, 6"). */
const otherCodes: string[] = [];
/** Every dashboard API body the browser received, to prove no key reached it. */
const apiBodies: string[] = [];

async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });
}

beforeAll(async () => {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}: the browser tests need Debian's chromium package ` +
        '(apt-get update && apt-get install -y chromium), or CHROMIUM_PATH pointing at a Chromium binary.',
    );
  }
  fs.mkdirSync(artifacts, { recursive: true });
  stack = await startAppWithEmulators('dashboard-browser');
  ({ host, twilio } = stack);
  // Running as root (CI containers) needs --no-sandbox.
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('response', (response) => {
    if (response.url().includes('/_dashboard/api/')) {
      response.text().then(
        (t) => apiBodies.push(t),
        () => undefined,
      );
    }
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

function pageUrl(hash = ''): string {
  // `localhost`, as a developer would open it (the banner prints it so).
  return `${host.url.replace('127.0.0.1', 'localhost')}/_dashboard${hash}`;
}

describe('the dashboard in Chromium', () => {
  let instanceId: string;
  let sendEventPostUri: string;
  let code: string;

  it('lists a new verification with counts per status', async () => {
    const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
      method: 'POST',
      body: JSON.stringify(PHONE),
    });
    expect(response.status).toBe(202);
    ({ id: instanceId, sendEventPostUri } = (await response.json()) as {
      id: string;
      sendEventPostUri: string;
    });
    await host.whenIdle();
    code = /(\d{6})/.exec(twilio.lastMessage(PHONE)!.body)![1]!;

    await page.goto(pageUrl());
    const row = page.locator(`tr[data-instance-id="${instanceId}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('SmsPhoneVerification');
    expect(await row.locator('.status').textContent()).toBe('Running');
    expect(await page.locator('#counts li[data-status="Running"]').textContent()).toBe(
      'Running: 1',
    );
    await shot('dashboard-instances');
  });

  it('filters by status and by instance id prefix', async () => {
    await page.getByLabel('Completed', { exact: true }).first().check();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No instances match.').waitFor();
    await page.getByLabel('Completed', { exact: true }).first().uncheck();
    await page.getByLabel('Instance id prefix').fill(instanceId.slice(0, 6));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator(`tr[data-instance-id="${instanceId}"]`).waitFor();
  });

  it('opens the instance: status, input without the phone number, timeline and history', async () => {
    await page.getByRole('link', { name: instanceId }).click();
    await page.locator('#runtime-status').getByText('Running').waitFor();
    await page.locator('.timeline li[data-kind="activity"]').first().waitFor();
    expect(await page.locator('.timeline li[data-kind="timer"]').count()).toBe(1);
    expect(await page.locator('table').textContent()).toContain('TaskCompleted');
    const text = await page.locator('main').textContent();
    expect(text).toContain('awaiting_code');
    expect(text).toContain('0177');
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain(code);
    await shot('dashboard-instance-running');
  });

  it('shows the SMS on the local-services page, code masked, linked to its instance', async () => {
    await page.getByRole('link', { name: 'Local services' }).click();
    const row = page.locator('#sms tbody tr').first();
    await row.waitFor();
    expect(await row.getByRole('link').textContent()).toBe(instanceId);
    expect(await row.locator('td').nth(2).textContent()).toBe('Your verification code is ••••••');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toContain(code);
    expect(text).not.toContain(PHONE);
    expect(await page.locator('#health li').count()).toBe(3);
    expect(await page.locator('#health').textContent()).not.toContain('down');
    await shot('dashboard-local-services');
  });

  it('shows the call and the email on their own tables, their codes masked', async () => {
    const spokenPhone = '+14255550178';
    const ids: string[] = [];
    const email = 'grace.hopper@example.com';
    for (const body of [
      { phoneNumber: spokenPhone, channel: 'call' },
      { phoneNumber: '+14255550179', channel: 'email', email },
    ]) {
      const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { id: string }).id);
    }
    await host.whenIdle();
    const spoken = twilio.voice.calls(spokenPhone).at(-1)?.spoken[0]?.text ?? '';
    otherCodes.push(
      /\d(, \d){5}/.exec(spoken)![0],
      /\d{6}/.exec(stack.acs.email.emails(email)[0]!.plainText!)![0],
    );
    await page.reload();
    await page.locator('#calls tbody tr').first().waitFor();
    expect(await page.locator('#calls tbody tr td').nth(2).textContent()).toMatch(
      /^Your verification code is •, •, •, •, •, •\./,
    );
    expect(await page.locator('#emails tbody tr td').nth(1).textContent()).not.toContain(email);
    expect(await page.locator('#emails tbody tr td').nth(2).textContent()).toMatch(/••••••/);
    const text = (await page.locator('main').textContent()) ?? '';
    for (const secret of [...otherCodes, spokenPhone, email]) expect(text).not.toContain(secret);
    await shot('dashboard-local-services-outboxes');
    // Gone again, so the purge below leaves the instance list empty.
    for (const id of ids) {
      const instance = `${host.url}/runtime/webhooks/durabletask/instances/${id}`;
      const key = `code=${host.keys.systemKey}`;
      await fetch(`${instance}/terminate?reason=done&${key}`, { method: 'POST' });
      await host.whenIdle();
      expect((await fetch(`${instance}?${key}`, { method: 'DELETE' })).status).toBe(200);
    }
  });

  it('arms the Twilio Messages fault switch from its form, shows it, and clears it', async () => {
    const row = page.locator('#faults tr[data-id="twilio-messages"]');
    await row.waitFor();
    expect(await row.locator('.fault-state').textContent()).toBe('off: sends go through');
    const form = row.getByRole('form', { name: /Arm the fault switch of Twilio Messages/ });
    await form.locator('input[name=count]').fill('2');
    await form.locator('input[name=status]').fill('503');
    await form.getByRole('button', { name: 'Arm' }).click();
    await row.locator('.fault-state', { hasText: 'next 2 sends fail with 503' }).waitFor();
    await shot('dashboard-fault-switches');
    // Read back through the services API, as the page's refresh reads it: the emulator holds it.
    const services = (await (await fetch(`${host.url}/_dashboard/api/services`)).json()) as {
      faultSwitches: { id: string; armed: unknown }[];
    };
    expect(services.faultSwitches.find((f) => f.id === 'twilio-messages')?.armed).toEqual([
      { remaining: 2, hang: false, status: 503 },
    ]);
    await form.getByRole('button', { name: 'Clear' }).click();
    await row.locator('.fault-state', { hasText: 'off: sends go through' }).waitFor();
  });

  it('raises an event from the instance page (with a confirmation), then watches the link answer complete it', async () => {
    await page.locator('#sms tbody tr').first().getByRole('link').click();
    await page.locator('#runtime-status').getByText('Running').waitFor();
    await page.getByLabel('Event name').fill('SmsChallengeResponse');
    await page.getByLabel('Event data (JSON)').fill(JSON.stringify(code));
    await page.getByRole('button', { name: 'Raise event…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(instanceId);
    await shot('dashboard-confirm-raise');
    await dialog.getByRole('button', { name: 'Raise SmsChallengeResponse' }).click();
    await host.whenIdle();
    // A raw code raised through the management API carries no sealed receipt time: the app's
    // orchestrator counts it as a wrong attempt (only its own links can answer), and the page shows it.
    await page.getByText('"attemptsRemaining": 3').waitFor({ timeout: 15_000 });
    expect(await page.locator('#runtime-status').textContent()).toContain('Running');
    // The user's answer through the verification's own link; the page refreshes by itself.
    const answer = await fetch(sendEventPostUri.replace('{eventName}', 'SmsChallengeResponse'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(code),
    });
    expect(answer.status).toBe(202);
    await host.whenIdle();
    await page.locator('#runtime-status').getByText('Completed').waitFor({ timeout: 15_000 });
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('verified');
    expect(text).toContain('EventRaised');
    // Neither the raw code raised from the page nor the sealed answer shows its digits.
    expect(text).not.toContain(code);
    await shot('dashboard-instance-completed');
  });

  it('cancels with Escape (keyboard), then purges the instance after a confirmation', async () => {
    await page.getByRole('button', { name: 'Purge…' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await page.locator('#runtime-status').getByText('Completed').waitFor();
    await page.getByRole('button', { name: 'Purge…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Purge' }).click();
    await page.waitForURL(/#\/instances$/);
    await page
      .getByText('No instances match.')
      .or(page.getByText('No instances', { exact: true }))
      .first()
      .waitFor();
    expect(await page.locator(`tr[data-instance-id="${instanceId}"]`).count()).toBe(0);
    const status = await fetch(
      `${host.url}/runtime/webhooks/durabletask/instances/${instanceId}?code=${host.keys.systemKey}`,
    );
    expect(status.status).toBe(404);
  });

  it('lists no entities for the app, which has none', async () => {
    await page.getByRole('link', { name: 'Entities' }).click();
    expect(await page.locator('#entities-none').textContent()).toBe('No entities yet.');
  });

  it('never sent a key to the browser', () => {
    expect(apiBodies.length).toBeGreaterThan(5);
    const all = apiBodies.join('\n');
    for (const key of [host.keys.systemKey, host.keys.masterKey, host.keys.functionKey]) {
      expect(all).not.toContain(key);
    }
    expect(all).not.toContain(code);
    for (const other of otherCodes) expect(all).not.toContain(other);
    expect(all).not.toContain(PHONE);
  });

  it('renders the API reference page (/api/docs)', async () => {
    await page.goto(`${host.url}/api/docs`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(
      'SMS verification and ACS token API',
    );
    expect(await page.locator('section.op').count()).toBeGreaterThan(10);
    // The reference is long: the first screen is enough to see it render.
    await shot('api-docs', false);
  });
});

/**
 * Entities and rewind need an app that has them: the entities fixture app (a counter, accounts, an
 * orchestration whose activity fails once) in a child host, since one process loads one app.
 */
describe('entities and rewind in Chromium (fixtures/entities-app in a child host)', () => {
  let child: LocalHostProcess;
  let dataDir: string;
  let failedId: string;
  const hook = (): string => `${child.url}/runtime/webhooks/durabletask`;
  const code = (): string => `code=${encodeURIComponent(child.keys.systemKey)}`;

  async function signal(name: string, key: string, op: string, input: unknown): Promise<void> {
    const response = await fetch(`${hook()}/entities/${name}/${key}?op=${op}&${code()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    expect(response.status).toBe(202);
  }

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-entities-'));
    child = await startLocalHostProcess({
      appDir: path.join(repoRoot, 'packages', 'local-runtime', 'test', 'fixtures', 'entities-app'),
      clock: 'manual',
      dataDir,
      databasePath: ':memory:',
      settingsFile: false,
      emulators: false,
      settings: { FUNCTIONS_WORKER_RUNTIME: 'node' },
      nodeArgs: [
        '-r',
        path.join(repoRoot, 'packages', 'local-runtime', 'test', 'ts-fixture-loader.cjs'),
      ],
    });
    await signal('Counter', 'c1', 'add', 5);
    await signal('Counter', 'c1', 'add', 2);
    await signal('Counter', 'c2', 'add', 1);
    await signal('Account', 'alice', 'deposit', 40);
    const started = await fetch(`${hook()}/orchestrators/failsOnce?${code()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify('browser'),
    });
    expect(started.status).toBe(202);
    failedId = ((await started.json()) as { id: string }).id;
    await child.whenIdle();
  }, 60_000);

  afterAll(async () => {
    await child?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const childPage = (hash: string): string =>
    `${child.url.replace('127.0.0.1', 'localhost')}/_dashboard${hash}`;

  it('lists the entities, filters them by name and opens one (keyboard) to see its state', async () => {
    await page.goto(childPage('#/entities'));
    await page.locator('#entities tbody tr').first().waitFor();
    expect(await page.locator('#entities tbody tr').count()).toBe(3);
    await page.getByLabel('Entity name').fill('Counter');
    await page.getByLabel('Entity name').press('Enter');
    await page.locator('#entities tbody tr').nth(2).waitFor({ state: 'detached' });
    const rows = await Promise.all(
      (await page.locator('#entities tbody tr').all()).map((tr) => tr.getAttribute('data-entity')),
    );
    expect(rows.sort()).toEqual(['counter@c1', 'counter@c2']);
    await shot('dashboard-entities');
    await page.getByRole('link', { name: 'c1', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Entity counter@c1' }).waitFor();
    expect(await page.locator('#entity-state').textContent()).toBe('7');
    await shot('dashboard-entity');
    const bodies = apiBodies.join('\n');
    for (const key of Object.values(child.keys)) expect(bodies).not.toContain(key);
  });

  it('rewinds the Failed instance from its page, then refuses a second rewind with a clear 410 message', async () => {
    await page.goto(childPage(`#/instances/${encodeURIComponent(failedId)}`));
    await page.locator('#runtime-status').getByText('Failed').waitFor();
    await page.getByRole('button', { name: 'Rewind' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rewind' }).click();
    await page.locator('#action-result').getByText('Rewind: done.').waitFor();
    await child.whenIdle();
    await page.locator('#runtime-status').getByText('Completed').waitFor({ timeout: 15_000 });
    expect(await page.locator('main').textContent()).toContain('done browser');

    await page.getByRole('button', { name: 'Rewind' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rewind' }).click();
    const refusal = page.locator('#action-result [role="alert"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(
      /^Rewind failed: only a Failed instance can be rewound\. .*Completed/,
    );
    await shot('dashboard-rewind-refused');
  });
});
