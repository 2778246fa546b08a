import crypto from 'node:crypto';
import type http from 'node:http';
import {
  isRecord,
  type LogFn,
  parseJsonBody,
  queryOf,
  readBody,
  sendEmpty,
  sendJson,
  sendProblem,
} from '../common/http';
import { OutboxSend } from '../common/outbox-service';
import type { OutboxSendApi, OutboxService } from '../common/outbox-service';
import type { EmulatorClock } from './lifecycle';
import {
  formatTwilioDate,
  postSigned,
  postSignedCallback,
  sendTwilioPage,
  twilioError,
} from './wire';

/**
 * Twilio Programmable Voice's Calls resource (2010-04-01) as twilio-node's `client.calls` uses it: create
 * with `Twiml` (kept, and its `<Say>` text readable) or `Url`, fetch, list, and the call's lifecycle on the
 * emulator clock, `queued → ringing → in-progress → completed`, each change POSTed (signed) to
 * `StatusCallback` for the events named in `StatusCallbackEvent` (`initiated ringing answered completed`;
 * only `completed` when none is named, as Twilio does).
 */

export type CallStatus =
  'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';

/** Delays of the call's steps, in ms after the previous one. */
export interface CallTiming {
  readonly ringingAfterMs?: number;
  readonly answeredAfterMs?: number;
  /** How long the call lasts once answered. */
  readonly completedAfterMs?: number;
}

export const DEFAULT_CALL_TIMING: Required<CallTiming> = {
  ringingAfterMs: 1_000,
  answeredAfterMs: 4_000,
  completedAfterMs: 15_000,
};

/** Destinations that never answer: busy, or ringing out. */
export const UNANSWERED_DESTINATIONS: Readonly<Record<string, 'busy' | 'no-answer'>> = {
  '+15005550013': 'busy',
  '+15005550014': 'no-answer',
};

export interface SpokenText {
  readonly text: string;
  readonly language: string | null;
}

export interface EmulatedCall {
  sid: string;
  to: string;
  from: string;
  status: CallStatus;
  /** The TwiML given at create (null when the call was given a `Url`). */
  twiml: string | null;
  url: string | null;
  /**
   * The `<Say>` texts the callee heard, in order. With a `<Gather>`: those up to it, then what its action
   * answered to a key press ({@link CallsApi.pressKey}), or the texts after it once the call ends unanswered.
   */
  spoken: SpokenText[];
  /** A `<Gather>` waiting for a key (its `action` URL), or null. */
  awaitingKey: string | null;
  /** The key pressed, or null. */
  digits: string | null;
  /** ISO 8601. */
  dateCreated: string;
  statusCallback: string | null;
}

export interface CallsApi extends OutboxSendApi {
  calls(to?: string): EmulatedCall[];
  /**
   * The callee presses `digits` on an answered call whose `<Gather>` waits: the emulator POSTs them (signed)
   * to the Gather's action and speaks the TwiML it answers. `not-waiting` for a call that is not answered
   * or has no Gather waiting.
   */
  pressKey(sid: string, digits: string): Promise<KeyPressResult>;
}

export type KeyPressResult =
  | { readonly pressed: true; readonly actionStatus: number }
  | { readonly pressed: false; readonly reason: 'not-found' | 'not-waiting' };

interface StoredCall extends EmulatedCall {
  /** The `<Say>`s after a waiting `<Gather>`: heard when no key comes. */
  unanswered: SpokenText[];
  readonly created: Date;
  updated: Date;
  started: Date | null;
  ended: Date | null;
  readonly events: readonly string[];
  sequence: number;
  cancelStep: (() => void) | undefined;
  callbacks: Promise<void>;
}

const E164 = /^\+[1-9]\d{7,14}$/;
const MAX_TWIML_CHARS = 4000;
const CALL_EVENTS: Readonly<Partial<Record<CallStatus, string>>> = {
  queued: 'initiated',
  ringing: 'ringing',
  'in-progress': 'answered',
  completed: 'completed',
  busy: 'completed',
  'no-answer': 'completed',
  failed: 'completed',
  canceled: 'completed',
};

/** The `<Say>` elements of a TwiML document (text unescaped), in document order. */
export function spokenTexts(twiml: string): SpokenText[] {
  const out: SpokenText[] = [];
  for (const m of twiml.matchAll(/<Say\b([^>]*)>([\s\S]*?)<\/Say>/g)) {
    const language = /\blanguage="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? null;
    out.push({ text: unescapeXml((m[2] ?? '').trim()), language });
  }
  return out;
}

