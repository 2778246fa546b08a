import crypto from 'node:crypto';
import type http from 'node:http';
import {
  defaultLog,
  isRecord,
  listen,
  type LogFn,
  parseJsonBody,
  pathOf,
  queryOf,
  readBody,
  sendCommonEmulatorRoute,
  sendEmpty,
  sendJson,
  sendProblem,
  wrapHandler,
} from '../common/http';
import {
  DEFAULT_LIFECYCLE_TIMING,
  type EmulatorClock,
  FAILING_DESTINATIONS,
  type LifecycleTiming,
  type MessageStatus,
  nextStep,
  priceOf,
  systemEmulatorClock,
  twilioSignature,
} from './lifecycle';

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

export interface TwilioEmulatorOptions {
  port?: number;
  host?: string;
  accountSid?: string;
  authToken?: string;
  /** Sender numbers owned by the account (`From` must be one of them). */
  senders?: string[];
  /** Messaging services owned by the account (`MessagingServiceSid` must be one of them). */
  messagingServiceSids?: string[];
  /** API keys (`SK...` sid + secret) that may authenticate instead of the auth token. */
  apiKeys?: { sid: string; secret: string }[];
  log?: LogFn;
  /** Also log `SMS to <to>: <body>` for every accepted message, so a person can read the code (used by `npm start`). */
  printMessages?: boolean;
  /** Clock for dates and the lifecycle (the local runtime passes its own); defaults to the system clock. */
  clock?: EmulatorClock;
  /** Lifecycle step delays, or `false` to leave messages at their initial status. */
  lifecycle?: LifecycleTiming | false;
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
  /** Reads of the outbox waiting for their messages (`waitMs`), for tests to sync on. */
  waitingReads(): number;
  /** The app settings (`Twilio*`) that point the app's Twilio SDK at this emulator. */
  appSettings(): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

const E164 = /^\+[1-9]\d{7,14}$/;
/** Oldest messages are dropped beyond this, so a long `npm start` session cannot grow without bound. */
const MAX_OUTBOX = 10_000;
/** `GET /_emulator/messages?waitMs=`: the longest a read of the outbox may wait for its messages. */
const MAX_OUTBOX_WAIT_MS = 30_000;
/** Waiting reads beyond this are answered at once, so waiting clients cannot grow without bound. */
const MAX_OUTBOX_WAITERS = 10_000;

/** A read of the outbox waiting for `count` messages to `to` (any recipient when undefined). */
interface OutboxWaiter {
  readonly to: string | undefined;
  readonly count: number;
  answer(): void;
}
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Twilio's date format: RFC 2822 with a numeric `+0000` zone, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function formatTwilioDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

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

function timingSafeEqualStr(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

function twilioError(
  res: http.ServerResponse,
  status: number,
  code: number,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status, ...extra },
    headers,
    'application/json',
  );
}

interface ActiveFault {
  count: number;
  status: number;
  code: number;
  message: string | undefined;
  retryAfterSeconds: number | undefined;
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
const CALLBACK_TIMEOUT_MS = 5_000;
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
  const log = opts.log ?? defaultLog;
  const clock = opts.clock ?? systemEmulatorClock;
  const now = (): Date => clock.now();
  const timing =
    opts.lifecycle === false ? undefined : { ...DEFAULT_LIFECYCLE_TIMING, ...opts.lifecycle };
  if (!/^AC[0-9a-zA-Z]{32}$/.test(accountSid))
    throw new Error('accountSid must be AC followed by 32 characters');

  let outbox: StoredMessage[] = [];
  let faults: ActiveFault[] = [];
  let creates = 0;
  const waiters = new Set<OutboxWaiter>();

