/**
 * Client spans of the real SDK calls (twilio, @azure/communication-identity, @azure/data-tables,
 * the sidecar client over undici) against the emulators and Azurite, captured by an in-memory
 * exporter: each call has its span, and no span carries a phone number, code, token, key or
 * user id.
 */
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Agent } from 'undici';

import { startEmulators, type Emulators } from '@local/emulators';
import {
  CommunicationIdentityService,
  createCommunicationIdentityClient,
} from '../../src/acs/identity-service';
import { TableIdentityMapStore } from '../../src/me/identity-map-table';
import { SidecarClient } from '../../src/me/sidecar';
import { TwilioSmsSender } from '../../src/verification/twilio-sms-sender';
import { loadAcsConfig } from '../../src/acs/settings';
import { loadTwilioConfig } from '../../src/verification/settings';
import { startTelemetry, type Telemetry } from '../../src/telemetry/setup';
import { loadTelemetrySettings } from '../../src/telemetry/settings';
import { startTestAzurite, type AzuriteTable } from '../helpers/azurite';

const PHONE = '+14255550123';
const CODE = '731904';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OID = '00000000-0000-4000-8000-00000000beef';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let emulators: Emulators;
let azurite: AzuriteTable;
let pool: Agent;

beforeAll(async () => {
  telemetry = startTelemetry(loadTelemetrySettings({}).settings, {
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  })!;
  [emulators, azurite] = await Promise.all([
    startEmulators({ log: () => undefined, printMessages: false }),
    startTestAzurite(),
  ]);
  pool = new Agent({ keepAliveTimeout: 1000 });
});

afterAll(async () => {
  await telemetry.shutdown();
  trace.disable();
  await pool.close();
  await Promise.all([emulators.close(), azurite.close()]);
});

it('records a span for every Twilio, ACS, Table and sidecar call, none holding a secret or the number', async () => {
  const settings = emulators.appSettings();
  const secrets: string[] = [
    PHONE,
    PHONE.slice(2),
    CODE,
    OID,
    settings.TwilioAuthToken!,
    /accesskey=(.+)$/i.exec(settings.COMMUNICATION_SERVICES_CONNECTION_STRING!)![1]!,
  ];

  await new TwilioSmsSender(loadTwilioConfig(settings)).send({
    to: PHONE,
    body: `Your verification code is ${CODE}`,
  });

  const acs = new CommunicationIdentityService(
    createCommunicationIdentityClient(loadAcsConfig(settings)),
  );
  const created = await acs.createIdentity({ scopes: ['chat'], expiresInMinutes: 60 });
  const issued = await acs.issueToken(created.communicationUserId, ['voip'], 60);
  await acs.revokeTokens(created.communicationUserId);
  await acs.deleteIdentity(created.communicationUserId);
  secrets.push(created.token!, issued.token, created.communicationUserId);

  const store = TableIdentityMapStore.create(
    { kind: 'connectionString', connectionString: azurite.connectionString },
    'TelemetrySpans',
  );
  const key = { tenantId: TENANT, objectId: OID };
  await store.insertIfAbsent({
    ...key,
    communicationUserId: '8:acs:telemetry',
    createdAt: '2026-01-01T00:00:00Z',
  });
  await store.get(key);
  await store.delete(key);

  const userToken = emulators.agentId.issueToken({
    oid: OID,
    tid: TENANT,
    name: 'Span Test',
    scp: 'access_as_user',
  });
  secrets.push(userToken);
  const sidecar = new SidecarClient({
    baseUrl: new URL(emulators.agentId.url),
    timeoutMs: 5000,
    dispatcher: pool,
  });
  await sidecar.validate(userToken);

  const spans = exporter.getFinishedSpans();
  expect(new Set(spans.map((span) => span.name))).toEqual(
    new Set([
      // The sender first looks for an earlier send of the same text (a re-run after a crash), then sends.
      'twilio.messages.list',
      'twilio.messages.create',
      'acs.identity.create',
      'acs.identity.issue',
      'acs.identity.revoke',
      'acs.identity.delete',
      'table.createTable',
      'table.createEntity',
      'table.getEntity',
      'table.deleteEntity',
      'sidecar.validate',
    ]),
  );
  const recorded = JSON.stringify(
    spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      events: span.events,
      status: span.status,
      links: span.links,
      resource: span.resource.attributes,
    })),
  );
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(5);
    expect({ secret: secret.slice(0, 4), found: recorded.includes(secret) }).toEqual({
      secret: secret.slice(0, 4),
      found: false,
    });
  }
});
