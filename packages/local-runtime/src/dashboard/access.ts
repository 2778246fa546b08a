/**
 * Who may use the dashboard. It acts with the system key, so by default only this machine may: the client
 * must connect from a loopback address and address the host by a loopback name (a DNS-rebinding page on
 * `evil.example` resolving to 127.0.0.1 is refused), and state-changing calls must be same-origin requests
 * carrying the dashboard's header (a cross-site form or image cannot set it). A request a proxy forwarded
 * (`Forwarded`, `X-Forwarded-For`, `X-Forwarded-Host`) counts as remote even on a loopback connection: a
 * reverse proxy on this machine connects from 127.0.0.1 on behalf of anyone, unless
 * `LOCAL_DASHBOARD_TRUST_PROXY` says that proxy admits only this machine's users.
 */
import type * as http from 'node:http';
import { keyEquals } from '../keys';

/** Every state-changing dashboard API call carries this header; browsers refuse to set it cross-origin. */
export const DASHBOARD_REQUEST_HEADER = 'x-dashboard-request';

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** `localhost`, `127.x.y.z` or `[::1]`, with any port. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const name = host
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || isLoopbackAddress(name);
}

export type AccessDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly status: 403 | 401; readonly detail: string };

export interface AccessOptions {
  /** Setting `LOCAL_DASHBOARD_ALLOW_REMOTE`: other machines may use it, with the master key. */
  readonly allowRemote: boolean;
  readonly masterKey: string;
  /** Setting `LOCAL_DASHBOARD_TRUST_PROXY`: a forwarded request on loopback still counts as local. */
  readonly trustProxy?: boolean;
}

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host'] as const;

function isForwarded(req: http.IncomingMessage): boolean {
  return FORWARDING_HEADERS.some((name) => req.headers[name] !== undefined);
}

/** Pages and assets are not secret; the API is. */
export function decideAccess(
  req: http.IncomingMessage,
  isApi: boolean,
  options: AccessOptions,
): AccessDecision {
  const local =
    isLoopbackAddress(req.socket.remoteAddress) &&
    isLoopbackHostHeader(req.headers.host) &&
    (options.trustProxy === true || !isForwarded(req));
  if (!local) {
    if (!options.allowRemote) {
      return {
        allowed: false,
        status: 403,
        detail:
          'The dashboard only answers on loopback (http://localhost), not through a proxy. Set LOCAL_DASHBOARD_ALLOW_REMOTE=true to allow other machines (they need the master key), or LOCAL_DASHBOARD_TRUST_PROXY=true for a proxy that admits only this machine.',
      };
    }
    const presented = req.headers['x-functions-key'];
    if (
      isApi &&
      !keyEquals(Array.isArray(presented) ? presented[0] : presented, options.masterKey)
    ) {
      return {
        allowed: false,
        status: 401,
        detail: 'From another machine the dashboard API needs the master key (x-functions-key).',
      };
    }
  }
  const method = (req.method ?? 'GET').toUpperCase();
  if (isApi && method !== 'GET' && method !== 'HEAD') {
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin === `http://${req.headers.host ?? ''}`;
    if (!sameOrigin || req.headers[DASHBOARD_REQUEST_HEADER] !== '1') {
      return {
        allowed: false,
        status: 403,
        detail: `Dashboard actions must come from the dashboard page (same origin, ${DASHBOARD_REQUEST_HEADER} header).`,
      };
    }
  }
  return { allowed: true };
}
