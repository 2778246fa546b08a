import { createDelivery, type DeliverySenders } from '../../src/delivery/delivery';
import type { SmsText } from '../../src/delivery/acs-channels';
import type { RenderedSms } from '../../src/delivery/channels';
import { UpstreamError } from '../../src/errors';

/**
 * A caller's own SMS text (the Verify API's) travels the providers in order, with its re-run identity, and
 * fails over with the same text; without one, the locale's template renders the code.
 */

function senders(twilioFails: boolean): { senders: DeliverySenders; sent: [string, SmsText][] } {
  const sent: [string, SmsText][] = [];
  return {
    sent,
    senders: {
      sms: [
        {
          name: 'twilio',
          sender: {
            send: (m: SmsText) => {
              sent.push(['twilio', m]);
              return twilioFails
                ? Promise.reject(new UpstreamError('twilio', 'Twilio is down.', 503))
                : Promise.resolve({ id: 'SM1' });
            },
          },
        },
        {
          name: 'acs',
          sender: {
            send: (m: SmsText) => {
              sent.push(['acs', m]);
              return Promise.resolve({ id: 'acs-1' });
            },
          },
        },
      ],
      call: undefined,
      whatsapp: undefined,
      email: undefined,
      smsText: (code) => `template ${code}`,
    },
  };
}

/** Delivers code 123456 by SMS to +14255550100 with the caller's own text, Twilio first, then ACS. */
async function deliverRendered(rendered: RenderedSms, { twilioFails = false } = {}) {
  const { senders: s, sent } = senders(twilioFails);
  const receipt = await createDelivery(s).deliver({
    channel: 'sms',
    to: '+14255550100',
    code: '123456',
    locale: undefined,
    rendered,
  });
  return { receipt, sent };
}

describe('delivery: a pre-rendered SMS', () => {
  it('hands the caller’s body and re-run identity to the provider instead of the template', async () => {
    const { receipt, sent } = await deliverRendered({
      body: 'Your Acme verification code is: 123456',
      occurrence: 2,
      deduplicate: false,
    });
    expect(receipt).toMatchObject({ provider: 'twilio', id: 'SM1', failedOver: [] });
    expect(sent).toEqual([
      [
        'twilio',
        {
          to: '+14255550100',
          body: 'Your Acme verification code is: 123456',
          occurrence: 2,
          deduplicate: false,
        },
      ],
    ]);
  });

  it('fails over with the same text', async () => {
    const { receipt, sent } = await deliverRendered(
      { body: 'Acme: 123456', occurrence: 1 },
      { twilioFails: true },
    );
    expect(receipt).toMatchObject({ provider: 'acs', failedOver: ['twilio'] });
    expect(sent.map(([name, m]) => [name, m.body, m.occurrence])).toEqual([
      ['twilio', 'Acme: 123456', 1],
      ['acs', 'Acme: 123456', 1],
    ]);
  });

  it('renders the locale’s template when the caller rendered nothing', async () => {
    const { senders: s, sent } = senders(false);
    await createDelivery(s).deliver({
      channel: 'sms',
      to: '+1',
      code: '654321',
      locale: undefined,
    });
    expect(sent).toEqual([['twilio', { to: '+1', body: 'template 654321' }]]);
  });
});
