import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

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

export interface AzuriteTable {
  readonly url: string;
  readonly port: number;
  /** Account connection string for `AzureWebJobsStorage` (explicit endpoint, so any port works). */
  readonly connectionString: string;
  close(): Promise<void>;
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
  );
  const server = new TableServer(config);
  await server.start();
  const address = server.getHttpServerAddress();
  const port = Number(/:(\d+)$/.exec(address)?.[1]);
  if (!Number.isInteger(port) || port <= 0) {
    await server.close();
    throw new Error('Azurite did not report its listening port');
  }
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${port}`;
  let closed = false;
  return {
    url,
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
      `AccountKey=${AZURITE_ACCOUNT_KEY};TableEndpoint=${url}/${AZURITE_ACCOUNT_NAME};`,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}
