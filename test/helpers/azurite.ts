import { startAzuriteTable } from '@local/emulators/azurite';
import type { AzuriteTable } from '@local/emulators/azurite';

export type { AzuriteTable };

/** In-memory Azurite table service on a free port; call `close()` in `afterAll`. */
export function startTestAzurite(): Promise<AzuriteTable> {
  return startAzuriteTable({ host: '127.0.0.1', port: 0 });
}
