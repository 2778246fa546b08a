import { RateLimitedError, UpstreamError, ValidationError } from '../errors';
import {
  CHANNELS,
  type Channel,
  type ChannelSender,
  type Delivery,
  type DeliveryProvider,
  type DeliveryReceipt,
  type DeliveryRequest,
  type SmsProviderName,
} from './channels';
import type { CallMessage, WhatsAppMessage } from './twilio-channels';
import type { EmailText, SmsText } from './acs-channels';
import { callTwiml, emailContent } from './texts';

/**
 * The one place a code leaves the app: given a channel, a destination, the code and a locale, it renders
 * the channel's message and hands it to the channel's sender. SMS goes through the providers in order: a
 * provider that fails (5xx, timeout, unreachable, throttled) hands the same code to the next one, and the
 * receipt names the provider that carried it and those that failed before.
 */

export interface DeliverySenders {
  /** In the order they are tried; empty when the deployment has no SMS. */
  readonly sms: readonly {
    readonly name: SmsProviderName;
    readonly sender: ChannelSender<SmsText>;
  }[];
  readonly call: ChannelSender<CallMessage> | undefined;
  /**
   * The call's TwiML when it is not the code spoken at once: with a key press first, a `<Gather>` whose
   * action answers the code (src/delivery/key-press.ts).
   */
  readonly callScript?: (call: {
    readonly to: string;
    readonly code: string;
    readonly locale: string | undefined;
  }) => string;
  readonly whatsapp: ChannelSender<WhatsAppMessage> | undefined;
  readonly email: ChannelSender<EmailText> | undefined;
  /** The SMS text in the locale (the verification feature's templates). */
  readonly smsText: (code: string, locale: string | undefined) => string;
  /** Failovers reach the host log (provider names and reasons only). */
  readonly log?: (line: string) => void;
}

export function createDelivery(senders: DeliverySenders): Delivery {
  const on: Record<Channel, boolean> = {
    sms: senders.sms.length > 0,
    call: senders.call !== undefined,
    whatsapp: senders.whatsapp !== undefined,
    email: senders.email !== undefined,
  };
  const enabled = CHANNELS.filter((c) => on[c]);

  const single = async (
    channel: Channel,
    provider: DeliveryProvider,
    send: () => Promise<{ readonly id: string }>,
  ): Promise<DeliveryReceipt> => {
    const { id } = await send();
    return { channel, provider, failedOver: [], id };
  };

  return {
    enabled: () => enabled,
    deliver: async (request) => {
      const { channel, to, code, locale } = request;
      if (!on[channel]) throw channelNotConfigured(channel, enabled);
      switch (channel) {
        case 'call':
          return single('call', 'twilio-voice', () =>
            senders.call!.send({
              to,
              twiml: senders.callScript?.({ to, code, locale }) ?? callTwiml(code, locale),
            }),
          );
        case 'whatsapp':
          return single('whatsapp', 'twilio-whatsapp', () =>
            senders.whatsapp!.send({ to, variables: { 1: code } }),
          );
        case 'email':
          return single('email', 'acs-email', () =>
            senders.email!.send({ to, ...emailContent(code, locale) }),
          );
        case 'sms':
          return sendSms(senders, smsText(senders, request));
      }
    },
  };
}

/** The caller's own text and re-run identity when it rendered one, else the locale's template. */
function smsText(senders: DeliverySenders, request: DeliveryRequest): SmsText {
  const { to, code, locale, rendered } = request;
  if (rendered === undefined) return { to, body: senders.smsText(code, locale) };
  return {
    to,
    body: rendered.body,
    ...(rendered.occurrence === undefined ? {} : { occurrence: rendered.occurrence }),
    ...(rendered.deduplicate === undefined ? {} : { deduplicate: rendered.deduplicate }),
  };
}

async function sendSms(senders: DeliverySenders, text: SmsText): Promise<DeliveryReceipt> {
  const failedOver: SmsProviderName[] = [];
  let last: unknown;
  for (const { name, sender } of senders.sms) {
    try {
      const sent = await sender.send(text);
      return {
        channel: 'sms',
        provider: name,
        failedOver,
        id: sent.id,
        ...(sent.alreadySent === true ? { alreadySent: true } : {}),
      };
    } catch (error: unknown) {
      if (!handsOver(error)) throw error;
      last = error;
      failedOver.push(name);
      senders.log?.(
        `SMS provider ${name} failed (${error instanceof Error ? error.name : 'error'}); trying the next provider`,
      );
    }
  }
  throw last instanceof Error ? last : new UpstreamError('sms', 'No SMS provider could send.');
}

/** A provider's outage (not a refusal of this message): the next provider may well succeed. */
export function handsOver(error: unknown): boolean {
  if (error instanceof RateLimitedError) return true;
  if (!(error instanceof UpstreamError)) return false;
  if (error.failure !== 'failed') return true;
  return error.upstreamStatus === undefined || error.upstreamStatus >= 500;
}

/** A channel this deployment does not have: the caller's choice, so a 400 naming what there is. */
export function channelNotConfigured(
  channel: Channel,
  enabled: readonly Channel[],
): ValidationError {
  return new ValidationError({
    field: 'channel',
    message: `${channel} is not configured on this deployment (available: ${enabled.length === 0 ? 'none' : enabled.join(', ')})`,
  });
}
