import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { withSpan } from '../../src/telemetry';
import { startTelemetry, type Telemetry } from '../../src/telemetry/setup';
import { loadTelemetrySettings, telemetryEnabled } from '../../src/telemetry/settings';

const CONNECTION_STRING =
  'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';

describe('telemetry settings', () => {
  it('is off when neither a connection string nor an OTLP endpoint is set (the local default)', () => {
    const { settings, problems } = loadTelemetrySettings({});
    expect(telemetryEnabled(settings)).toBe(false);
    expect(problems).toEqual([]);
    expect(startTelemetry(settings)).toBeUndefined();
    // Nothing registered: the API's tracer stays the no-op one.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });

  it('turns the Azure Monitor exporter on with a connection string, with Entra ingestion as the identity', () => {
    const { settings } = loadTelemetrySettings({
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
        'ClientId=11111111-2222-4333-8444-555555555555;Authorization=AAD',
    });
    expect(telemetryEnabled(settings)).toBe(true);
    expect(settings.azureMonitor).toEqual({
      connectionString: CONNECTION_STRING,
      entra: { clientId: '11111111-2222-4333-8444-555555555555' },
    });
    expect(
      loadTelemetrySettings({
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
      }).settings.azureMonitor?.entra,
    ).toEqual({ clientId: undefined });
  });

  it('turns the OTLP exporter on with the standard variables, the traces URL winning over the base', () => {
    expect(
      loadTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).settings
        .otlpTracesUrl?.href,
    ).toBe('http://127.0.0.1:4318/v1/traces');
    expect(
      loadTelemetrySettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:9999/traces',
      }).settings.otlpTracesUrl?.href,
    ).toBe('http://collector:9999/traces');
  });

  it('ignores malformed values, naming the key but never the value', () => {
    const { settings, problems } = loadTelemetrySettings({
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'secret-looking-garbage',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://nowhere',
    });
    expect(telemetryEnabled(settings)).toBe(false);
    expect(problems).toEqual([
      'APPLICATIONINSIGHTS_CONNECTION_STRING: not an Application Insights connection string',
      'OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL',
    ]);
    expect(problems.join(' ')).not.toContain('secret-looking-garbage');
  });
});

describe('withSpan', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;

  beforeAll(() => {
    telemetry = startTelemetry(loadTelemetrySettings({}).settings, {
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    })!;
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    await telemetry.shutdown();
    trace.disable();
  });

  it('records one client span per call, with the attributes given', async () => {
    await expect(
      withSpan('svc.op', { 'peer.service': 'svc', attempt: 1 }, () => Promise.resolve(42)),
    ).resolves.toBe(42);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('svc.op');
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toEqual({ 'peer.service': 'svc', attempt: 1 });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('replaces any value holding a phone number or a code', async () => {
    await withSpan(
      'svc.op',
      { to: '+14255550100', code: 'code 348222 x', list: ['ok', '4255550100'] },
      () => Promise.resolve(),
    );
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes).toEqual({
      to: '[redacted]',
      code: '[redacted]',
      list: ['ok', '[redacted]'],
    });
  });

  it('marks a failure with the error class and HTTP status only, never the message, and rethrows it', async () => {
    class RestException extends Error {
      override name = 'RestException';
      status = 400;
    }
    const failure = new RestException("The 'To' number +14255550100 is not a valid phone number.");
    await expect(
      withSpan('twilio.messages.create', {}, () => Promise.reject(failure)),
    ).rejects.toBe(failure);
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR });
    expect(span?.attributes).toEqual({
      'error.type': 'RestException',
      'http.response.status_code': 400,
    });
    expect(span?.events).toEqual([]);
    expect(JSON.stringify(span?.attributes)).not.toContain('4255550100');
  });
});
