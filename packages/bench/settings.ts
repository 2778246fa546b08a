import { startAzuriteTable, type AzuriteTable } from '@local/emulators/azurite';

/**
 * The app settings every benchmark host runs with, in one place. Load from one loopback client needs
 * the verification limits raised (every limit is a setting): these are the values the figures in
 * the README were taken with. The velocity counters still live in Table Storage (Azurite in the
 * bench process), so each start pays the guard's storage round trip as it would in production.
 */
export const BENCH_LIMITS: Readonly<Record<string, string>> = {
  // Consecutive driver numbers (+1425 2000000, 2000001, ...) share a prefix, and all come from one IP.
  VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR: '100000000',
  VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS: '0',
  VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR: '100000000',
  VERIFICATION_LIMIT_GLOBAL_PER_HOUR: '100000000',
  VERIFICATION_CLIENT_IP_HEADER: 'none',
  // Issue 22: every driver number is in one country, and most flows of a level are never answered.
  VERIFICATION_LIMIT_PER_COUNTRY_PER_HOUR: '100000000',
  VERIFICATION_FRAUD_GUARD_MODE: 'off',
};

export function benchAppSettings(
  twilioSettings: Readonly<Record<string, string>>,
  storageConnectionString: string,
  timeoutSeconds: number,
): Record<string, string> {
  return {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    // Only the verification feature's settings: each feature validates its own.
    ...twilioSettings,
    AzureWebJobsStorage: storageConnectionString,
    VERIFICATION_TIMEOUT_SECONDS: String(timeoutSeconds),
    VERIFICATION_CODE_SECRET: 'bench-secret-not-for-production',
    ...BENCH_LIMITS,
  };
}

/** The settings of the timer scenarios' app (`bench/apps/timers`), which has no settings of its own. */
export function plainAppSettings(storageConnectionString: string): Record<string, string> {
  return { FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsStorage: storageConnectionString };
}

let storage: Promise<AzuriteTable> | undefined;

/** One in-memory Azurite table service for the whole bench run (the guard's counters). */
export function benchStorage(): Promise<AzuriteTable> {
  storage ??= startAzuriteTable({ port: 0 });
  return storage;
}

export async function closeBenchStorage(): Promise<void> {
  if (storage !== undefined) await (await storage).close();
  storage = undefined;
}
