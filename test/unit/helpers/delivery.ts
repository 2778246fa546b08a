import type { SmsTemplateSettings } from '../../../src/verification/settings';
import type { Delivery } from '../../../src/delivery/channels';
import { createDelivery } from '../../../src/delivery/delivery';
import type { SmsSender } from '../../../src/verification/sms-sender';
import { renderMessage, templateFor } from '../../../src/verification/sms-templates';

/** A delivery with only the `sms` channel, through one sender (a fake or the Twilio sender). */
export function smsOnlyDelivery(
  sms: SmsSender,
  messageTemplate = 'Your verification code is {code}',
  templates: SmsTemplateSettings = { overrides: {} },
): Delivery {
  return createDelivery({
    sms: [
      {
        name: 'twilio',
        sender: {
          send: async (m) => {
            const { sid, alreadySent } = await sms.send(m);
            return { id: sid, ...(alreadySent === true ? { alreadySent } : {}) };
          },
        },
      },
    ],
    call: undefined,
    whatsapp: undefined,
    email: undefined,
    smsText: (code, locale) =>
      renderMessage(templateFor(locale, templates, messageTemplate).template, code),
  });
}
