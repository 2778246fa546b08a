import { SidecarClient } from './sidecar-client';
import type { SidecarClientOptions } from './sidecar-client';

/** The settings the shared client is built from (the `SIDECAR_*` settings, already parsed). */
export interface SidecarSettings {
  readonly url?: string;
  readonly allowNonLoopback?: boolean;
  readonly timeoutMs?: number;
}

const clients = new Map<string, SidecarClient>();

/**
 * One client per distinct setting set, all on the shared keep-alive pool, so every invocation of every
 * function reuses the same connections instead of opening one per request.
 */
export function getSharedSidecarClient(
  settings: SidecarSettings = {},
  extra: Pick<SidecarClientOptions, 'log'> = {},
): SidecarClient {
  const key = JSON.stringify([
    settings.url ?? '',
    settings.allowNonLoopback ?? false,
    settings.timeoutMs ?? 0,
  ]);
  let client = clients.get(key);
  if (client === undefined) {
    client = new SidecarClient({
      ...(settings.url === undefined ? {} : { baseUrl: settings.url }),
      ...(settings.allowNonLoopback === undefined
        ? {}
        : { allowNonLoopback: settings.allowNonLoopback }),
      ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
      ...extra,
    });
    clients.set(key, client);
  }
  return client;
}
