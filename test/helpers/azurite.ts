import { startAzuriteTable } from '@local/emulators/azurite';
import type { AzuriteTable } from '@local/emulators/azurite';

export type { AzuriteTable };

/** In-memory Azurite table service on a free port; call `close()` in `afterAll`. */
export function startTestAzurite(): Promise<AzuriteTable> {
  return startAzuriteTable({ host: '127.0.0.1', port: 0 });
}

/** One Azurite for the calling suite: started in `beforeAll`, closed in `afterAll`; read it inside tests. */
export function useSuiteAzurite(): () => AzuriteTable {
  let azurite: AzuriteTable | undefined;
  beforeAll(async () => {
    azurite = await startTestAzurite();
  });
  afterAll(async () => {
    await azurite?.close();
  });
  return () => {
    if (azurite === undefined) throw new Error('Azurite is read before the suite started it');
    return azurite;
  };
}

/** The app's storage setting as a connection string (Azurite's here). */
export const connectionStringStorage = (connectionString: string) =>
  ({ kind: 'connectionString', connectionString }) as const;
