/**
 * The settings that turn telemetry on. Telemetry is its own feature: nothing else reads them, and
 * with none of them set (the local default) no exporter, provider or instrumentation is created.
 */
export const TELEMETRY_KEYS = {
  /** Set by infra/ in Azure; its presence turns on the Azure Monitor exporter. */
  connectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
  /** `Authorization=AAD` (optionally `ClientId=<user-assigned identity>`): Entra ingestion. */
  authenticationString: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  /** The standard OpenTelemetry variables, for an OTLP/HTTP collector (e.g. a local Jaeger). */
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  otlpTracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
} as const;

export interface AzureMonitorSettings {
  readonly connectionString: string;
  /** Undefined: the connection string's key is used (local auth); otherwise a managed identity. */
  readonly entra: { readonly clientId: string | undefined } | undefined;
}

export interface TelemetrySettings {
  readonly azureMonitor: AzureMonitorSettings | undefined;
  /** Full traces URL (`.../v1/traces`). */
  readonly otlpTracesUrl: URL | undefined;
}

export type TelemetryEnv = Readonly<Record<string, string | undefined>>;

/**
 * Reads the telemetry settings. Never throws: a malformed value disables only the exporter it
 * configures and is reported by key (never by value) in `problems`.
 */
export function loadTelemetrySettings(env: TelemetryEnv): {
  readonly settings: TelemetrySettings;
  readonly problems: readonly string[];
} {
  const problems: string[] = [];
  const connectionString = read(env, TELEMETRY_KEYS.connectionString);
  let azureMonitor: AzureMonitorSettings | undefined;
  if (connectionString !== undefined) {
    if (/(?:^|;)\s*(?:InstrumentationKey|IngestionEndpoint)\s*=/i.test(connectionString)) {
      azureMonitor = {
        connectionString,
        entra: parseAuthenticationString(read(env, TELEMETRY_KEYS.authenticationString), problems),
      };
    } else {
      problems.push(
        `${TELEMETRY_KEYS.connectionString}: not an Application Insights connection string`,
      );
    }
  }
  return {
    settings: { azureMonitor, otlpTracesUrl: otlpTracesUrl(env, problems) },
    problems,
  };
}

/** True when some exporter is configured, i.e. telemetry is on. */
export function telemetryEnabled(settings: TelemetrySettings): boolean {
  return settings.azureMonitor !== undefined || settings.otlpTracesUrl !== undefined;
}

function parseAuthenticationString(
  value: string | undefined,
  problems: string[],
): AzureMonitorSettings['entra'] {
  if (value === undefined) return undefined;
  const fields = new Map(
    value
      .split(';')
      .map((part) => part.split('=').map((s) => s.trim()))
      .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] !== '')
      .map(([key, val]) => [key.toLowerCase(), val]),
  );
  if (fields.get('authorization')?.toLowerCase() !== 'aad') {
    problems.push(`${TELEMETRY_KEYS.authenticationString}: must contain Authorization=AAD`);
    return undefined;
  }
  return { clientId: fields.get('clientid') || undefined };
}

function otlpTracesUrl(env: TelemetryEnv, problems: string[]): URL | undefined {
  const traces = read(env, TELEMETRY_KEYS.otlpTracesEndpoint);
  const base = read(env, TELEMETRY_KEYS.otlpEndpoint);
  // As in the OpenTelemetry spec: the signal-specific URL is used as is, the base gets /v1/traces.
  const [key, raw] =
    traces !== undefined
      ? [TELEMETRY_KEYS.otlpTracesEndpoint, traces]
      : base !== undefined
        ? [TELEMETRY_KEYS.otlpEndpoint, `${base.replace(/\/+$/, '')}/v1/traces`]
        : [undefined, undefined];
  if (key === undefined || raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return url;
  } catch {
    problems.push(`${key}: must be an http(s) URL`);
    return undefined;
  }
}

function read(env: TelemetryEnv, key: string): string | undefined {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
