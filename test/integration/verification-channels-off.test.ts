/**
 * A deployment without channel settings (Twilio's account only, SMS switched off): every channel is refused
 * with a clear 400 before anything is started or sent. On the local runtime with a manual clock; needs the
 * built app (`npm run build`, run by `pretest`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTwilioEmulator, type TwilioEmulator } from '@local/emulators';
import { ManualClock, startLocalHost, type LocalHost } from '@local/durable-runtime';
import { startTestAzurite, type AzuriteTable } from '../helpers/azurite';

describe('a deployment without channel settings', () => {
  let twilio: TwilioEmulator;
  let azurite: AzuriteTable;
  let host: LocalHost;
  let dataDir: string;

  beforeAll(async () => {
    twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
    azurite = await startTestAzurite();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'channels-off-'));
    const { TwilioAccountSid, TwilioAuthToken, TwilioPhoneNumber, TwilioApiBaseUrl } =
      twilio.appSettings();
    host = await startLocalHost({
      appDir: path.resolve(__dirname, '..', '..'),
      settingsFile: false,
      dataDir,
      databasePath: ':memory:',
      clock: new ManualClock(),
      settings: {
        FUNCTIONS_WORKER_RUNTIME: 'node',
        AzureWebJobsStorage: azurite.connectionString,
        // Twilio's account only: no voice, WhatsApp or ACS settings, and SMS switched off.
        TwilioAccountSid: TwilioAccountSid!,
        TwilioAuthToken: TwilioAuthToken!,
        TwilioPhoneNumber: TwilioPhoneNumber!,
        TwilioApiBaseUrl: TwilioApiBaseUrl!,
        DELIVERY_SMS_PROVIDERS: 'none',
        VERIFICATION_CODE_SECRET: 'channels-off-secret',
        VERIFICATION_LIMIT_TABLE_NAME: 'ChannelsOffLimits',
      },
    });
  });
  afterAll(async () => {
    await host.stop();
    await twilio.close();
    await azurite.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses every channel with a 400 problem naming it, and starts nothing', async () => {
    for (const channel of ['sms', 'call', 'whatsapp', 'email']) {
      const response = await fetch(`${host.url}/api/orchestrators/SmsPhoneVerification`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          phoneNumber: '+14255550100',
          channel,
          ...(channel === 'email' ? { email: 'a@example.com' } : {}),
        }),
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({
        errors: [
          {
            field: 'channel',
            message: `${channel} is not configured on this deployment (available: none)`,
          },
        ],
      });
    }
    await host.whenIdle();
    expect(twilio.messages()).toEqual([]);
    expect(twilio.voice.calls()).toEqual([]);
  });
});
