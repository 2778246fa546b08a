import crypto from 'node:crypto';
import type http from 'node:http';
import { acsApiVersion, failAcs, parseAcsBody, takeAcsFault } from '../common/acs-wire';
import { isRecord, type LogFn, sendJson } from '../common/http';
import { OutboxSend, type AcsSendApi, type AcsSendService } from '../common/outbox-service';

/**
 * The ACS SMS API (`POST /sms?api-version=2021-03-07`) as `@azure/communication-sms` 1.1 calls it, served by
 * the ACS emulator (one resource, one endpoint, the same HMAC / bearer authentication as Identity). The
 * answer is 202 with one result per recipient (`successful`, `httpStatusCode`, `messageId` or `errorMessage`):
 * a bad recipient fails alone, as on the real service, and the SDK does not throw for it.
 */

export const DEFAULT_ACS_SMS_SENDER = '+18335550100';
const SMS_API_VERSIONS = ['2021-03-07', '2024-01-14-preview'];
const MAX_MESSAGE_CHARS = 2048;
const MAX_RECIPIENTS = 100;
const E164 = /^\+[1-9]\d{7,14}$/;
/** Remembered repeatability ids (a retried request is not sent twice); the oldest are forgotten beyond this. */
const MAX_REPEATABILITY_IDS = 10_000;

export interface EmulatedAcsSms {
  messageId: string;
  from: string;
  to: string;
  message: string;
  /** ISO 8601. */
  sentAt: string;
  deliveryReport: boolean;
  tag: string | null;
}

export interface AcsSmsOptions {
  /** Numbers (or alphanumeric sender ids) the resource owns; `from` must be one of them. */
  senders?: string[];
}

export interface AcsSmsApi extends AcsSendApi {
  /** Messages sent to `to` (everyone when undefined), oldest first. */
  messages(to?: string): EmulatedAcsSms[];
}

/** The SMS part of the ACS emulator: its API route, its `/_emulator/sms` routes and its state. */
export interface AcsSmsService extends AcsSendService<AcsSmsApi> {
  send(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void;
}

export function createAcsSmsService(
  opts: AcsSmsOptions & { log: LogFn; printMessages: boolean; now: () => number },
): AcsSmsService {
  const senders = [...(opts.senders ?? [DEFAULT_ACS_SMS_SENDER])];
  const sends = new OutboxSend<EmulatedAcsSms>(
    { name: 'sms', key: 'messages', view: (m) => m },
    { recipientOf: (m) => m.to },
  );
  const { outbox } = sends;
  let repeatability = new Map<string, string>();

  const messageId = (): string => {
    const stamp = new Date(opts.now()).toISOString().replace(/\D/g, '').slice(0, 14);
    return `Outgoing_${stamp}${crypto.randomBytes(8).toString('hex')}_noam`;
  };

  const recipientResult = (
    recipient: unknown,
    from: string,
    message: string,
    report: boolean,
    tag: string | null,
  ): Record<string, unknown> => {
    const to = isRecord(recipient) && typeof recipient['to'] === 'string' ? recipient['to'] : '';
    if (!E164.test(to)) {
      return {
        to,
        httpStatusCode: 400,
        successful: false,
        errorMessage: 'Invalid To phone number format.',
      };
    }
    const requestId = isRecord(recipient) ? recipient['repeatabilityRequestId'] : undefined;
    const seen = typeof requestId === 'string' ? repeatability.get(requestId) : undefined;
    if (seen !== undefined) {
      // A retried request: accepted again, not sent again.
      return {
        to,
        messageId: seen,
        httpStatusCode: 202,
        repeatabilityResult: 'accepted',
        successful: true,
      };
    }
    const sms: EmulatedAcsSms = {
      messageId: messageId(),
      from,
      to,
      message,
      sentAt: new Date(opts.now()).toISOString(),
      deliveryReport: report,
      tag,
    };
    if (typeof requestId === 'string') {
      repeatability.set(requestId, sms.messageId);
      if (repeatability.size > MAX_REPEATABILITY_IDS) {
        const oldest = repeatability.keys().next().value;
        if (oldest !== undefined) repeatability.delete(oldest);
      }
    }
    outbox.add(sms);
    if (opts.printMessages) opts.log(`SMS to ${to} (ACS): ${message}`);
    return {
      to,
      messageId: sms.messageId,
      httpStatusCode: 202,
      repeatabilityResult: 'accepted',
      successful: true,
    };
  };

  const send = (req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void => {
    acsApiVersion(req, '/sms', SMS_API_VERSIONS);
    sends.countRequest();
    if (takeAcsFault(sends.faults, res)) return;
    const { from, smsRecipients, message, smsSendOptions } = parseAcsBody(raw);
    if (typeof from !== 'string' || from === '') {
      return failAcs(400, 'ValidationError', 'The From field is required.', 'from');
    }
    if (!senders.includes(from)) {
      return failAcs(
        401,
        'Unauthorized',
        'The From phone number is not owned by the resource.',
        'from',
      );
    }
    if (!Array.isArray(smsRecipients) || smsRecipients.length === 0) {
      return failAcs(
        400,
        'ValidationError',
        'At least one recipient is required.',
        'smsRecipients',
      );
    }
    if (smsRecipients.length > MAX_RECIPIENTS) {
      return failAcs(
        400,
        'ValidationError',
        `At most ${MAX_RECIPIENTS} recipients are allowed.`,
        'smsRecipients',
      );
    }
    if (typeof message !== 'string' || message === '' || message.length > MAX_MESSAGE_CHARS) {
      return failAcs(
        400,
        'ValidationError',
        `The message must be 1..${MAX_MESSAGE_CHARS} characters.`,
        'message',
      );
    }
    const options = isRecord(smsSendOptions) ? smsSendOptions : {};
    const report = options['enableDeliveryReport'] === true;
    const tag = typeof options['tag'] === 'string' ? options['tag'] : null;
    const value = smsRecipients.map((r) => recipientResult(r, from, message, report, tag));
    sendJson(res, 202, { value });
  };

  return {
    api: { ...sends.api, senders, messages: (to) => outbox.list(to) },
    handles: (path) => path === '/sms',
    send,
    emulatorRoute: (req, res, path) => sends.emulatorRoute(req, res, path),
    reset: () => {
      sends.reset();
      repeatability = new Map();
    },
  };
}
