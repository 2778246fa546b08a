import type { Delivery } from '../delivery/channels';
import type { VerifyChannel } from './rules';

/**
 * Channel dispatch, in one place: a channel is enabled when it has a sender. Every channel goes through
 * the delivery layer (src/delivery) and is enabled when the deployment has it (read on first use, as every
 * setting). `sms` texts Verify's own message (service name, PSD2 fields, app hash) through the SMS
 * providers in order, failing over from Twilio to ACS with the same text, and carries the send's re-run
 * identity so a crash re-run does not text twice; `call`, `whatsapp` and `email` speak, template or write
 * the code in the verification's locale themselves (`email` through ACS Email, `To` an address). `sna`
 * answers 60223.
 */
export interface CodeMessage {
  readonly to: string;
  /** Verify's rendered SMS text. */
  readonly body: string;
  /** The code itself, for channels that render their own message (a call, a template). */
  readonly code: string;
  readonly locale: string | undefined;
  /** The send attempt: Verify's resend texts the same code again, which a crash re-run must not. */
  readonly occurrence: number;
  /** False for a caller's custom code, which another verification to the same number may share. */
  readonly deduplicate: boolean;
}

export type ChannelSender = (message: CodeMessage) => Promise<{ readonly sid: string }>;
export type ChannelSenders = Readonly<Partial<Record<VerifyChannel, ChannelSender>>>;

export function createChannelSenders(delivery: () => Delivery): ChannelSenders {
  const through =
    (channel: 'call' | 'whatsapp' | 'email'): ChannelSender =>
    async ({ to, code, locale }) => {
      const receipt = await delivery().deliver({ channel, to, code, locale });
      return { sid: receipt.id ?? receipt.provider };
    };
  const sms: ChannelSender = async ({ to, body, code, locale, occurrence, deduplicate }) => {
    const rendered = { body, occurrence, deduplicate };
    const receipt = await delivery().deliver({ channel: 'sms', to, code, locale, rendered });
    return { sid: receipt.id ?? receipt.provider };
  };
  const call = through('call');
  const whatsapp = through('whatsapp');
  const email = through('email');
  return {
    get sms(): ChannelSender | undefined {
      return delivery().enabled().includes('sms') ? sms : undefined;
    },
    get call(): ChannelSender | undefined {
      return delivery().enabled().includes('call') ? call : undefined;
    },
    get whatsapp(): ChannelSender | undefined {
      return delivery().enabled().includes('whatsapp') ? whatsapp : undefined;
    },
    get email(): ChannelSender | undefined {
      return delivery().enabled().includes('email') ? email : undefined;
    },
  };
}
