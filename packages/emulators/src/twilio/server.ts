import crypto from 'node:crypto';
import type http from 'node:http';
import {
  defaultLog,
  type EmulatorServerOptions,
  isRecord,
  listen,
  pathOf,
  queryOf,
  readBody,
  controlApi,
  jsonControlRoute,
  sendEmpty,
  sendJson,
  wrapHandler,
} from '../common/http';
import { FaultSwitch, parseSendFault } from '../common/fault-switch';
import { Outbox } from '../common/outbox';
import { createCallsService, DEFAULT_CALL_TIMING, type CallsApi, type CallTiming } from './calls';
import {
  DEFAULT_CONTENT_SID,
  DEFAULT_CONTENT_TEMPLATES,
  DEFAULT_WHATSAPP_SENDER,
  renderContent,
  WHATSAPP_PREFIX,
} from './content';
import {
  DEFAULT_LIFECYCLE_TIMING,
  type EmulatorClock,
  FAILING_DESTINATIONS,
  type LifecycleTiming,
  type MessageStatus,
  nextStep,
  priceOf,
  systemEmulatorClock,
} from './lifecycle';
import {
  formatTwilioDate,
  postSignedCallback,
  sendTwilioPage,
  timingSafeEqualStr,
  twilioError,
} from './wire';

export { formatTwilioDate } from './wire';
export { DEFAULT_CONTENT_SID, DEFAULT_WHATSAPP_SENDER } from './content';
export {
  type EmulatorClock,
  FAILING_DESTINATIONS,
  type LifecycleTiming,
  type MessageStatus,
  twilioSignature,
} from './lifecycle';

/**
 * Emulator of Twilio's Programmable Messaging API (2010-04-01: create, fetch, list, update, delete), as
 * twilio-node 6.x calls it, with the message lifecycle and signed status callbacks (see lifecycle.ts).
 * Errors use Twilio's legacy JSON shape (`code`, `message`, `more_info`, `status`) so the SDK raises
 * `RestException` with the same `status`/`code` as against api.twilio.com.
 */

export const DEFAULT_TWILIO_ACCOUNT_SID = 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
export const DEFAULT_TWILIO_AUTH_TOKEN = 'local-emulator-auth-token';
export const DEFAULT_TWILIO_SENDER = '+15005550006';
export const DEFAULT_MESSAGING_SERVICE_SID = 'MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

export interface TwilioEmulatorOptions extends EmulatorServerOptions {
  accountSid?: string;
  authToken?: string;
  /** Sender numbers owned by the account (`From` must be one of them). */
  senders?: string[];
  /** Messaging services owned by the account (`MessagingServiceSid` must be one of them). */
  messagingServiceSids?: string[];
  /** WhatsApp senders of the account (`From: whatsapp:<number>` must be one of them). */
  whatsAppSenders?: string[];
  /** Approved Content templates (sid → text with `{{1}}` placeholders), added to the default one. */
  contentTemplates?: Record<string, string>;
  /** API keys (`SK...` sid + secret) that may authenticate instead of the auth token. */
  apiKeys?: { sid: string; secret: string }[];
  /** Also log `SMS to <to>: <body>` for every accepted message, so a person can read the code (used by `npm start`). */
  printMessages?: boolean;
  /** Clock for dates and the lifecycle (the local runtime passes its own); defaults to the system clock. */
  clock?: EmulatorClock;
  /** Lifecycle step delays, or `false` to leave messages at their initial status. */
  lifecycle?: LifecycleTiming | false;
  /** Call step delays, or `false` to leave calls `queued`. */
  callLifecycle?: CallTiming | false;
}

export interface EmulatedSms {
  sid: string;
  to: string;
  /** Null when sent through a messaging service without `From`. */
  from: string | null;
  body: string;
  /** ISO 8601. */
  dateCreated: string;
  status: MessageStatus;
  /** ISO 8601, once the message is `sent`. */
  dateSent: string | null;
  messagingServiceSid: string | null;
  statusCallback: string | null;
}

