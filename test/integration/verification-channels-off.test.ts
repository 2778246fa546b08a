/**
 * A deployment without channel settings (Twilio's account only, SMS switched off): every channel is refused
 * with a clear 400 before anything is started or sent. On the local runtime with a manual clock; needs the
 * built app (`npm run build`, run by `pretest`).
 */
import { ManualClock, type LocalHost } from '@local/durable-runtime';
import { startAppWithTwilio, type TwilioAppStack } from '../helpers/app-with-twilio';

describe('a deployment without channel settings', () => {
  let stack: TwilioAppStack;
  let host: LocalHost;

  beforeAll(async () => {
    stack = await startAppWithTwilio(
      'channels-off',
      (twilio) => {
        const { TwilioAccountSid, TwilioAuthToken, TwilioPhoneNumber, TwilioApiBaseUrl } =
          twilio.appSettings();
        return {
          // Twilio's account only: no voice, WhatsApp or ACS settings, and SMS switched off.
          TwilioAccountSid: TwilioAccountSid!,
          TwilioAuthToken: TwilioAuthToken!,
          TwilioPhoneNumber: TwilioPhoneNumber!,
          TwilioApiBaseUrl: TwilioApiBaseUrl!,
          DELIVERY_SMS_PROVIDERS: 'none',
          VERIFICATION_CODE_SECRET: 'channels-off-secret',
          VERIFICATION_LIMIT_TABLE_NAME: 'ChannelsOffLimits',
        };
      },
      new ManualClock(),
    );
    host = stack.host;
  });
  afterAll(() => stack.stop());

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
    expect(stack.twilio.messages()).toEqual([]);
    expect(stack.twilio.voice.calls()).toEqual([]);
  });
});
