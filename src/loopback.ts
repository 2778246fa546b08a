import { isIP } from 'node:net';

/**
 * True for hosts that cannot leave the machine: `localhost` and `*.localhost` (RFC 6761 reserves them),
 * the IPv4 loopback literals 127.0.0.0/8, `::1`, and IPv4-mapped loopback (`::ffff:127.x.y.z`, which
 * WHATWG URL normalises to `::ffff:7fxx:xxxx`). Accepts URL host names with or without IPv6 brackets.
 * Names that merely start with a loopback address (`127.0.0.1.nip.io`) are DNS names, not loopback.
 * The one loopback rule of the app: settings validation and every client that relaxes TLS use it.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) {
    if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
    return /^::ffff:(?:127\.\d+\.\d+\.\d+|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(host);
  }
  return false;
}
