import { AzureFunctionsInstrumentation } from '@azure/functions-opentelemetry-instrumentation';
import type { TokenCredential } from '@azure/identity';
import { ManagedIdentityCredential } from '@azure/identity';
import {
  AzureMonitorLogExporter,
  AzureMonitorTraceExporter,
} from '@azure/monitor-opentelemetry-exporter';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

import { telemetryEnabled, type AzureMonitorSettings, type TelemetrySettings } from './settings';
import { TRACER_NAME } from './span';

export interface Telemetry {
  /** Flushes pending spans and logs and stops exporting. */
  shutdown(): Promise<void>;
}

export interface StartTelemetryOptions {
  /** Replaces the span exporters the settings name (tests: an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/**
 * Registers the global tracer provider with one exporter per configured destination, and the
 * Azure Functions instrumentation, which continues the host's trace in each invocation. Returns
 * undefined, and registers nothing, when no destination is configured: the API stays a no-op.
 *
 * Once enabled, the instrumentation tells the host (`WorkerOpenTelemetryEnabled`) that the worker
 * sends the invocation logs itself, so with Azure Monitor a log exporter is registered too;
 * otherwise `context.log` output would reach Application Insights from nobody.
 */
export function startTelemetry(
  settings: TelemetrySettings,
  options: StartTelemetryOptions = {},
): Telemetry | undefined {
  if (options.spanProcessors === undefined && !telemetryEnabled(settings)) return undefined;
  const resource = resourceFromAttributes({ 'service.name': TRACER_NAME });
  const credential = azureMonitorCredential(settings.azureMonitor);
  const spanProcessors = options.spanProcessors ?? [
    ...(settings.azureMonitor === undefined
      ? []
      : [
          new BatchSpanProcessor(
            new AzureMonitorTraceExporter({
              connectionString: settings.azureMonitor.connectionString,
              ...credential,
            }),
          ),
        ]),
    ...(settings.otlpTracesUrl === undefined
      ? []
      : [new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.otlpTracesUrl.href }))]),
  ];
  const tracerProvider = new NodeTracerProvider({ resource, spanProcessors: [...spanProcessors] });
  tracerProvider.register();

  const loggerProvider =
    settings.azureMonitor === undefined || options.spanProcessors !== undefined
      ? undefined
      : new LoggerProvider({
          resource,
          processors: [
            new BatchLogRecordProcessor(
              new AzureMonitorLogExporter({
                connectionString: settings.azureMonitor.connectionString,
                ...credential,
              }),
            ),
          ],
        });

  const functions = new AzureFunctionsInstrumentation({ enabled: false });
  functions.setTracerProvider(tracerProvider);
  if (loggerProvider !== undefined) functions.setLoggerProvider(loggerProvider);
  functions.enable();

  return {
    shutdown: async () => {
      functions.disable();
      await Promise.all([tracerProvider.shutdown(), loggerProvider?.shutdown()]);
    },
  };
}

/** With Entra ingestion (infra/ turns local auth off) the exporters sign in as the managed identity. */
function azureMonitorCredential(settings: AzureMonitorSettings | undefined): {
  credential?: TokenCredential;
} {
  if (settings?.entra === undefined) return {};
  const { clientId } = settings.entra;
  return {
    credential:
      clientId === undefined
        ? new ManagedIdentityCredential()
        : new ManagedIdentityCredential({ clientId }),
  };
}
