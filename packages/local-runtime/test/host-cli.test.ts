/**
 * The CLI behind `npm start`, as a child process on the built app (`pretest` builds it): banner, keys, data
 * location, clean shutdown on Ctrl+C, usage errors.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalHostProcess } from '../src/index';

jest.setTimeout(60_000);

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');

let dataDir: string;
beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'host-cli-'));
});
afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const settings = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  TwilioAccountSid: 'AC0123456789abcdef0123456789abcdef',
  TwilioAuthToken: 'cli-test-token',
  TwilioPhoneNumber: '+15005550006',
  TwilioApiBaseUrl: 'http://127.0.0.1:9',
  COMMUNICATION_SERVICES_CONNECTION_STRING:
    'endpoint=http://127.0.0.1:9/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0',
  VERIFICATION_CODE_SECRET: 'cli-test-secret-cli-test-secret',
};

it('prints every function with methods and URL, the data location and the keys; Ctrl+C stops cleanly', async () => {
  const host = await startLocalHostProcess({
    appDir: repoRoot,
    dataDir,
    settingsFile: false,
    emulators: false,
    settings,
  });
  const banner = host.output();
  expect(banner).toContain(`httpStart: [POST] ${host.url}/api/orchestrators/{orchestratorName}`);
  expect(banner).toContain(
    `submitVerificationCode: [POST] ${host.url}/api/verifications/{id}/code`,
  );
  expect(banner).toMatch(
    /createAcsIdentity: \[POST\] .*\/api\/acs\/identities \(authLevel function\)/,
  );
  expect(banner).toContain('SmsPhoneVerification: orchestrationTrigger');
  expect(banner).toContain('SendSmsChallenge: activityTrigger');
  expect(banner).toContain(`Data: ${dataDir} (database ${path.join(dataDir, 'durable.sqlite')}`);
  expect(banner).toContain(`function (default): ${host.keys.functionKey}`);
  expect(banner).toContain(`master:             ${host.keys.masterKey}`);
  // No emulators were asked for: the banner does not claim any.
  expect(banner).not.toContain('Embedded defaults');
  // Secrets from the settings are not printed.
  expect(banner).not.toContain('cli-test-token');
  expect(banner).not.toContain('cli-test-secret');

  const status = await fetch(`${host.url}/admin/host/status`, {
    headers: { 'x-functions-key': host.keys.masterKey },
  });
  expect(status.status).toBe(200);

  host.kill('SIGINT');
  expect(await host.exited).toBe(0);
  expect(host.output()).toContain('Stopped.');
  expect(fs.existsSync(path.join(dataDir, 'durable.sqlite'))).toBe(true);
});

it('rejects bad options with a usage message and exit code 2', () => {
  const result = spawnSync(process.execPath, [cli, '--port', 'seventy'], { encoding: 'utf8' });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('--port must be 0..65535');
  expect(result.stderr).toContain('Usage:');
});

it('fails to start with a clear message when the app has no entry files', () => {
  const emptyApp = path.join(dataDir, 'app');
  fs.mkdirSync(emptyApp);
  fs.writeFileSync(path.join(emptyApp, 'package.json'), JSON.stringify({ main: 'dist/*.js' }));
  const result = spawnSync(
    process.execPath,
    [cli, '--app', emptyApp, '--port', '0', '--emulators', 'never'],
    { encoding: 'utf8' },
  );
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('No entry file matches "main": "dist/*.js"');
});
