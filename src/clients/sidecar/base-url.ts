import { isIP } from 'node:net';

import { ConfigError } from '../../domain/errors';

/** Where the sidecar listens by default (pod-local, as the sidecar's security guidance asks). */
export const DEFAULT_SIDECAR_URL = 'http://localhost:5000';

/**
 * True for `localhost` and loopback literals (127.0.0.0/8, ::1, IPv4-mapped ::ffff:127.x). Names that merely
 * start with "localhost" (e.g. `localhost.example.com`) are not loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) {
    if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
    // WHATWG URL normalises ::ffff:127.0.0.1 to ::ffff:7f00:1.
    const mapped = /^::ffff:(?:(127\.\d+\.\d+\.\d+)|7f([0-9a-f]{2}):[0-9a-f]{1,4})$/.exec(host);
    return mapped !== null;
  }
  return false;
}

/**
 * Parses and checks the sidecar base URL. Every app in the sidecar's trust boundary can mint tokens with it,
 * so a non-loopback URL is refused unless explicitly allowed (e.g. a sidecar reached through a private network).
 */
export function resolveSidecarBaseUrl(raw: string | undefined, allowNonLoopback = false): URL {
  const value = raw === undefined || raw.trim() === '' ? DEFAULT_SIDECAR_URL : raw.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError([{ field: 'SIDECAR_URL', message: 'is not a valid URL' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError([{ field: 'SIDECAR_URL', message: 'must use http or https' }]);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError([{ field: 'SIDECAR_URL', message: 'must not contain credentials' }]);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError([
      { field: 'SIDECAR_URL', message: 'must not contain a query or fragment' },
    ]);
  }
  if (!allowNonLoopback && !isLoopbackHost(url.hostname)) {
    throw new ConfigError([
      {
        field: 'SIDECAR_URL',
        message: 'must be a loopback address unless SIDECAR_ALLOW_NON_LOOPBACK is true',
      },
    ]);
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}