/** Makes the next `count` create calls fail with this Twilio error (after authentication succeeded). */
export interface TwilioFault {
  count?: number;
  status: number;
  code: number;
  message?: string;
  /** Adds `Retry-After` (seconds), as Twilio does on some 429s. */
  retryAfterSeconds?: number;
  /** Never answer (the client's timeout decides); `status` and `code` are then ignored. */
  hang?: boolean;
}

export interface TwilioEmulator {
  url: string;
  port: number;
  accountSid: string;
  authToken: string;
  senders: readonly string[];
  messages(to?: string): EmulatedSms[];
  /** The most recent message to `to`, if any. */
  lastMessage(to: string): EmulatedSms | undefined;
  failNext(fault: TwilioFault): void;
  /** Number of create requests received (including failed ones), for retry assertions. */
  requestCount(): number;
  /** The Calls resource (Programmable Voice): outbox, fault switch. */
  readonly voice: CallsApi;
  /** Reads of the outbox waiting for their messages (`waitMs`), for tests to sync on. */
  waitingReads(): number;
  /** The app settings (`Twilio*`) that point the app's Twilio SDK at this emulator. */
  appSettings(): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

const E164 = /^\+[1-9]\d{7,14}$/;
const MAX_BODY_CHARS = 1600;

/**
 * Twilio's documented magic `To` numbers for test credentials: they make create fail the way a real
 * unroutable, blocked or landline destination would, so app error paths can be exercised.
 */
const MAGIC_TO: Readonly<Record<string, { code: number; message: (to: string) => string }>> = {
  '+15005550001': { code: 21211, message: (to) => `Invalid 'To' Phone Number: ${to}` },
  '+15005550002': {
    code: 21612,
    message: (to) =>
      `The 'To' phone number: ${to}, is not currently reachable using the 'From' phone number via SMS.`,
  },
  '+15005550003': {
    code: 21408,
    message: (to) =>
      `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
  },
  '+15005550004': { code: 21610, message: () => 'Attempt to send to unsubscribed recipient' },
  '+15005550009': {
    code: 21614,
    message: (to) => `'To' number ${to} is not a valid mobile number`,
  },
};

/** GSM-7 basic charset; anything outside it makes the message UCS-2, which changes segment sizes. */
const GSM7 =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€';

export function segmentCount(body: string): number {
  const gsm = [...body].every((c) => GSM7.includes(c));
  const len = gsm ? body.length : [...body].length;
  const single = gsm ? 160 : 70;
  const multi = gsm ? 153 : 67;
  if (len <= single) return 1;
  return Math.ceil(len / multi);
}

interface StoredMessage extends EmulatedSms {
  readonly accountSid: string;
  readonly created: Date;
  updated: Date;
  sent: Date | null;
  price: string | null;
  errorCode: number | null;
  errorMessage: string | null;
  /** Cancels the pending lifecycle step, if any. */
  cancelStep: (() => void) | undefined;
  /** Status callbacks of this message go out one after another, in order. */
  callbacks: Promise<void>;
}

/** Twilio's magic `From` numbers for test credentials (`+15005550006` is the valid one). */
const MAGIC_FROM: Readonly<Record<string, { code: number; message: (from: string) => string }>> = {
  '+15005550001': {
    code: 21212,
    message: (from) =>
      `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
  },
  '+15005550008': {
    code: 21611,
    message: () => "This 'From' number has exceeded the maximum number of queued messages.",
  },
};

/** Scheduled sends must be 15 minutes to 7 days ahead (Twilio's limits). */
const MIN_SCHEDULE_AHEAD_MS = 15 * 60_000;
const MAX_SCHEDULE_AHEAD_MS = 7 * 24 * 3_600_000;
/** Statuses a message is still being sent in: not redactable yet. */
const IN_FLIGHT: readonly MessageStatus[] = ['accepted', 'scheduled', 'queued', 'sending'];

/** `DateSent` filter value: a day (`YYYY-MM-DD`) spans it; a date-time is one instant. */
function parseDateFilter(raw: string): { start: number; end: number } | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
    const start = Date.parse(`${raw}T00:00:00Z`);
    return Number.isNaN(start) ? undefined : { start, end: start + 86_400_000 - 1 };
  }
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  // Twilio's dates have whole seconds.
  const second = at - (at % 1000);
  return { start: second, end: second + 999 };
}