  const countFor = (to: string | undefined): number =>
    to === undefined ? outbox.length : outbox.reduce((n, m) => (m.to === to ? n + 1 : n), 0);
  /**
   * After a create: the waiting reads for its recipient (or for any) that now have their messages. The
   * recipient's count is taken once, not once per waiter: O(outbox + waiters) per create, where a scan per
   * waiter was O(waiters × outbox) (both up to 10,000 in a bench fill with long polls).
   */
  const answerWaiters = (to: string): void => {
    const forRecipient = countFor(to);
    for (const w of [...waiters]) {
      if (w.to === undefined ? outbox.length >= w.count : w.to === to && forRecipient >= w.count)
        w.answer();
    }
  };
  const answerAllWaiters = (): void => {
    for (const w of [...waiters]) w.answer();
  };

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
    m.callbacks = m.callbacks.then(async () => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': twilioSignature(authToken, url, params),
            'user-agent': 'TwilioProxy/1.1',
          },
          body: new URLSearchParams(params).toString(),
          signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
        });
        await res.arrayBuffer().catch(() => undefined);
        log(`[twilio] status callback ${status} answered ${res.status}`);
      } catch (e) {
        log(`[twilio] status callback ${status} failed: ${e instanceof Error ? e.name : 'error'}`);
      }
    });
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
    const fault = faults[0];
    if (fault !== undefined) {
      fault.count -= 1;
      if (fault.count <= 0) faults.shift();
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(fault.retryAfterSeconds) };
      twilioError(
        res,
        fault.status,
        fault.code,
        fault.message ?? `Emulated failure ${fault.code}`,
        {},
        headers,
      );
      return;
    }
    const to = form.get('To')?.trim() ?? '';
    const from = form.get('From')?.trim() ?? '';
    const service = form.get('MessagingServiceSid')?.trim() ?? '';
    const body = form.get('Body') ?? '';
    const hasMedia = form.getAll('MediaUrl').length > 0 || (form.get('ContentSid') ?? '') !== '';
    if (to === '') return twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (from === '' && service === '')
      return twilioError(
        res,
        400,
        21603,
        "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
      );
    if (body === '' && !hasMedia) {
      return service === ''
        ? twilioError(res, 400, 21602, 'Message body is required.')
        : twilioError(res, 400, 21619, 'A text message body or media URL must be specified.');
    }
    if (!E164.test(to)) return twilioError(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    const magicFrom = MAGIC_FROM[from];
    if (magicFrom !== undefined) {
      return twilioError(res, 400, magicFrom.code, magicFrom.message(from));
    }
    if (from !== '' && !senders.includes(from)) {
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
    outbox.push(msg);
    if (outbox.length > MAX_OUTBOX) {
      for (const dropped of outbox.splice(0, outbox.length - MAX_OUTBOX)) forget(dropped);
    }
    if (opts.printMessages === true) log(`SMS to ${to}: ${body}`);
    scheduleNext(msg, sendAt);
    sendJson(res, 201, messageJson(msg), {}, 'application/json');
    if (waiters.size > 0) answerWaiters(to);
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
    sendJson(
      res,
      200,
      {
        messages: items.map(messageJson),
        uri: pageUri(page),
        first_page_uri: pageUri(0),
        next_page_uri: more ? `${pageUri(page + 1)}&PageToken=PASM${page + 1}` : null,
        previous_page_uri: page > 0 ? pageUri(page - 1) : null,
        page,
        page_size: size,
        start: page * size,
        end: page * size + Math.max(items.length - 1, 0),
      },
      {},
      'application/json',
    );
  };

  /**
   * `GET /_emulator/messages[?to=][&waitMs=&count=]`: the outbox, oldest first. With `waitMs`, the answer waits
   * until it holds `count` (default 1) messages to `to`, or `waitMs` has passed, so a test reads an SMS
   * without a polling loop; it then answers with what there is, 200 either way.
   */
  const readOutbox = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const q = queryOf(req);
    const to = q.get('to') ?? undefined;
    const waitMs = boundedInteger(q.get('waitMs'), 0, MAX_OUTBOX_WAIT_MS);
    const count = boundedInteger(q.get('count'), 1, MAX_OUTBOX);
    if (waitMs === 'invalid' || count === 'invalid') {
      return sendProblem(
        res,
        400,
        'Bad Request',
        `\`waitMs\` must be an integer 0..${MAX_OUTBOX_WAIT_MS} and \`count\` 1..${MAX_OUTBOX}.`,
      );
    }
    const respond = (): void => sendJson(res, 200, { messages: api.messages(to) });
    const wanted = count ?? 1;
    if (waitMs === undefined || waitMs === 0 || waiters.size >= MAX_OUTBOX_WAITERS)
      return respond();
    if (countFor(to) >= wanted) return respond();
    // The emulator's clock is test time elsewhere; this wait is the client's, so it is real time.
    const timer = setTimeout(() => waiter.answer(), waitMs);
    const waiter: OutboxWaiter = {
      to,
      count: wanted,
      answer: () => {
        if (!waiters.delete(waiter)) return;
        clearTimeout(timer);
        respond();
      },
    };
    waiters.add(waiter);
    res.on('close', () => {
      waiters.delete(waiter);
      clearTimeout(timer);
    });
  };

  const emulatorRoutes = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<void> => {
    const method = req.method ?? 'GET';
    if (path === '/_emulator/messages' && method === 'GET') return readOutbox(req, res);
    if (path === '/_emulator/messages' && method === 'DELETE') {
      outbox.forEach(forget);
      outbox = [];
      answerAllWaiters();
      sendEmpty(res, 204);
      return;
    }
    if (path === '/_emulator/faults' && method === 'POST') {
      let parsed: unknown;
      try {
        parsed = parseJsonBody(await readBody(req));
      } catch {
        return sendProblem(res, 400, 'Bad Request', 'The body is not valid JSON.');
      }
      const fault = parseFault(parsed);
      if (typeof fault === 'string') return sendProblem(res, 400, 'Bad Request', fault);
      api.failNext(fault);
      sendEmpty(res, 204);
      return;
    }
    sendCommonEmulatorRoute(res, method, path, api);
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (path.startsWith('/_emulator/')) return emulatorRoutes(req, res, path);
    res.setHeader('twilio-request-id', `RQ${crypto.randomBytes(16).toString('hex')}`);
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages(?:\/(SM[0-9a-f]{32}))?\.json$/.exec(path);
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
    const sid = m[2];
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
        outbox = outbox.filter((x) => x !== found);
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
    messages: (to) => outbox.filter((m) => to === undefined || m.to === to).map(publicView),
    lastMessage: (to) => {
      const all = outbox.filter((m) => m.to === to);
      const last = all[all.length - 1];
      return last === undefined ? undefined : publicView(last);
    },
    failNext: (fault) => {
      faults.push({
        count: fault.count ?? 1,
        status: fault.status,
        code: fault.code,
        message: fault.message,
        retryAfterSeconds: fault.retryAfterSeconds,
      });
    },
    requestCount: () => creates,
    waitingReads: () => waiters.size,
    appSettings: () => ({
      TwilioAccountSid: accountSid,
      TwilioAuthToken: authToken,
      TwilioPhoneNumber: senders[0] ?? '',
      TwilioApiBaseUrl: url,
    }),
    reset: () => {
      outbox.forEach(forget);
      outbox = [];
      answerAllWaiters();
      faults = [];
      creates = 0;
    },
    close: async () => {
      outbox.forEach(forget);
      answerAllWaiters();
      await listening.close();
    },
  };
  return api;
}