/**
 * The first `<Gather>` with an `action` (inline TwiML has no document URL to post to otherwise): its action,
 * and the `<Say>`s up to its end and after it.
 */
export function gatherOf(
  twiml: string,
): { action: string; before: SpokenText[]; after: SpokenText[] } | undefined {
  const m = /<Gather\b([^>]*)>[\s\S]*?<\/Gather>/.exec(twiml);
  const action = /\baction="([^"]+)"/.exec(m?.[1] ?? '')?.[1];
  if (m === null || action === undefined) return undefined;
  const end = m.index + m[0].length;
  return {
    action: unescapeXml(action),
    before: spokenTexts(twiml.slice(0, end)),
    after: spokenTexts(twiml.slice(end)),
  };
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export interface CallsService extends OutboxService {
  readonly api: CallsApi;
  /** `…/Calls.json` and `…/Calls/{Sid}.json` of the (authenticated) account. */
  handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    sid: string | undefined,
    path: string,
  ): Promise<void>;
}

export function createCallsService(opts: {
  accountSid: string;
  authToken: string;
  senders: readonly string[];
  clock: EmulatorClock;
  timing: Required<CallTiming> | undefined;
  log: LogFn;
  printMessages: boolean;
}): CallsService {
  const { accountSid, authToken, clock, log } = opts;
  const sends = new OutboxSend<StoredCall>(
    { name: 'calls', key: 'calls', view: (c) => publicView(c) },
    { recipientOf: (c) => c.to, onDrop: (c) => c.cancelStep?.() },
  );
  const { outbox, faults } = sends;

  const publicView = (c: StoredCall): EmulatedCall => ({
    sid: c.sid,
    to: c.to,
    from: c.from,
    status: c.status,
    twiml: c.twiml,
    url: c.url,
    spoken: c.spoken,
    awaitingKey: c.awaitingKey,
    digits: c.digits,
    dateCreated: c.dateCreated,
    statusCallback: c.statusCallback,
  });

  const duration = (c: StoredCall): string | null =>
    c.ended === null
      ? null
      : String(
          c.started === null ? 0 : Math.round((c.ended.getTime() - c.started.getTime()) / 1000),
        );

  const callJson = (c: StoredCall): Record<string, unknown> => {
    const base = `/2010-04-01/Accounts/${accountSid}/Calls/${c.sid}`;
    return {
      account_sid: accountSid,
      annotation: null,
      answered_by: null,
      api_version: '2010-04-01',
      caller_name: null,
      date_created: formatTwilioDate(c.created),
      date_updated: formatTwilioDate(c.updated),
      direction: 'outbound-api',
      duration: duration(c),
      end_time: c.ended === null ? null : formatTwilioDate(c.ended),
      forwarded_from: null,
      from: c.from,
      from_formatted: c.from,
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: `PN${crypto.createHash('sha256').update(c.from).digest('hex').slice(0, 32)}`,
      price: c.ended === null || c.started === null ? null : '-0.01400',
      price_unit: 'USD',
      queue_time: '0',
      sid: c.sid,
      start_time: c.started === null ? null : formatTwilioDate(c.started),
      status: c.status,
      subresource_uris: {
        notifications: `${base}/Notifications.json`,
        recordings: `${base}/Recordings.json`,
        events: `${base}/Events.json`,
      },
      to: c.to,
      to_formatted: c.to,
      trunk_sid: null,
      uri: `${base}.json`,
    };
  };

  const notify = (c: StoredCall): void => {
    const url = c.statusCallback;
    const event = CALL_EVENTS[c.status];
    if (url === null || event === undefined || !c.events.includes(event)) return;
    const params: Record<string, string> = {
      AccountSid: accountSid,
      ApiVersion: '2010-04-01',
      CallSid: c.sid,
      CallStatus: c.status,
      CallbackSource: 'call-progress-events',
      Called: c.to,
      Caller: c.from,
      Direction: 'outbound-api',
      From: c.from,
      SequenceNumber: String(c.sequence),
      Timestamp: formatTwilioDate(c.updated),
      To: c.to,
      ...(c.ended === null ? {} : { CallDuration: duration(c) ?? '0' }),
    };
    c.sequence += 1;
    const status = c.status;
    c.callbacks = c.callbacks.then(() => postSignedCallback(url, params, authToken, log, status));
  };

  const setStatus = (c: StoredCall, status: CallStatus): void => {
    const at = clock.now();
    c.status = status;
    c.updated = at;
    if (status === 'in-progress') c.started = at;
    if (CALL_EVENTS[status] === 'completed') {
      c.ended = at;
      // The Gather timed out: the callee heard what follows it.
      if (c.awaitingKey !== null && status === 'completed') c.spoken.push(...c.unanswered);
      c.awaitingKey = null;
    }
    notify(c);
  };

  const nextStep = (c: StoredCall): { status: CallStatus; afterMs: number } | undefined => {
    const t = opts.timing;
    if (t === undefined) return undefined;
    const unanswered = UNANSWERED_DESTINATIONS[c.to];
    if (c.status === 'queued') {
      return unanswered === 'busy'
        ? { status: 'busy', afterMs: t.ringingAfterMs }
        : { status: 'ringing', afterMs: t.ringingAfterMs };
    }
    if (c.status === 'ringing') {
      return unanswered === 'no-answer'
        ? { status: 'no-answer', afterMs: t.answeredAfterMs }
        : { status: 'in-progress', afterMs: t.answeredAfterMs };
    }
    if (c.status === 'in-progress') return { status: 'completed', afterMs: t.completedAfterMs };
    return undefined;
  };

  const scheduleNext = (c: StoredCall): void => {
    const step = nextStep(c);
    if (step === undefined) {
      c.cancelStep = undefined;
      return;
    }
    c.cancelStep = clock.wakeAt(new Date(clock.now().getTime() + step.afterMs), () => {
      c.cancelStep = undefined;
      setStatus(c, step.status);
      scheduleNext(c);
    });
  };

  const create = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    sends.countRequest();
    const fault = faults.take();
    if (fault?.hang === true) return faults.hang(res);
    if (fault !== undefined) {
      return twilioError(
        res,
        fault.status,
        typeof fault.code === 'number' ? fault.code : 20500,
        fault.message ?? 'Emulated failure',
        {},
        fault.headers,
      );
    }
    const to = form.get('To')?.trim() ?? '';
    const from = form.get('From')?.trim() ?? '';
    const twiml = form.get('Twiml');
    const url = form.get('Url');
    if (to === '') return twilioError(res, 400, 21201, "No 'To' number is specified");
    if (from === '') return twilioError(res, 400, 21213, "No 'From' number is specified");
    if ((twiml === null || twiml === '') && (url === null || url === '')) {
      return twilioError(res, 400, 21205, 'Url parameter is required.');
    }
    if (!E164.test(to)) return twilioError(res, 400, 13224, `Invalid 'To' Phone Number: ${to}`);
    if (!opts.senders.includes(from)) {
      return twilioError(
        res,
        400,
        21210,
        `The source phone number provided, ${from}, is not yet verified for your account.`,
      );
    }
    if (twiml !== null && twiml.length > MAX_TWIML_CHARS) {
      return twilioError(res, 400, 21236, `Twiml exceeds ${MAX_TWIML_CHARS} characters.`);
    }
    const created = clock.now();
    const events = form
      .getAll('StatusCallbackEvent')
      .flatMap((e) => e.split(/\s+/))
      .filter((e) => e !== '');
    const gather = twiml === null ? undefined : gatherOf(twiml);
    const call: StoredCall = {
      sid: `CA${crypto.randomBytes(16).toString('hex')}`,
      to,
      from,
      status: 'queued',
      twiml: twiml === '' ? null : twiml,
      url: url === '' ? null : url,
      spoken: twiml === null ? [] : (gather?.before ?? spokenTexts(twiml)),
      awaitingKey: gather?.action ?? null,
      digits: null,
      unanswered: gather?.after ?? [],
      dateCreated: created.toISOString(),
      statusCallback: form.get('StatusCallback'),
      created,
      updated: created,
      started: null,
      ended: null,
      events: events.length === 0 ? ['completed'] : events,
      sequence: 0,
      cancelStep: undefined,
      callbacks: Promise.resolve(),
    };
    outbox.add(call);
    if (opts.printMessages) {
      log(
        `Call to ${to}: ${call.spoken.map((s) => s.text).join(' ') || `(TwiML from ${call.url ?? '?'})`}`,
      );
    }
    notify(call);
    scheduleNext(call);
    sendJson(res, 201, callJson(call), {}, 'application/json');
  };

  const list = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    const q = queryOf(req);
    const size = Math.min(Math.max(Number(q.get('PageSize') ?? '50') || 50, 1), 1000);
    const page = Math.max(Number(q.get('Page') ?? '0') || 0, 0);
    const to = q.get('To');
    const from = q.get('From');
    const status = q.get('Status');
    const all = outbox
      .list()
      .filter(
        (c) =>
          (to === null || c.to === to) &&
          (from === null || c.from === from) &&
          (status === null || c.status === status),
      )
      .reverse();
    const items = all.slice(page * size, (page + 1) * size);
    const pageUri = (n: number): string => `${path}?PageSize=${size}&Page=${n}`;
    sendTwilioPage(res, 'calls', items.map(callJson), {
      page,
      size,
      uri: pageUri,
      nextPageUri: (page + 1) * size < all.length ? pageUri(page + 1) : null,
    });
  };

  const pressKey = async (sid: string, digits: string): Promise<KeyPressResult> => {
    const c = outbox.find((candidate) => candidate.sid === sid);
    if (c === undefined) return { pressed: false, reason: 'not-found' };
    const action = c.awaitingKey;
    if (action === null || c.status !== 'in-progress')
      return { pressed: false, reason: 'not-waiting' };
    c.awaitingKey = null;
    c.digits = digits;
    const params: Record<string, string> = {
      AccountSid: accountSid,
      ApiVersion: '2010-04-01',
      CallSid: c.sid,
      CallStatus: c.status,
      Called: c.to,
      Caller: c.from,
      Digits: digits,
      Direction: 'outbound-api',
      FinishedOnKey: '',
      From: c.from,
      To: c.to,
      msg: 'Gather End',
    };
    const answer = await postSigned(action, params, authToken);
    const next = await answer.text();
    // Twilio plays the action's TwiML; an error answer is an application error, nothing of it is spoken.
    const heard = answer.ok ? spokenTexts(next) : [];
    c.spoken.push(...heard);
    log(`[twilio] key ${digits} on ${c.sid}: action answered ${answer.status}`);
    if (opts.printMessages && heard.length > 0) {
      log(`Call to ${c.to} (after key ${digits}): ${heard.map((s) => s.text).join(' ')}`);
    }
    return { pressed: true, actionStatus: answer.status };
  };

  /** `POST /_emulator/calls/{sid}/digits` with `{"digits": "1"}`: {@link pressKey} over HTTP. */
  const pressKeyRoute = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<boolean> => {
    const m = /^\/_emulator\/calls\/(CA[0-9a-f]{32})\/digits$/.exec(path);
    if (m === null || req.method !== 'POST') return false;
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = parseJsonBody(raw);
    } catch {
      body = undefined;
    }
    const digits = isRecord(body) ? body['digits'] : undefined;
    if (typeof digits !== 'string' || !/^[0-9*#]{1,10}$/.test(digits)) {
      sendProblem(res, 400, 'Bad Request', '`digits` must be 1-10 of 0-9, * and #.');
      return true;
    }
    const result = await pressKey(m[1]!, digits);
    if (result.pressed) sendJson(res, 200, result);
    else if (result.reason === 'not-found') sendProblem(res, 404, 'Not Found', 'No such call.');
    else sendProblem(res, 409, 'Conflict', 'The call is not answered or waits for no key.');
    return true;
  };

  return {
    api: {
      pressKey,
      calls: (to) => outbox.list(to).map(publicView),
      ...sends.api,
    },
    handle: async (req, res, sid, path) => {
      const method = req.method ?? 'GET';
      if (sid === undefined && method === 'POST') return create(req, res);
      if (sid === undefined && method === 'GET') return list(req, res, path);
      const found = sid === undefined ? undefined : outbox.find((c) => c.sid === sid);
      if (found === undefined) {
        return twilioError(res, 404, 20404, `The requested resource ${path} was not found`);
      }
      if (method === 'GET') return sendJson(res, 200, callJson(found), {}, 'application/json');
      if (method === 'DELETE') {
        found.cancelStep?.();
        outbox.remove(found);
        return sendEmpty(res, 204);
      }
      twilioError(res, 405, 20004, 'Method not allowed');
    },
    emulatorRoute: async (req, res, path) =>
      (await pressKeyRoute(req, res, path)) || sends.emulatorRoute(req, res, path),
    reset: () => sends.reset(),
  };
}
