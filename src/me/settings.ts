import { loadSection, type Env } from '../config';
import { isLoopbackHost } from '../loopback';
import { readStorage } from '../storage/settings';
import type { StorageAccess } from '../storage/table-storage';

/** The `/api/me` feature's own settings: the auth sidecar, and the table of its identity map. */
export const ME_KEYS = {
  sidecarUrl: 'SIDECAR_URL',
  sidecarAllowNonLoopback: 'SIDECAR_ALLOW_NON_LOOPBACK',
  sidecarTimeoutMs: 'SIDECAR_TIMEOUT_MS',
  sidecarGraphApiName: 'SIDECAR_GRAPH_API_NAME',
  identityTableName: 'ACS_IDENTITY_TABLE_NAME',
} as const;

export const ME_DEFAULTS = {
  sidecarUrl: 'http://localhost:5000',
  sidecarTimeoutMs: 10_000,
  sidecarGraphApiName: 'graph',
  identityTableName: 'AcsIdentities',
} as const;

export const SIDECAR_TIMEOUT_RANGE = { min: 100, max: 120_000 } as const;
/** A `DownstreamApis__<name>` section of the sidecar: becomes one path segment of its routes. */
const SIDECAR_API_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface SidecarConfig {
  readonly url: URL;
  readonly allowNonLoopback: boolean;
  readonly timeoutMs: number;
  readonly graphApiName: string;
}

/** Where the user→ACS identity map lives. */
export interface IdentityMapConfig {
  readonly storage: StorageAccess;
  readonly tableName: string;
}

/**
 * The `SIDECAR_*` settings. Every app in the sidecar's trust boundary can mint tokens with it, so a
 * non-loopback URL is refused unless explicitly allowed (a sidecar reached over a private network).
 * The URL is the client's base: routes resolve below its path, so it gets a trailing `/` and may
 * carry no query or fragment.
 */
export function loadSidecarConfig(env: Env): SidecarConfig {
  return loadSection(env, (reader) => {
    const allowNonLoopback = reader.boolean(ME_KEYS.sidecarAllowNonLoopback, false);
    const url = reader.url(ME_KEYS.sidecarUrl) ?? new URL(ME_DEFAULTS.sidecarUrl);
    if (url.search !== '' || url.hash !== '') {
      reader.report(ME_KEYS.sidecarUrl, 'must not contain a query or fragment');
    } else if (!allowNonLoopback && !isLoopbackHost(url.hostname)) {
      reader.report(
        ME_KEYS.sidecarUrl,
        `must be a loopback URL unless ${ME_KEYS.sidecarAllowNonLoopback}=true`,
      );
    }
    if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
    const graphApiName =
      reader.optional(ME_KEYS.sidecarGraphApiName) ?? ME_DEFAULTS.sidecarGraphApiName;
    if (!SIDECAR_API_NAME_PATTERN.test(graphApiName)) {
      reader.report(
        ME_KEYS.sidecarGraphApiName,
        'must be a sidecar API name: 1-64 letters, digits, ".", "_" or "-"',
      );
    }
    const timeoutMs = reader.integer(
      ME_KEYS.sidecarTimeoutMs,
      ME_DEFAULTS.sidecarTimeoutMs,
      SIDECAR_TIMEOUT_RANGE,
    );
    return { url, allowNonLoopback, timeoutMs, graphApiName };
  });
}

/** `AzureWebJobsStorage` (or its identity-based `__accountName` form) and `ACS_IDENTITY_TABLE_NAME`. */
export function loadIdentityMapConfig(env: Env): IdentityMapConfig {
  return loadSection(env, (reader) => {
    const storage = readStorage(reader);
    const tableName = reader.tableName(ME_KEYS.identityTableName, ME_DEFAULTS.identityTableName);
    return storage === undefined ? undefined : { storage, tableName };
  });
}
