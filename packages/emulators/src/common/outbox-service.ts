import type http from 'node:http';
import { FaultSwitch } from './fault-switch';
import { sendEmpty } from './http';
import { Outbox, type OutboxOptions } from './outbox';

/**
 * What every emulated send (SMS, email, call) serves around its {@link Outbox}: its fault switch and request
 * count on the API, and the `/_emulator/<name>` routes.
 */

export interface OutboxRoutes<T> {
  /** The outbox's name in `/_emulator/<name>`. */
  readonly name: string;
  /** The key of the list in a read's answer. */
  readonly key: string;
  readonly outbox: Outbox<T>;
  readonly faults: FaultSwitch;
  readonly view: (item: T) => unknown;
}

/**
 * `GET|DELETE /_emulator/<name>` (read, empty the outbox) and `GET|POST|DELETE /_emulator/<name>/faults`
 * (read, arm, disarm the send's fault switch), as every emulated send API serves them; false when `path` is none of them.
 */
export async function routeOutbox<T>(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  routes: OutboxRoutes<T>,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  const base = `/_emulator/${routes.name}`;
  if (path === base && method === 'GET') {
    routes.outbox.read(req, res, routes.key, routes.view);
    return true;
  }
  if (path === base && method === 'DELETE') {
    routes.outbox.clear();
    sendEmpty(res, 204);
    return true;
  }
  if (path === `${base}/faults`) {
    await routes.faults.handleRequest(req, res);
    return true;
  }
  return false;
}

/** What the API of every emulated send (SMS, email, call) offers besides its outbox's items. */
export interface OutboxSendApi {
  failNext: FaultSwitch['failNext'];
  /** Send requests received (including failed ones), for failover assertions. */
  requestCount(): number;
  waitingReads(): number;
}

export function outboxSendApi<T>(
  faults: FaultSwitch,
  outbox: Outbox<T>,
  requestCount: () => number,
): OutboxSendApi {
  return {
    failNext: (fault) => faults.failNext(fault),
    requestCount,
    waitingReads: () => outbox.waitingReads(),
  };
}

/** The API of an ACS send (SMS, Email): besides its outbox, the resource's senders it accepts. */
export interface AcsSendApi extends OutboxSendApi {
  readonly senders: readonly string[];
}

/** An ACS send as the ACS emulator serves it: its API path, its `/_emulator/<name>` routes and its state. */
export interface AcsSendService<A extends AcsSendApi> extends OutboxService {
  readonly api: A;
  /** True when `path` is this API's; the caller authenticates first. */
  handles(path: string): boolean;
}

/** A service that keeps an outbox: its `/_emulator/<name>` routes (see {@link routeOutbox}) and its reset. */
export interface OutboxService {
  /** False when `path` is not one of its routes. */
  emulatorRoute(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<boolean>;
  reset(): void;
}

/**
 * The state every emulated send (SMS, email, call) keeps around its outbox, and what it serves from it: the
 * fault switch, the count of send requests, the `/_emulator/<name>` routes, its API's counters and its reset.
 */
export class OutboxSend<T> implements OutboxService {
  readonly outbox: Outbox<T>;
  readonly faults = new FaultSwitch();
  readonly api: OutboxSendApi;
  private requests = 0;

  constructor(
    private readonly routes: Pick<OutboxRoutes<T>, 'name' | 'key' | 'view'>,
    options: OutboxOptions<T>,
  ) {
    this.outbox = new Outbox(options);
    this.api = outboxSendApi(this.faults, this.outbox, () => this.requests);
  }

  /** Counts one send request, failed ones included (`requestCount()`, for failover assertions). */
  countRequest(): void {
    this.requests += 1;
  }

  emulatorRoute(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<boolean> {
    return routeOutbox(req, res, path, {
      ...this.routes,
      outbox: this.outbox,
      faults: this.faults,
    });
  }

  reset(): void {
    this.outbox.clear();
    this.faults.reset();
    this.requests = 0;
  }
}