/** An optional integer query parameter within bounds: undefined when absent. */
function boundedInteger(
  raw: string | null,
  min: number,
  max: number,
): number | undefined | 'invalid' {
  if (raw === null) return undefined;
  if (!/^\d{1,6}$/.test(raw)) return 'invalid';
  const n = Number(raw);
  return n >= min && n <= max ? n : 'invalid';
}

function parseFault(value: unknown): TwilioFault | string {
  if (!isRecord(value))
    return 'Expected a JSON object {status, code, count?, message?, retryAfterSeconds?}.';
  const { status, code, count, message, retryAfterSeconds } = value;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    return '`status` must be an integer 400..599.';
  if (typeof code !== 'number' || !Number.isInteger(code))
    return '`code` must be an integer Twilio error code.';
  if (
    count !== undefined &&
    (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000)
  )
    return '`count` must be an integer 1..1000.';
  if (message !== undefined && typeof message !== 'string') return '`message` must be a string.';
  if (
    retryAfterSeconds !== undefined &&
    (typeof retryAfterSeconds !== 'number' || retryAfterSeconds < 0)
  )
    return '`retryAfterSeconds` must be a non-negative number.';
  return {
    status,
    code,
    ...(count === undefined ? {} : { count }),
    ...(message === undefined ? {} : { message }),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}
