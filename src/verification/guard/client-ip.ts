import { isIP } from 'node:net';

import { GUARD_ENV_KEYS, loadGuardSection, type Env } from './env';

/**
 * Where the client IP comes from. The v4 programming model does not expose the socket's peer
 * address, so the only source is a header that a proxy in front of the app sets. On Azure
 * Functions that proxy is the App Service front end: it appends the address it accepted the
 * connection from to `X-Forwarded-For`, so the default trusts exactly that one (rightmost) entry.
 * Entries to the left of it are whatever the client sent and are never used.
 */
export interface ClientIpSettings {
  /** Lower-case header name, or undefined when `VERIFICATION_CLIENT_IP_HEADER=none`. */
  readonly header: string | undefined;
  /**
   * How many proxies you run that each append one entry: the client is the entry this many places
   * from the right (1 = the rightmost). Behind Front Door or Application Gateway and then App
   * Service, set 2.
   */
  readonly trustedProxyHops: number;
}

export const CLIENT_IP_DEFAULTS = { header: 'x-forwarded-for', trustedProxyHops: 1 } as const;
export const TRUSTED_PROXY_HOPS_RANGE = { min: 1, max: 10 } as const;

/** The one header accessor this needs; `@azure/functions`' `HttpRequest.headers` has it. */
export interface HeaderSource {
  get(name: string): string | null;
}

export interface ClientIp {
  /** The address as found, normalised (no port, no brackets, IPv4-mapped IPv6 as IPv4). */
  readonly address: string;
  /**
   * What velocity limits count: the IPv4 address, or the /64 of an IPv6 address (one subscriber
   * usually holds a whole /64, so counting single IPv6 addresses would be no limit at all).
   */
  readonly limitKey: string;
}

/** Bounds the work done on a header the client controls. */
const MAX_HEADER_LENGTH = 2048;
const HEADER_NAME_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The client IP by the configured header and hop count, or undefined when the header is off,
 * missing, too short for the hop count (the request did not come through every proxy), or the
 * chosen entry is not an IP address. Never falls back to a less trusted entry.
 */
export function clientIpFrom(
  headers: HeaderSource,
  settings: ClientIpSettings,
): ClientIp | undefined {
  if (settings.header === undefined) return undefined;
  const raw = headers.get(settings.header);
  if (raw === null || raw.length > MAX_HEADER_LENGTH) return undefined;
  const entries = raw.split(',').map((entry) => entry.trim());
  const chosen = entries[entries.length - settings.trustedProxyHops];
  if (chosen === undefined) return undefined;
  const address = normaliseAddress(chosen);
  return address === undefined ? undefined : { address, limitKey: limitKeyOf(address) };
}

/** `VERIFICATION_CLIENT_IP_HEADER` (`none` to turn the per-IP limit off) and `VERIFICATION_TRUSTED_PROXY_HOPS`. */
export function loadClientIpSettings(env: Env): ClientIpSettings {
  return loadGuardSection(env, (reader) => {
    const name = reader.optional(GUARD_ENV_KEYS.clientIpHeader) ?? CLIENT_IP_DEFAULTS.header;
    let header: string | undefined = name.toLowerCase();
    if (header === 'none') {
      header = undefined;
    } else if (!HEADER_NAME_PATTERN.test(name)) {
      reader.report(GUARD_ENV_KEYS.clientIpHeader, 'must be a header name or "none"');
    }
    const trustedProxyHops = reader.integer(
      GUARD_ENV_KEYS.trustedProxyHops,
      CLIENT_IP_DEFAULTS.trustedProxyHops,
      TRUSTED_PROXY_HOPS_RANGE,
    );
    return { header, trustedProxyHops };
  });
}

/** Accepts `1.2.3.4`, `1.2.3.4:567`, `::1`, `[::1]:567`, and strips an IPv6 zone id. */
function normaliseAddress(entry: string): string | undefined {
  let candidate = entry;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(candidate);
  if (bracketed?.[1] !== undefined) {
    candidate = bracketed[1];
  } else if (/^[\d.]+:\d{1,5}$/.test(candidate)) {
    candidate = candidate.slice(0, candidate.lastIndexOf(':'));
  }
  candidate = candidate.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(candidate);
  if (mapped?.[1] !== undefined) candidate = mapped[1];
  const version = isIP(candidate);
  return version === 0 ? undefined : candidate;
}

function limitKeyOf(address: string): string {
  if (isIP(address) === 4) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** Eight hextets without leading zeros, for an address `isIP` already accepted as IPv6. */
function expandIpv6(address: string): string[] {
  let text = address;
  const embedded = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (embedded !== null) {
    const [a, b, c, d] = embedded.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, embedded.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((part) => parseInt(part, 16).toString(16));
}