export async function startTwilioEmulator(
  opts: TwilioEmulatorOptions = {},
): Promise<TwilioEmulator> {
  const accountSid = opts.accountSid ?? DEFAULT_TWILIO_ACCOUNT_SID;
  const authToken = opts.authToken ?? DEFAULT_TWILIO_AUTH_TOKEN;
  const senders = [...(opts.senders ?? [DEFAULT_TWILIO_SENDER])];
  const services = [...(opts.messagingServiceSids ?? [DEFAULT_MESSAGING_SERVICE_SID])];
  const whatsAppSenders = [...(opts.whatsAppSenders ?? [DEFAULT_WHATSAPP_SENDER])];
  const contentTemplates = { ...DEFAULT_CONTENT_TEMPLATES, ...opts.contentTemplates };
  const log = opts.log ?? defaultLog;
  const clock = opts.clock ?? systemEmulatorClock;
  const now = (): Date => clock.now();
  const timing =
    opts.lifecycle === false ? undefined : { ...DEFAULT_LIFECYCLE_TIMING, ...opts.lifecycle };
  if (!/^AC[0-9a-zA-Z]{32}$/.test(accountSid))
    throw new Error('accountSid must be AC followed by 32 characters');

  const outbox = new Outbox<StoredMessage>({ recipientOf: (m) => m.to, onDrop: (m) => forget(m) });
  const calls = createCallsService({
    accountSid,
    authToken,
    senders,
    clock,
    timing:
      opts.callLifecycle === false ? undefined : { ...DEFAULT_CALL_TIMING, ...opts.callLifecycle },
    log,
    printMessages: opts.printMessages === true,
  });
  const faults = new FaultSwitch();
  let creates = 0;

  const publicView = (m: StoredMessage): EmulatedSms => ({
    sid: m.sid,
    to: m.to,
    from: m.from,
    body: m.body,
    dateCreated: m.dateCreated,
    status: m.status,
    dateSent: m.sent === null ? null : m.sent.toISOString(),
    messagingServiceSid: m.messagingServiceSid,
    statusCallback: m.statusCallback,
  });

  const messageJson = (m: StoredMessage): Record<string, unknown> => {
    const uri = `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}.json`;
    return {
      account_sid: m.accountSid,
      api_version: '2010-04-01',
      body: m.body,
      date_created: formatTwilioDate(m.created),
      date_sent: m.sent === null ? null : formatTwilioDate(m.sent),
      date_updated: formatTwilioDate(m.updated),
      direction: 'outbound-api',
      error_code: m.errorCode,
      error_message: m.errorMessage,
      from: m.from,
      messaging_service_sid: m.messagingServiceSid,
      num_media: '0',
      num_segments: String(segmentCount(m.body)),
      price: m.price,
      price_unit: 'USD',
      sid: m.sid,
      status: m.status,
      subresource_uris: {
        media: `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}/Media.json`,
      },
      to: m.to,
      uri,
    };
  };

  /** POSTs the message's current status to its StatusCallback, signed; failures are only logged. */
  const notify = (m: StoredMessage): void => {
    const url = m.statusCallback;
    if (url === null) return;
    const params: Record<string, string> = {
      AccountSid: m.accountSid,
      ApiVersion: '2010-04-01',
      From: m.from ?? '',
      MessageSid: m.sid,
      MessageStatus: m.status,
      SmsSid: m.sid,
      SmsStatus: m.status,
      To: m.to,
      ...(m.messagingServiceSid === null ? {} : { MessagingServiceSid: m.messagingServiceSid }),
      ...(m.errorCode === null ? {} : { ErrorCode: String(m.errorCode) }),
    };
    const status = m.status;
    m.callbacks = m.callbacks.then(() => postSignedCallback(url, params, authToken, log, status));
  };

  const setStatus = (m: StoredMessage, status: MessageStatus): void => {
    const at = now();
    m.status = status;
    m.updated = at;
    if (status === 'sent') {
      m.sent = at;
      m.price = priceOf(segmentCount(m.body));
    }
    const failing = FAILING_DESTINATIONS[m.to];
    if ((status === 'failed' || status === 'undelivered') && failing !== undefined) {
      m.errorCode = failing.code;
      m.errorMessage = failing.message;
    }
    notify(m);
  };

  /** Arms the message's next lifecycle step (`at` overrides the step's delay, for scheduled sends). */
  const scheduleNext = (m: StoredMessage, at?: Date): void => {
    if (timing === undefined) return;
    const step =
      m.status === 'scheduled'
        ? { status: 'queued' as const, afterMs: 0 }
        : nextStep(m.status, m.to, timing);
    if (step === undefined) {
      m.cancelStep = undefined;
      return;
    }
    const when = at ?? new Date(now().getTime() + step.afterMs);
    m.cancelStep = clock.wakeAt(when, () => {
      m.cancelStep = undefined;
      setStatus(m, step.status);
      scheduleNext(m);
    });
  };

  const forget = (m: StoredMessage): void => {
    m.cancelStep?.();
    m.cancelStep = undefined;
  };

  const authenticated = (req: http.IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (m === null || m[1] === undefined) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i === -1) return false;
    const user = decoded.slice(0, i);
    const pass = decoded.slice(i + 1);
    // Evaluate both comparisons so timing does not reveal which half was wrong.
    const okUser = timingSafeEqualStr(user, accountSid);
    const okPass = timingSafeEqualStr(pass, authToken);
    if (okUser && okPass) return true;
    return (opts.apiKeys ?? []).some((k) => {
      const sidOk = timingSafeEqualStr(user, k.sid);
      const secretOk = timingSafeEqualStr(pass, k.secret);
      return sidOk && secretOk;
    });
  };

  const notFound = (res: http.ServerResponse, path: string): void =>
    twilioError(res, 404, 20404, `The requested resource ${path} was not found`);

  const createMessage = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> => {
    const raw = await readBody(req);
    creates += 1;
    const form = new URLSearchParams(raw.toString('utf8'));
    const fault = faults.take();
    if (fault?.hang === true) return faults.hang(res);
    if (fault !== undefined) {
      const code = typeof fault.code === 'number' ? fault.code : 20500;
      return twilioError(
        res,
        fault.status,
        code,
        fault.message ?? `Emulated failure ${code}`,
        {},
        fault.headers,
      );
    }
    const to = form.get('To')?.trim() ?? '';
    const from = form.get('From')?.trim() ?? '';
    const service = form.get('MessagingServiceSid')?.trim() ?? '';
    const contentSid = form.get('ContentSid') ?? '';
    const hasMedia = form.getAll('MediaUrl').length > 0 || contentSid !== '';
    if (to === '') return twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (from === '' && service === '')
      return twilioError(
        res,
        400,
        21603,
        "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
      );
    if ((form.get('Body') ?? '') === '' && !hasMedia) {
      return service === ''
        ? twilioError(res, 400, 21602, 'Message body is required.')
        : twilioError(res, 400, 21619, 'A text message body or media URL must be specified.');
    }
    // WhatsApp: both addresses carry the channel prefix; the sender must be a WhatsApp sender.
    const whatsApp = to.startsWith(WHATSAPP_PREFIX);
    const toNumber = whatsApp ? to.slice(WHATSAPP_PREFIX.length) : to;
    if (!E164.test(toNumber))
      return twilioError(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (whatsApp || from.startsWith(WHATSAPP_PREFIX)) {
      const sender = from.startsWith(WHATSAPP_PREFIX) ? from.slice(WHATSAPP_PREFIX.length) : '';
      if (!whatsApp || !whatsAppSenders.includes(sender)) {
        return twilioError(
          res,
          400,
          63007,
          'Twilio could not find a Channel with the specified From address',
        );
      }
    }
    let body = form.get('Body') ?? '';
    if (contentSid !== '') {
      const rendered = renderContent(contentTemplates, contentSid, form.get('ContentVariables'));
      if ('code' in rendered) return twilioError(res, 400, rendered.code, rendered.message);
      body = rendered.body;
    }
    const magicFrom = MAGIC_FROM[from];
    if (magicFrom !== undefined) {
      return twilioError(res, 400, magicFrom.code, magicFrom.message(from));
    }
    if (from !== '' && !whatsApp && !senders.includes(from)) {
      return twilioError(
        res,
        400,
        21606,
        `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
      );
    }
    if (from === '' && !services.includes(service)) {
      return twilioError(res, 400, 21701, `The Messaging Service Sid ${service} is invalid.`);
    }
    if ([...body].length > MAX_BODY_CHARS)
      return twilioError(
        res,
        400,
        21617,
        'The concatenated message body exceeds the 1600 character limit.',
      );
    const magic = MAGIC_TO[to];
    if (magic !== undefined) return twilioError(res, 400, magic.code, magic.message(to));

    const created = now();
    // Scheduling needs a messaging service; without one Twilio drops the schedule and sends now.
    const scheduleType = form.get('ScheduleType');
    let sendAt: Date | undefined;
    if (scheduleType !== null && service !== '') {
      if (scheduleType !== 'fixed') {
        return twilioError(res, 400, 20001, 'ScheduleType must be fixed.');
      }
      const at = Date.parse(form.get('SendAt') ?? '');
      const ahead = at - created.getTime();
      if (Number.isNaN(at) || ahead < MIN_SCHEDULE_AHEAD_MS || ahead > MAX_SCHEDULE_AHEAD_MS) {
        return twilioError(res, 400, 35114, 'Scheduling does not support this timestamp.');
      }
      sendAt = new Date(at);
    }
    const msg: StoredMessage = {
      sid: `SM${crypto.randomBytes(16).toString('hex')}`,
      accountSid,
      to,
      from: from === '' ? null : from,
      body,
      created,
      updated: created,
      sent: null,
      price: null,
      errorCode: null,
      errorMessage: null,
      dateCreated: created.toISOString(),
      dateSent: null,
      // Through a messaging service without From, Twilio answers `accepted` and picks the sender later.
      status: sendAt !== undefined ? 'scheduled' : from === '' ? 'accepted' : 'queued',
      messagingServiceSid: service === '' ? null : service,
      statusCallback: form.get('StatusCallback'),
      cancelStep: undefined,
      callbacks: Promise.resolve(),
    };
    outbox.add(msg);
    if (opts.printMessages === true)
      log(`${whatsApp ? 'WhatsApp' : 'SMS'} to ${toNumber}: ${body}`);
    scheduleNext(msg, sendAt);
    sendJson(res, 201, messageJson(msg), {}, 'application/json');
  };

  /** Update: `Body=""` redacts a message that is no longer being sent; `Status=canceled` cancels a scheduled one. */
  const updateMessage = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    m: StoredMessage,
  ): Promise<void> => {
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    const status = form.get('Status');
    const body = form.get('Body');
    if (status !== null && status !== 'canceled') {
      return twilioError(res, 400, 20001, `Invalid Status ${status.slice(0, 20)}: only canceled.`);
    }
    if (body !== null && body !== '') {
      return twilioError(res, 400, 20001, 'Body can only be set to an empty string (redaction).');
    }
    if (status === 'canceled') {
      if (m.status !== 'scheduled') {
        return twilioError(res, 400, 30409, 'This message cannot be canceled.');
      }
      forget(m);
      setStatus(m, 'canceled');
    }
    if (body === '') {
      if (IN_FLIGHT.includes(m.status)) {
        return twilioError(
          res,
          400,
          20001,
          'A message can only be redacted once it has been sent.',
        );
      }
      m.body = '';
      m.updated = now();
    }
    sendJson(res, 200, messageJson(m), {}, 'application/json');
  };

  /** Twilio's list page: newest first, filtered by To/From, paged by PageSize/Page with Twilio's page metadata. */
  const listMessages = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): void => {
    const q = queryOf(req);
    const sizeRaw = q.get('PageSize') ?? '50';
    const pageRaw = q.get('Page') ?? '0';
    if (
      !/^\d+$/.test(sizeRaw) ||
      Number(sizeRaw) < 1 ||
      Number(sizeRaw) > 1000 ||
      !/^\d+$/.test(pageRaw)
    ) {
      return twilioError(
        res,
        400,
        20001,
        'Invalid paging parameters: PageSize must be 1..1000 and Page a non-negative integer.',
      );
    }
    const size = Number(sizeRaw);
    const page = Number(pageRaw);
    const to = q.get('To');
    const from = q.get('From');
    const dateFilters: [string, { start: number; end: number }][] = [];
    for (const name of ['DateSent', 'DateSent<', 'DateSent>']) {
      const raw = q.get(name);
      if (raw === null) continue;
      const parsed = parseDateFilter(raw);
      if (parsed === undefined) {
        return twilioError(res, 400, 20001, `Invalid ${name}: expected YYYY-MM-DD or ISO 8601.`);
      }
      dateFilters.push([name, parsed]);
    }
    const sentMatches = (m: StoredMessage): boolean =>
      dateFilters.every(([name, range]) => {
        if (m.sent === null) return false;
        const t = m.sent.getTime();
        // `DateSent<` is "on or before", `DateSent>` "on or after" (the API's `DateSent<=` spelling).
        if (name === 'DateSent<') return t <= range.end;
        if (name === 'DateSent>') return t >= range.start;
        return t >= range.start && t <= range.end;
      });
    const all = outbox
      .list()
      .filter(
        (m) => (to === null || m.to === to) && (from === null || m.from === from) && sentMatches(m),
      )
      .reverse();
    const items = all.slice(page * size, (page + 1) * size);
    const pageUri = (n: number): string => {
      const p = new URLSearchParams();
      if (to !== null) p.set('To', to);
      if (from !== null) p.set('From', from);
      for (const name of ['DateSent', 'DateSent<', 'DateSent>']) {
        const raw = q.get(name);
        if (raw !== null) p.set(name, raw);
      }
      p.set('PageSize', String(size));
      p.set('Page', String(n));
      return `${path}?${p.toString()}`;
    };
    const more = (page + 1) * size < all.length;
    sendTwilioPage(res, 'messages', items.map(messageJson), {
      page,
      size,
      uri: pageUri,
      nextPageUri: more ? `${pageUri(page + 1)}&PageToken=PASM${page + 1}` : null,
    });
  };

  const controlRoutes = controlApi(
    {
      'GET /_emulator/messages': (req, res) => outbox.read(req, res, 'messages', publicView),
      'DELETE /_emulator/messages': (_req, res) => {
        outbox.clear();
        sendEmpty(res, 204);
      },
      'POST /_emulator/messages/faults': (req, res) => faults.handleRequest(req, res),
      'GET /_emulator/messages/faults': (req, res) => faults.handleRequest(req, res),
      'DELETE /_emulator/messages/faults': (req, res) => faults.handleRequest(req, res),
      'POST /_emulator/faults': jsonControlRoute(parseFault, (fault) => api.failNext(fault)),
    },
    { reset: () => api.reset() },
  );
  const emulatorRoutes = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<void> => {
    if (await calls.emulatorRoute(req, res, path)) return;
    return controlRoutes(req, res, path);
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (path.startsWith('/_emulator/')) return emulatorRoutes(req, res, path);
    res.setHeader('twilio-request-id', `RQ${crypto.randomBytes(16).toString('hex')}`);
    const m =
      /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)(?:\/((?:SM|CA)[0-9a-f]{32}))?\.json$/.exec(
        path,
      );
    if (m === null) return notFound(res, path);
    // Twilio authenticates before anything else, including on unknown resources of the account.
    if (!authenticated(req)) {
      return twilioError(
        res,
        401,
        20003,
        'Authenticate',
        { detail: 'Your AccountSid or AuthToken was incorrect.' },
        { 'www-authenticate': 'Basic realm="Twilio API"' },
      );
    }
    if (m[1] !== accountSid) return notFound(res, path);
    if (m[2] === 'Calls') return calls.handle(req, res, m[3], path);
    const sid = m[3];
    if (sid === undefined && method === 'POST') return createMessage(req, res);
    if (sid === undefined && method === 'GET') return listMessages(req, res, path);
    if (sid !== undefined) {
      const found = outbox.find((x) => x.sid === sid);
      if (found === undefined) return notFound(res, path);
      if (method === 'GET') {
        sendJson(res, 200, messageJson(found), {}, 'application/json');
        return;
      }
      if (method === 'POST') return updateMessage(req, res, found);
      if (method === 'DELETE') {
        forget(found);
        outbox.remove(found);
        sendEmpty(res, 204);
        return;
      }
    }
    twilioError(res, 405, 20004, 'Method not allowed');
  };

  const listening = await listen(wrapHandler('twilio', handler, log), {
    port: opts.port,
    host: opts.host ?? '127.0.0.1',
  });
  const url = `http://${listening.urlHost}:${listening.port}`;

  const api: TwilioEmulator = {
    url,
    port: listening.port,
    accountSid,
    authToken,
    senders,
    messages: (to) => outbox.list(to).map(publicView),
    lastMessage: (to) => {
      const all = outbox.list(to);
      const last = all[all.length - 1];
      return last === undefined ? undefined : publicView(last);
    },
    failNext: (fault) => {
      faults.failNext(fault);
    },
    requestCount: () => creates,
    voice: calls.api,
    waitingReads: () => outbox.waitingReads(),
    appSettings: () => ({
      TwilioAccountSid: accountSid,
      TwilioAuthToken: authToken,
      TwilioPhoneNumber: senders[0] ?? '',
      TwilioApiBaseUrl: url,
      TwilioVoiceFrom: senders[0] ?? '',
      TwilioWhatsAppFrom: whatsAppSenders[0] ?? '',
      TwilioWhatsAppContentSid: DEFAULT_CONTENT_SID,
    }),
    reset: () => {
      outbox.clear();
      faults.reset();
      calls.reset();
      creates = 0;
    },
    close: async () => {
      outbox.clear();
      await listening.close();
    },
  };
  return api;
}

/** A {@link SendFault} whose `status` and `code` are required, `code` a Twilio error number; `hang` is ignored. */
function parseFault(value: unknown): TwilioFault | string {
  if (!isRecord(value))
    return 'Expected a JSON object {status, code, count?, message?, retryAfterSeconds?}.';
  const { status, code } = value;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    return '`status` must be an integer 400..599.';
  if (typeof code !== 'number' || !Number.isInteger(code))
    return '`code` must be an integer Twilio error code.';
  const fault = parseSendFault({ ...value, hang: undefined });
  return typeof fault === 'string' ? fault : { ...fault, status, code };
}
