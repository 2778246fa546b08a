import { isIP } from 'node:net';

import type { ClientIpSettings } from './settings';

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
