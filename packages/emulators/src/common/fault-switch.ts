import type http from 'node:http';
import { isRecord, jsonControlRoute, sendEmpty, sendJson, sendProblem } from './http';

/**
 * The fault switch of an emulator's send operation: the next `count` sends fail with `status` (and the
 * service's own error `code`/`message`), or hang (no answer until the client gives up), so tests and the
 * dashboard can show a provider outage and the app's failover. Armed through `failNext()` in process or
 * `POST /_emulator/<name>/faults` with the same JSON; `GET` there reads what is armed, `DELETE` disarms.
 */

export interface SendFault {
  /** How many sends fail; default 1. */
  readonly count?: number;
  /** HTTP status 400..599; ignored when `hang`. */
  readonly status?: number;
  /** The service's error code (a Twilio number or an ACS string). */
  readonly code?: number | string;
  readonly message?: string;
  /** Adds `Retry-After` (seconds). */
  readonly retryAfterSeconds?: number;
  /** Never answer: the client's timeout (or the connection's end) decides. */
  readonly hang?: boolean;
}

/** A fault taken for one send. */
export type TakenFault =
  | { readonly hang: true }
  | {
      readonly hang: false;
      readonly status: number;
      readonly code: number | string | undefined;
      readonly message: string | undefined;
      readonly headers: Record<string, string>;
    };

/** What is armed, in the order sends will take it: the dashboard shows it. */
export interface FaultSwitchState {
  readonly armed: readonly {
    readonly remaining: number;
    readonly hang: boolean;
    readonly status: number | null;
  }[];
  /** Requests held open by a `hang` fault right now. */
  readonly hanging: number;
}

/** A hung request is dropped after this long, so held sockets cannot pile up. */
const MAX_HANG_MS = 120_000;

export class FaultSwitch {
  private faults: { remaining: number; fault: SendFault }[] = [];
  private readonly hung = new Set<http.ServerResponse>();

  failNext(fault: SendFault): void {
    this.faults.push({ remaining: fault.count ?? 1, fault });
  }

  /** The fault for this send, if one is armed (consumes one of its count). */
  take(): TakenFault | undefined {
    const head = this.faults[0];
    if (head === undefined) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) this.faults.shift();
    const f = head.fault;
    if (f.hang === true) return { hang: true };
    return {
      hang: false,
      status: f.status ?? 503,
      code: f.code,
      message: f.message,
      headers:
        f.retryAfterSeconds === undefined ? {} : { 'retry-after': String(f.retryAfterSeconds) },
    };
  }

  /** Holds the response open without answering; reset, close or {@link MAX_HANG_MS} end it. */
  hang(res: http.ServerResponse): void {
    this.hung.add(res);
    const timer = setTimeout(() => res.destroy(), MAX_HANG_MS);
    timer.unref();
    res.on('close', () => {
      clearTimeout(timer);
      this.hung.delete(res);
    });
  }

  state(): FaultSwitchState {
    return {
      armed: this.faults.map(({ remaining, fault }) => ({
        remaining,
        hang: fault.hang === true,
        status: fault.hang === true ? null : (fault.status ?? 503),
      })),
      hanging: this.hung.size,
    };
  }

  /** Disarms every fault and drops every hung request. */
  reset(): void {
    this.faults = [];
    for (const res of [...this.hung]) res.destroy();
  }

  /**
   * `/_emulator/<name>/faults`: `POST` a {@link SendFault} as JSON (204, or 400 with a problem), `GET` the
   * {@link FaultSwitchState}, `DELETE` to disarm (204). Other methods: 405.
   */
  async handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      await jsonControlRoute(parseSendFault, (fault) => this.failNext(fault))(req, res);
    } else if (method === 'GET') {
      sendJson(res, 200, this.state());
    } else if (method === 'DELETE') {
      this.reset();
      sendEmpty(res, 204);
    } else {
      req.resume();
      sendProblem(res, 405, 'Method Not Allowed', 'GET, POST or DELETE.');
    }
  }
}

export function parseSendFault(value: unknown): SendFault | string {
  if (!isRecord(value)) {
    return 'Expected a JSON object {status | hang: true, count?, code?, message?, retryAfterSeconds?}.';
  }
  const { status, code, count, message, retryAfterSeconds, hang } = value;
  if (hang !== undefined && typeof hang !== 'boolean') return '`hang` must be a boolean.';
  if (
    hang !== true &&
    (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
  ) {
    return '`status` must be an integer 400..599 (or `hang: true`).';
  }
  if (code !== undefined && typeof code !== 'number' && typeof code !== 'string') {
    return '`code` must be a number or a string.';
  }
  if (
    count !== undefined &&
    (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000)
  ) {
    return '`count` must be an integer 1..1000.';
  }
  if (message !== undefined && typeof message !== 'string') return '`message` must be a string.';
  if (
    retryAfterSeconds !== undefined &&
    (typeof retryAfterSeconds !== 'number' || retryAfterSeconds < 0)
  ) {
    return '`retryAfterSeconds` must be a non-negative number.';
  }
  return {
    ...(typeof status === 'number' ? { status } : {}),
    ...(code === undefined ? {} : { code }),
    ...(count === undefined ? {} : { count }),
    ...(message === undefined ? {} : { message }),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    ...(hang === undefined ? {} : { hang }),
  };
}
