/**
 * Starts telemetry for the deployed app as a side effect. Imported first by `src/index.ts` (before `@azure/functions`), so
 * that the Azure Functions instrumentation can hook the programming model as it loads.
 */
import { startTelemetry } from './setup';
import { loadTelemetrySettings } from './settings';

const { settings, problems } = loadTelemetrySettings(process.env);
if (problems.length > 0) {
  // Keys and reasons only, never values; the app runs on without the misconfigured exporter.
  console.error(`Telemetry settings ignored: ${problems.join('; ')}`);
}
try {
  startTelemetry(settings);
} catch (error: unknown) {
  // A broken exporter must not stop the host; its message names no secret (no values are in it).
  console.error(`Telemetry disabled: ${error instanceof Error ? error.name : 'unknown error'}`);
}
