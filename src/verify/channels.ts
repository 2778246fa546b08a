import type { Delivery } from '../delivery/channels';
import type { SmsSender } from '../verification/sms-sender';
import type { VerifyChannel } from './rules';

/**
 * Channel dispatch, in one place: a channel is enabled when it has a sender. `sms` texts Verify's own
 * message (service name, PSD2 fields, app hash) through the app's Twilio Messages sender; `call` and
 * `whatsapp` go through the delivery layer (src/delivery), which speaks or templates the code itself,
 * and are enabled when the deployment has them (read on first use, as every setting). `email` and `sna`
 * answer 60223: Verify's `To` is a phone number here (the guard judges it).
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

export function createChannelSenders(
  sms: () => SmsSender,
  delivery: () => Delivery,
): ChannelSenders {
  const through =
    (channel: 'call' | 'whatsapp'): ChannelSender =>
    async ({ to, code, locale }) => {
      const receipt = await delivery().deliver({ channel, to, code, locale });
      return { sid: receipt.id ?? receipt.provider };
    };
  const call = through('call');
  const whatsapp = through('whatsapp');
  return {
    sms: ({ to, body, occurrence, deduplicate }) =>
      sms().send({ to, body, occurrence, deduplicate }),
    get call(): ChannelSender | undefined {
      return delivery().enabled().includes('call') ? call : undefined;
    },
    get whatsapp(): ChannelSender | undefined {
      return delivery().enabled().includes('whatsapp') ? whatsapp : undefined;
    },
  };
}
