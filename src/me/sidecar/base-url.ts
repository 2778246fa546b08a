import { ConfigError } from '../../errors';
import { isLoopbackHost } from '../../loopback';

export { isLoopbackHost };

/** Where the sidecar listens by default (pod-local, as the sidecar's security guidance asks). */
export const DEFAULT_SIDECAR_URL = 'http://localhost:5000';

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
