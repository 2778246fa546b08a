import crypto from 'node:crypto';
import type http from 'node:http';
import { acsApiVersion, failAcs, requestOrigin } from '../common/acs-wire';
import { parseAcsBody, takeAcsFault } from '../common/acs-wire';
import { isRecord, type LogFn, sendJson } from '../common/http';
import { OutboxSend, type AcsSendApi, type AcsSendService } from '../common/outbox-service';

/**
 * The ACS Email API as `@azure/communication-email` 1.1's poller drives it, served by the ACS emulator (one
 * resource, one endpoint, the same HMAC / bearer authentication as Identity): `POST /emails:send` answers 202
 * `{id, status: "Running"}` with an `operation-location` header; `GET /emails/operations/{id}` reports
 * `Running` until the operation is `deliverAfterMs` old on the emulator's clock, then `Succeeded` (or `Failed`
 * for a recipient at {@link UNDELIVERABLE_DOMAIN}), which ends the SDK's long-running operation.
 */

export const DEFAULT_ACS_EMAIL_SENDER = 'DoNotReply@verify.azurecomm.local';
/** Recipients at this domain make the operation fail (a bounce), so apps can exercise that path. */
export const UNDELIVERABLE_DOMAIN = 'bounce.invalid';
const EMAIL_API_VERSIONS = ['2023-03-31', '2024-07-01-preview', '2025-09-01'];
const MAX_RECIPIENTS = 50;
const MAX_OPERATIONS = 10_000;
const EMAIL_ADDRESS = /^[^\s@]+@[^\s@]+$/;

export interface EmulatedEmail {
  operationId: string;
  senderAddress: string;
  /** The first `to` recipient (the outbox files the email under it). */
  to: string;
  recipients: string[];
  subject: string;
  plainText: string | null;
  html: string | null;
  /** ISO 8601. */
  sentAt: string;
}

export interface AcsEmailOptions {
  /** Sender addresses of the resource's connected domains; `senderAddress` must be one of them. */
  senders?: string[];
  /** How long (emulator clock) an operation stays `Running`. Default 0: the first poll sees it done. */
  deliverAfterMs?: number;
}

export interface AcsEmailApi extends AcsSendApi {
  emails(to?: string): EmulatedEmail[];
}

export interface AcsEmailService extends AcsSendService<AcsEmailApi> {
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: Buffer): void;
}

interface Operation {
  readonly id: string;
  readonly createdAt: number;
  readonly bounced: boolean;
}

const OPERATION_PATH = /^\/emails\/operations\/([A-Za-z0-9-]{1,64})$/;

