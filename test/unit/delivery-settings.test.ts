import { ConfigError } from '../../src/errors';
import { enabledChannels, loadDeliverySettings } from '../../src/delivery/settings';
import { validEnv } from './helpers/env';

const CONTENT_SID = `HX${'0'.repeat(31)}1`;

function problems(env: Record<string, string | undefined>): Record<string, string> {
  try {
    loadDeliverySettings(env);
  } catch (error: unknown) {
    if (error instanceof ConfigError)
      return Object.fromEntries(error.problems.map((p) => [p.field, p.message]));
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadDeliverySettings', () => {
  it('turns each channel on by its sender settings', () => {
    const settings = loadDeliverySettings(
      validEnv({
        TwilioVoiceFrom: '+15005550006',
        TwilioWhatsAppFrom: '+14155238886',
        TwilioWhatsAppContentSid: CONTENT_SID,
        COMMUNICATION_SERVICES_SMS_FROM: 'Contoso',
        COMMUNICATION_SERVICES_EMAIL_SENDER: 'DoNotReply@contoso.azurecomm.net',
      }),
    );
    expect(settings).toMatchObject({
      call: { from: '+15005550006', keyPress: false },
      whatsApp: { from: '+14155238886', contentSid: CONTENT_SID },
      acsSms: { from: 'Contoso' },
      email: { sender: 'DoNotReply@contoso.azurecomm.net' },
      smsProviders: ['twilio', 'acs'],
    });
    expect(enabledChannels(settings)).toEqual(['sms', 'call', 'whatsapp', 'email']);
    expect(enabledChannels(loadDeliverySettings(validEnv()))).toEqual(['sms']);
  });

  it('names every sender of the wrong form, and every sender whose service is missing', () => {
    expect(
      problems(
        validEnv({
          TwilioVoiceFrom: '5550006',
          DELIVERY_CALL_KEY_PRESS: 'yes',
          COMMUNICATION_SERVICES_SMS_FROM: '+1 (555) 0100',
          COMMUNICATION_SERVICES_EMAIL_SENDER: 'not an address',
        }),
      ),
    ).toEqual({
      TwilioVoiceFrom: 'must be an E.164 number',
      DELIVERY_CALL_KEY_PRESS: 'must be true or false',
      COMMUNICATION_SERVICES_SMS_FROM: 'must be an E.164 number or an alphanumeric sender id',
      COMMUNICATION_SERVICES_EMAIL_SENDER: 'must be an email address',
    });
    expect(
      problems({
        TwilioVoiceFrom: '+15005550006',
        COMMUNICATION_SERVICES_EMAIL_SENDER: 'DoNotReply@contoso.azurecomm.net',
      }),
    ).toEqual({
      TwilioVoiceFrom:
        'needs valid Twilio settings (TwilioAccountSid, TwilioAuthToken, TwilioPhoneNumber)',
      COMMUNICATION_SERVICES_EMAIL_SENDER:
        'needs valid ACS settings (COMMUNICATION_SERVICES_CONNECTION_STRING or _ENDPOINT)',
    });
  });
});
