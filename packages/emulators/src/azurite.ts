import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import BlobConfiguration from 'azurite/dist/src/blob/BlobConfiguration';
import BlobServer from 'azurite/dist/src/blob/BlobServer';
import type { ConfigurationTail } from 'azurite/dist/src/common/ConfigurationBase';
import type ServerBase from 'azurite/dist/src/common/ServerBase';
import TableConfiguration from 'azurite/dist/src/table/TableConfiguration';
import TableServer from 'azurite/dist/src/table/TableServer';

/** Azurite's well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
/** The port `UseDevelopmentStorage=true` points at. */
export const AZURITE_DEFAULT_TABLE_PORT = 10002;

export interface AzuriteTableOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port). Use 10002 to serve `UseDevelopmentStorage=true`. */
  readonly port?: number;
  /** Directory for the data; when omitted the data lives in memory and is gone on close. */
  readonly location?: string;
}

/** A running Azurite service, or both of them. */
interface AzuriteRunning {
  /** Account connection string for `AzureWebJobsStorage` (explicit endpoints, so any port works). */
  readonly connectionString: string;
  close(): Promise<void>;
}

export interface AzuriteTable extends AzuriteRunning {
  readonly url: string;
  readonly port: number;
}

/**
 * Starts Azurite's Table service inside this process (no child process, no global install), in memory by
 * default, on a free port by default.
 */
export async function startAzuriteTable(options: AzuriteTableOptions = {}): Promise<AzuriteTable> {
  const host = options.host ?? '127.0.0.1';
  const inMemory = options.location === undefined;
  let dbPath = '__azurite_db_table__.json';
  if (options.location !== undefined) {
    mkdirSync(options.location, { recursive: true });
    dbPath = join(options.location, dbPath);
  }
  const config = new TableConfiguration(
    host,
    options.port ?? 0,
    5,
    dbPath,
    false,
    false,
    undefined,
    ...configurationTail(inMemory),
  );
  return serve(new TableServer(config), host, 'TableEndpoint');
}

/** What both services run with: no debug log, no TLS or OAuth, path-style URLs, in memory unless told. */
function configurationTail(inMemory: boolean): ConfigurationTail {
  return [
    undefined,
    false,
    // Newer SDKs send API versions this Azurite may not know yet.
    true,
    '',
    '',
    '',
    undefined,
    false,
    inMemory,
  ];
}

/** Starts one Azurite service and describes it; `endpoint` names its connection-string key. */
async function serve(
  server: ServerBase,
  host: string,
  endpoint: 'TableEndpoint' | 'BlobEndpoint',
): Promise<AzuriteTable> {
  await server.start();
  const port = portOf(server.getHttpServerAddress());
  if (port === undefined) {
    await server.close();
    throw new Error('Azurite did not report its listening port');
  }
  const url = `http://${urlHostOf(host)}:${port}`;
  let closed = false;
  return {
    url,
    port,
    connectionString: accountConnectionString({ [endpoint]: url }),
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}

function urlHostOf(host: string): string {
  return host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
}

function portOf(address: string): number | undefined {
  const port = Number(/:(\d+)$/.exec(address)?.[1]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** The development account's connection string with explicit endpoints (path-style, so any port works). */
function accountConnectionString(endpoints: Readonly<Record<string, string>>): string {
  let text =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
    `AccountKey=${AZURITE_ACCOUNT_KEY};`;
  for (const [name, url] of Object.entries(endpoints)) {
    text += `${name}=${url}/${AZURITE_ACCOUNT_NAME};`;
  }
  return text;
}

export type AzuriteBlob = AzuriteTable;

/** Starts Azurite's Blob service inside this process, in memory by default, on a free port by default. */
export async function startAzuriteBlob(options: AzuriteTableOptions = {}): Promise<AzuriteBlob> {
  const host = options.host ?? '127.0.0.1';
  const inMemory = options.location === undefined;
  const dir = options.location ?? '.';
  if (options.location !== undefined) mkdirSync(options.location, { recursive: true });
  const config = new BlobConfiguration(
    host,
    options.port ?? 0,
    5,
    join(dir, '__azurite_db_blob__.json'),
    join(dir, '__azurite_db_blob_extent__.json'),
    [{ locationId: 'Default', locationPath: join(dir, '__blobstorage__'), maxConcurrency: 10 }],
    false,
    undefined,
    false,
    ...configurationTail(inMemory),
  );
  return serve(new BlobServer(config), host, 'BlobEndpoint');
}

/** Both services; `connectionString` names both endpoints. */
export interface AzuriteServices extends AzuriteRunning {
  readonly table: AzuriteTable;
  readonly blob: AzuriteBlob;
}

/** Azurite's Table and Blob services, the two `UseDevelopmentStorage=true` stands for here. */
export async function startAzurite(options: AzuriteTableOptions = {}): Promise<AzuriteServices> {
  const table = await startAzuriteTable(options);
  let blob: AzuriteBlob;
  try {
    blob = await startAzuriteBlob({ ...options, port: 0 });
  } catch (e) {
    await table.close();
    throw e;
  }
  return {
    table,
    blob,
    connectionString: accountConnectionString({ BlobEndpoint: blob.url, TableEndpoint: table.url }),
    close: async () => {
      await Promise.all([table.close(), blob.close()]);
    },
  };
}
