import type twilio from 'twilio';
import { withSpan } from '../telemetry';
import { mapTwilioError } from '../verification/twilio-sms-sender';
import type { ChannelSender } from './channels';

/**
 * The Twilio channels besides SMS, on the official SDK: a voice call that speaks the code (Programmable
 * Voice, the TwiML inline) and a WhatsApp message from an approved template (Messages with `ContentSid`).
 * Failures are mapped like the SMS sender's, without the request (which holds the code).
 */

export interface CallMessage {
  readonly to: string;
  readonly twiml: string;
}

export class TwilioVoiceSender implements ChannelSender<CallMessage> {
  constructor(
    private readonly client: twilio.Twilio,
    private readonly from: string,
  ) {}

  async send(message: CallMessage): Promise<{ readonly id: string }> {
    try {
      const call = await withSpan('twilio.calls.create', { 'peer.service': 'twilio' }, () =>
        this.client.calls.create({ to: message.to, from: this.from, twiml: message.twiml }),
      );
      return { id: call.sid };
    } catch (error: unknown) {
      throw mapTwilioError(error);
    }
  }
}

export interface WhatsAppMessage {
  readonly to: string;
  /** The template's variables, `{"1": "<code>"}` for an authentication template. */
  readonly variables: Readonly<Record<string, string>>;
}

export class TwilioWhatsAppSender implements ChannelSender<WhatsAppMessage> {
  constructor(
    private readonly client: twilio.Twilio,
    private readonly settings: { readonly from: string; readonly contentSid: string },
  ) {}

  async send(message: WhatsAppMessage): Promise<{ readonly id: string }> {
    try {
      const sent = await withSpan('twilio.messages.create', { 'peer.service': 'twilio' }, () =>
        this.client.messages.create({
          to: `whatsapp:${message.to}`,
          from: `whatsapp:${this.settings.from}`,
          contentSid: this.settings.contentSid,
          contentVariables: JSON.stringify(message.variables),
        }),
      );
      return { id: sent.sid };
    } catch (error: unknown) {
      throw mapTwilioError(error);
    }
  }
}
