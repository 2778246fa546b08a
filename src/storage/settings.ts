import { GUID_PATTERN, type Reader } from '../config';
import type { StorageAccess } from './table-storage';

/**
 * The app's storage account, as the Functions host itself reads it: `AzureWebJobsStorage` (a
 * connection string, Azurite locally) or its identity-based form (what infra/ sets in Azure). Shared
 * by the stores that keep rows there (the verification limits, the identity map), so no feature owns
 * these keys.
 */
export const STORAGE_KEYS = {
  connectionString: 'AzureWebJobsStorage',
  accountName: 'AzureWebJobsStorage__accountName',
  tableServiceUri: 'AzureWebJobsStorage__tableServiceUri',
  clientId: 'AzureWebJobsStorage__clientId',
} as const;

/** The app's storage when any of its settings is set; undefined (and no problem) when none is. */
export function readOptionalStorage(reader: Reader): StorageAccess | undefined {
  const anySet = Object.values(STORAGE_KEYS).some((key) => reader.optional(key) !== undefined);
  return anySet ? readStorage(reader) : undefined;
}

/** A connection string wins; otherwise the identity-based settings the Functions host also reads. */
export function readStorage(reader: Reader): StorageAccess | undefined {
  const connectionString = reader.optional(STORAGE_KEYS.connectionString);
  if (connectionString !== undefined) return { kind: 'connectionString', connectionString };
  const accountName = reader.optional(STORAGE_KEYS.accountName);
  const tableServiceUri = reader.url(STORAGE_KEYS.tableServiceUri);
  const clientId = reader.optional(STORAGE_KEYS.clientId);
  if (clientId !== undefined && !GUID_PATTERN.test(clientId)) {
    reader.report(STORAGE_KEYS.clientId, 'must be a GUID');
  }
  if (tableServiceUri === undefined && accountName === undefined) {
    reader.report(STORAGE_KEYS.connectionString, `required (or set ${STORAGE_KEYS.accountName})`);
    return undefined;
  }
  if (accountName !== undefined && !/^[a-z0-9]{3,24}$/.test(accountName)) {
    reader.report(STORAGE_KEYS.accountName, 'must be 3-24 lowercase letters or digits');
    return undefined;
  }
  const tableEndpoint =
    tableServiceUri ?? new URL(`https://${accountName}.table.core.windows.net/`);
  // Bearer tokens are refused by the SDK over plain http.
  if (tableEndpoint.protocol !== 'https:') {
    reader.report(STORAGE_KEYS.tableServiceUri, 'must be an https URL');
    return undefined;
  }
  return { kind: 'managedIdentity', tableEndpoint, clientId };
}