export function createAcsEmailService(
  opts: AcsEmailOptions & { log: LogFn; printMessages: boolean; now: () => number },
): AcsEmailService {
  const senders = [...(opts.senders ?? [DEFAULT_ACS_EMAIL_SENDER])];
  const deliverAfterMs = opts.deliverAfterMs ?? 0;
  const sends = new OutboxSend<EmulatedEmail>(
    { name: 'emails', key: 'emails', view: (m) => m },
    { recipientOf: (m) => m.to },
  );
  const { outbox } = sends;
  let operations = new Map<string, Operation>();

  const apiVersion = (req: http.IncomingMessage, path: string): string =>
    acsApiVersion(req, path, EMAIL_API_VERSIONS);

  const addresses = (list: unknown, field: string): string[] => {
    if (list === undefined) return [];
    if (!Array.isArray(list)) return failAcs(400, 'ValidationError', `${field} must be a list.`);
    return list.map((r) => {
      const address = isRecord(r) ? r['address'] : undefined;
      if (typeof address !== 'string' || !EMAIL_ADDRESS.test(address)) {
        return failAcs(400, 'ValidationError', `Invalid email address in ${field}.`, field);
      }
      return address;
    });
  };

  const status = (op: Operation): Record<string, unknown> => {
    if (opts.now() - op.createdAt < deliverAfterMs) return { id: op.id, status: 'Running' };
    if (!op.bounced) return { id: op.id, status: 'Succeeded' };
    return {
      id: op.id,
      status: 'Failed',
      error: {
        code: 'EmailDroppedAllRecipientsSuppressed',
        message: 'Message dropped because all recipients were suppressed.',
      },
    };
  };

  const send = (req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void => {
    const version = apiVersion(req, '/emails:send');
    sends.countRequest();
    if (takeAcsFault(sends.faults, res)) return;
    const { senderAddress, content, recipients } = parseAcsBody(raw);
    if (typeof senderAddress !== 'string' || !senders.includes(senderAddress)) {
      return failAcs(
        400,
        'InvalidSenderUserName',
        'The sender address is not a verified address of a domain connected to the resource.',
        'senderAddress',
      );
    }
    const c = isRecord(content) ? content : {};
    const subject = c['subject'];
    const plainText = typeof c['plainText'] === 'string' ? c['plainText'] : null;
    const html = typeof c['html'] === 'string' ? c['html'] : null;
    if (typeof subject !== 'string' || subject === '') {
      return failAcs(400, 'ValidationError', 'The subject is required.', 'content.subject');
    }
    if (plainText === null && html === null) {
      return failAcs(400, 'ValidationError', 'plainText or html is required.', 'content');
    }
    const r = isRecord(recipients) ? recipients : {};
    const to = addresses(r['to'], 'recipients.to');
    const all = [
      ...to,
      ...addresses(r['cc'], 'recipients.cc'),
      ...addresses(r['bcc'], 'recipients.bcc'),
    ];
    const first = all[0];
    if (first === undefined || all.length > MAX_RECIPIENTS) {
      return failAcs(
        400,
        'ValidationError',
        `1..${MAX_RECIPIENTS} recipients are required.`,
        'recipients',
      );
    }
    const given = req.headers['operation-id'];
    const id =
      typeof given === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(given) ? given : crypto.randomUUID();
    const existing = operations.get(id);
    if (existing === undefined) {
      const op: Operation = {
        id,
        createdAt: opts.now(),
        bounced: all.every((a) => a.toLowerCase().endsWith(`@${UNDELIVERABLE_DOMAIN}`)),
      };
      operations.set(id, op);
      if (operations.size > MAX_OPERATIONS) {
        const oldest = operations.keys().next().value;
        if (oldest !== undefined) operations.delete(oldest);
      }
      const email: EmulatedEmail = {
        operationId: id,
        senderAddress,
        to: first,
        recipients: all,
        subject,
        plainText,
        html,
        sentAt: new Date(op.createdAt).toISOString(),
      };
      outbox.add(email);
      if (opts.printMessages) opts.log(`Email to ${first}: ${subject}\n${plainText ?? html ?? ''}`);
    }
    const location = `${requestOrigin(req)}/emails/operations/${id}?api-version=${version}`;
    sendJson(res, 202, { id, status: 'Running' }, { 'operation-location': location });
  };

  return {
    api: { ...sends.api, senders, emails: (to) => outbox.list(to) },
    handles: (path) => path === '/emails:send' || OPERATION_PATH.test(path),
    handle: (req, res, path, raw) => {
      const method = req.method ?? 'GET';
      if (path === '/emails:send') {
        if (method !== 'POST') failAcs(405, 'MethodNotAllowed', 'Use POST.');
        return send(req, res, raw);
      }
      if (method !== 'GET') failAcs(405, 'MethodNotAllowed', 'Use GET.');
      apiVersion(req, path);
      const id = OPERATION_PATH.exec(path)?.[1] ?? '';
      const op = operations.get(id);
      if (op === undefined) return failAcs(404, 'NotFound', 'The operation was not found.');
      sendJson(res, 200, status(op));
    },
    emulatorRoute: (req, res, path) => sends.emulatorRoute(req, res, path),
    reset: () => {
      sends.reset();
      operations = new Map();
    },
  };
}
