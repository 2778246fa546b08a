import { TableClient } from '@azure/data-tables';
import type { TableServiceClientOptions } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';

import { isLoopbackHost } from '../loopback';

/** How the app reaches Table Storage: a connection string (Azurite locally) or a managed identity. */
export type StorageAccess =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | {
      readonly kind: 'managedIdentity';
      readonly tableEndpoint: URL;
      /** The user-assigned identity; undefined: the system-assigned one. */
      readonly clientId: string | undefined;
    };

/**
 * One table of the app's storage, for every store that keeps rows there (the identity map, the
 * verification limits): a connection string locally, the Function App's managed identity in Azure.
 */
export function tableClientFor(
  storage: StorageAccess,
  tableName: string,
  options: TableServiceClientOptions = {},
): TableClient {
  if (storage.kind === 'connectionString') {
    return TableClient.fromConnectionString(storage.connectionString, tableName, {
      ...options,
      // Azurite speaks plain http on loopback; the SDK refuses shared-key auth over http otherwise.
      allowInsecureConnection: isLoopbackHttpEndpoint(storage.connectionString),
    });
  }
  const credential = new DefaultAzureCredential(
    storage.clientId === undefined ? {} : { managedIdentityClientId: storage.clientId },
  );
  return new TableClient(storage.tableEndpoint.href, tableName, credential, options);
}

/** True for Azurite's development storage or a plain-http table endpoint on a loopback host. */
export function isLoopbackHttpEndpoint(connectionString: string): boolean {
  if (/usedevelopmentstorage=true/i.test(connectionString)) return true;
  const endpoint = /(?:^|;)\s*TableEndpoint=([^;]+)/i.exec(connectionString)?.[1];
  if (endpoint === undefined || !URL.canParse(endpoint)) return false;
  const url = new URL(endpoint);
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/** What survives of a Table SDK error, which carries the signed request: its status or network code. */
export type StorageFailure =
  { readonly status: number } | { readonly status: undefined; readonly networkCode: string };

export function storageFailure(error: unknown): StorageFailure {
  const fields =
    typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  if (typeof fields.statusCode === 'number') return { status: fields.statusCode };
  return {
    status: undefined,
    networkCode: typeof fields.code === 'string' ? fields.code : 'network error',
  };
}
