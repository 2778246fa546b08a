import type { SmsSender } from '../verification/sms-sender';
import type { VerifyChannel } from './rules';

/**
 * Channel dispatch, in one place: a channel is enabled when it has a sender. Only `sms` has one
 * today (the app's Twilio Messages sender); `call`, `whatsapp` and `email` answer 60223 until the
 * channels work plugs their senders in here.
 */
export interface CodeMessage {
  readonly to: string;
  readonly body: string;
}

export type ChannelSender = (message: CodeMessage) => Promise<{ readonly sid: string }>;
export type ChannelSenders = Readonly<Partial<Record<VerifyChannel, ChannelSender>>>;

export function createChannelSenders(sms: () => SmsSender): ChannelSenders {
  return { sms: (message) => sms().send(message) };
}
