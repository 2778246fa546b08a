import type http from 'node:http';
import type { FaultSwitch } from './fault-switch';
import { sendEmpty } from './http';
import type { Outbox } from './outbox';

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
 * `GET|DELETE /_emulator/<name>` (read, empty the outbox) and `POST /_emulator/<name>/faults` (arm the
 * send's fault switch), as every emulated send API serves them; false when `path` is none of them.
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
  if (path === `${base}/faults` && method === 'POST') {
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
