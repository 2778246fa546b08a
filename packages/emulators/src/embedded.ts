/**
 * The emulators as embedded services of the local runtime (`@local/durable-runtime`'s `local.services.cjs`
 * hook): for `npm start` without real credentials, the Twilio, ACS Identity, AgentID sidecar and
 * managed-identity emulators and Azurite's table and blob services run inside the host process, and the app's
 * settings point at them. With real `Twilio*` / `COMMUNICATION_SERVICES_*` settings nothing is started for that
 * service. The objects match the runtime's `EmbeddedService` shape; this package does not depend on the runtime.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import type * as Azurite from './azurite';
import type { EmulatorClock } from './twilio/lifecycle';
import { startEmulators, type Emulators } from './index';
import { trustLoopbackCertificate } from './common/tls';

const DEV_TWILIO_SID = 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const DEV_TWILIO_TOKEN = 'local-emulator-auth-token';
const DEV_ACS_KEY = 'bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0';

type HostLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the runtime hands a service's `start` (its `EmbeddedServiceContext`). */

/** The emulators' lines for what they delivered (SMS, WhatsApp, calls, emails): the console shows them. */
const PRINTED_DELIVERY = /^(SMS|WhatsApp|Call|Email) to /;
export interface EmbeddedStartContext {
  readonly settings: Readonly<Record<string, string>>;
  readonly force: boolean;
  readonly dataDir: string;
  readonly clock: EmulatorClock;
  readonly log: (level: HostLogLevel, line: string) => void;
}

export interface StartedEmbedded {
  readonly settings: Readonly<Record<string, string>>;
  readonly banner: readonly string[];
  readonly handles?: Readonly<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface EmbeddedEmulatorService {
  readonly name: string;
  lacks(settings: Readonly<Record<string, string>>): boolean;
  start(context: EmbeddedStartContext): Promise<StartedEmbedded>;
}

export interface EmbeddedServicesOptions {
  /**
   * The app's sample settings (e.g. `local.settings.sample.json`'s `Values`): a setting the emulators provide
   * that still holds its sample value is a dev value and is pointed at the emulator; any other value is real
   * and kept. A sample value that is a loopback URL where something already answers is kept too.
   */
  readonly sampleSettings?: Readonly<Record<string, string>>;
}

export interface EmulatorNeeds {
  readonly twilio: boolean;
  readonly acs: boolean;
  readonly storage: boolean;
}

function blank(value: string | undefined): boolean {
  return value === undefined || value.trim().length === 0;
}

function loopbackTarget(url: string | undefined): { host: string; port: number } | undefined {
  if (blank(url)) return undefined;
  try {
    const parsed = new URL(url!);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (host !== 'localhost' && host !== '::1' && !/^127(\.\d{1,3}){3}$/.test(host))
      return undefined;
    const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
    return { host: host === 'localhost' ? '127.0.0.1' : host, port };
  } catch {
    return undefined;
  }
}

function acsEndpoint(connection: string | undefined): string | undefined {
  return /(?:^|;)\s*endpoint=([^;]+)/i.exec(connection ?? '')?.[1];
}

/** `COMMUNICATION_SERVICES_ENDPOINT` on loopback: the app's endpoint + DefaultAzureCredential path, locally. */
function acsViaIdentity(values: Readonly<Record<string, string>>): boolean {
  return (
    blank(values.COMMUNICATION_SERVICES_CONNECTION_STRING) &&
    loopbackTarget(values.COMMUNICATION_SERVICES_ENDPOINT) !== undefined
  );
}

/**
 * What the settings lack, judged from the values alone: missing settings, the sample's dev credentials, and
 * loopback URLs (the sample points at emulators on 127.0.0.1) count as "no real service".
 */
export function emulatorNeeds(values: Readonly<Record<string, string>>): EmulatorNeeds {
  const sid = values.TwilioAccountSid;
  const token = values.TwilioAuthToken;
  const devTwilio =
    blank(sid) || blank(token) || sid === DEV_TWILIO_SID || token === DEV_TWILIO_TOKEN;
  const twilio =
    devTwilio &&
    (blank(values.TwilioApiBaseUrl) || loopbackTarget(values.TwilioApiBaseUrl) !== undefined);
  const connection = values.COMMUNICATION_SERVICES_CONNECTION_STRING;
  const devConnection =
    blank(connection) ||
    (connection ?? '').includes(DEV_ACS_KEY) ||
    loopbackTarget(acsEndpoint(connection)) !== undefined;
  // A loopback endpoint asks for the managed-identity path against the emulator.
  const acs =
    devConnection && (blank(values.COMMUNICATION_SERVICES_ENDPOINT) || acsViaIdentity(values));
  const storage =
    blank(values.AzureWebJobsStorage) ||
    values.AzureWebJobsStorage?.trim() === 'UseDevelopmentStorage=true';
  return { twilio, acs, storage };
}

export function needsEmulators(values: Readonly<Record<string, string>>): boolean {
  const needs = emulatorNeeds(values);
  return needs.twilio || needs.acs || needs.storage;
}

function isListening(
  target: { host: string; port: number } | undefined,
  timeoutMs = 300,
): Promise<boolean> {
  if (!target) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `emulatorNeeds`, except that a loopback service that is already running (the standalone `npm run emulators`,
 * an Azurite on 10002, a sidecar on its port) is used as configured instead of being replaced.
 */
export async function detectEmulatorNeeds(
  values: Readonly<Record<string, string>>,
): Promise<EmulatorNeeds> {
  const needs = emulatorNeeds(values);
  const [twilioUp, acsUp, storageUp] = await Promise.all([
    needs.twilio ? isListening(loopbackTarget(values.TwilioApiBaseUrl)) : false,
    needs.acs
      ? isListening(
          loopbackTarget(
            acsViaIdentity(values)
              ? values.COMMUNICATION_SERVICES_ENDPOINT
              : acsEndpoint(values.COMMUNICATION_SERVICES_CONNECTION_STRING),
          ),
        )
      : false,
    needs.storage && !blank(values.AzureWebJobsStorage)
      ? isListening({ host: '127.0.0.1', port: 10002 })
      : false,
  ]);
  return {
    twilio: needs.twilio && !twilioUp,
    acs: needs.acs && !acsUp,
    storage: needs.storage && !storageUp,
  };
}

/**
 * The emulators' embedded services for the local runtime, in start order: the service emulators (Twilio, ACS
 * Identity, AgentID sidecar, managed identity) and Azurite.
 */
export function embeddedServices(options: EmbeddedServicesOptions = {}): EmbeddedEmulatorService[] {
  return [serviceEmulators(options.sampleSettings ?? {}), azuriteService()];
}

/** Twilio, ACS Identity, the AgentID sidecar and managed identity, when the settings lack Twilio or ACS. */
function serviceEmulators(sample: Readonly<Record<string, string>>): EmbeddedEmulatorService {
  return {
    name: 'Service emulators',
    lacks: (values) => {
      const needs = emulatorNeeds(values);
      return needs.twilio || needs.acs;
    },
    start: async ({ settings: values, force, clock, log }) => {
      const needs = force ? { twilio: true, acs: true } : await detectEmulatorNeeds(values);
      if (!needs.twilio && !needs.acs) return nothingStarted();
      const emulators = await startEmulators({
        printMessages: true,
        // The Twilio message lifecycle follows the runtime's clock (a ManualClock in tests).
        twilio: { clock },
        // So are ACS SMS and Email's send times (their tokens and request dates stay on real time).
        acs: { deliveryNow: () => clock.now().getTime() },
        // SMS bodies are the point of the console output (the developer reads the code there); request
        // lines are only for --verbose.
        log: (line: string) => log(PRINTED_DELIVERY.test(line) ? 'info' : 'debug', line),
      });
      const closers: (() => Promise<void> | void)[] = [() => emulators.close()];
      const settings: Record<string, string> = {};
      for (const [key, value] of Object.entries(emulators.appSettings())) {
        const isTwilio = key.startsWith('Twilio');
        const isAcs = key.startsWith('COMMUNICATION_SERVICES_');
        if (isTwilio || isAcs) {
          if ((isTwilio && needs.twilio) || (isAcs && needs.acs)) settings[key] = value;
        } else if (
          !force
            ? await isDevValue(values[key], sample[key])
            : blankOrEqual(values[key], sample[key])
        ) {
          settings[key] = value;
        }
      }
      // The local runtime's twilioSms output binding sends to the emulator too (its own setting).
      if (needs.twilio) settings.AzureWebJobsTwilioApiBaseUrl = emulators.twilio.url;
      const httpsUrl = emulators.acs.httpsUrl;
      if (needs.acs && acsViaIdentity(values) && httpsUrl !== undefined) {
        // The SDK sends bearer tokens over https only: the endpoint is the emulator's https one, whose
        // certificate this process trusts for loopback connections (DefaultAzureCredential gets its token
        // from the embedded managed-identity endpoint).
        delete settings.COMMUNICATION_SERVICES_CONNECTION_STRING;
        settings.COMMUNICATION_SERVICES_ENDPOINT = httpsUrl;
        closers.push(trustLoopbackCertificate(emulators.certificate.cert));
      }
      return {
        settings,
        banner: emulatorBanner(emulators, needs, settings),
        handles: { ...emulators },
        close: async () => {
          for (const close of closers) await close();
        },
      };
    },
  };
}

function emulatorBanner(
  emulators: Emulators,
  needs: { twilio: boolean; acs: boolean },
  settings: Readonly<Record<string, string>>,
): string[] {
  const banner: string[] = [];
  if (needs.twilio)
    banner.push(`Twilio emulator (SMS bodies are printed here): ${emulators.twilio.url}`);
  if (needs.acs) {
    banner.push(
      settings.COMMUNICATION_SERVICES_ENDPOINT
        ? `ACS Identity emulator (managed identity, https): ${settings.COMMUNICATION_SERVICES_ENDPOINT}`
        : `ACS Identity emulator: ${emulators.acs.url}`,
    );
  }
  if (settings.IDENTITY_ENDPOINT)
    banner.push(`Managed identity endpoint (IDENTITY_ENDPOINT): ${settings.IDENTITY_ENDPOINT}`);
  if (settings.SIDECAR_URL) banner.push(`AgentID sidecar emulator: ${emulators.agentId.url}`);
  return banner;
}

function blankOrEqual(current: string | undefined, sample: string | undefined): boolean {
  return blank(current) || (sample !== undefined && current === sample);
}

/** Blank, or the sample's value unless that is a loopback URL where a service already answers. */
async function isDevValue(
  current: string | undefined,
  sample: string | undefined,
): Promise<boolean> {
  if (blank(current)) return true;
  if (sample === undefined || current !== sample) return false;
  return !(await isListening(loopbackTarget(current)));
}

/** Azurite's table and blob services, when `AzureWebJobsStorage` is missing or development storage. */
function azuriteService(): EmbeddedEmulatorService {
  return {
    name: 'Azurite',
    lacks: (values) => emulatorNeeds(values).storage,
    start: async ({ settings: values, force, dataDir }) => {
      const needs = force || (await detectEmulatorNeeds(values)).storage;
      if (!needs) return nothingStarted();
      // Loaded only when needed: Azurite is a large module.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startAzurite } = require('./azurite') as typeof Azurite;
      const azurite = await startAzurite({ location: path.join(dataDir, 'azurite') });
      const settings: Record<string, string> = { AzureWebJobsStorage: azurite.connectionString };
      // Every connection the app points at development storage (a blob output's `connection`, say) means
      // this Azurite, whose ports are not the well-known ones.
      for (const [key, value] of Object.entries(values)) {
        if (value.trim() === 'UseDevelopmentStorage=true') settings[key] = azurite.connectionString;
      }
      return {
        settings,
        banner: [
          `Azurite table and blob services (UseDevelopmentStorage=true): ${azurite.table.url}, ${azurite.blob.url}`,
        ],
        handles: { azurite },
        close: () => azurite.close(),
      };
    },
  };
}

function nothingStarted(): StartedEmbedded {
  return { settings: {}, banner: [], close: () => Promise.resolve() };
}

/*
 * What the runtime's dashboard shows of each emulator, in the shape of its `DashboardService` and
 * `OutboxPanel` types. They are not restated here (the emulators do not depend on the runtime): the app's
 * test/integration/dashboard-outboxes.test.ts assigns `dashboardServices` to them, a type check.
 */

function loopbackOrigin(url: string | undefined): string | undefined {
  return loopbackTarget(url) === undefined ? undefined : new URL(url!).origin;
}

/** The outboxes of the Twilio emulator: Messages (SMS and WhatsApp, one outbox) and Calls. */
const TWILIO_OUTBOXES = [
  {
    id: 'sms',
    title: 'SMS received by the Twilio emulator',
    path: '/_emulator/messages',
    list: 'messages',
    match: { field: 'to', pattern: /^\+/ },
    fields: { id: 'sid', recipient: 'to', time: 'dateCreated', text: ['body'], status: 'status' },
    textLabel: 'Body',
  },
  {
    id: 'whatsapp',
    title: 'WhatsApp messages received by the Twilio emulator',
    path: '/_emulator/messages',
    list: 'messages',
    match: { field: 'to', pattern: /^whatsapp:/ },
    fields: { id: 'sid', recipient: 'to', time: 'dateCreated', text: ['body'], status: 'status' },
    textLabel: 'Body (template rendered)',
  },
  {
    id: 'calls',
    title: 'Calls placed by the Twilio emulator',
    path: '/_emulator/calls',
    list: 'calls',
    fields: {
      id: 'sid',
      recipient: 'to',
      time: 'dateCreated',
      text: ['spoken.text'],
      status: 'status',
    },
    textLabel: 'Spoken text (TwiML <Say>)',
  },
];

/** The outboxes of the ACS emulator: SMS and Email. */
const ACS_OUTBOXES = [
  {
    id: 'acs-sms',
    title: 'SMS received by the ACS emulator',
    path: '/_emulator/sms',
    list: 'messages',
    fields: { id: 'messageId', recipient: 'to', time: 'sentAt', text: ['message'] },
    textLabel: 'Message',
  },
  {
    id: 'emails',
    title: 'Emails received by the ACS emulator',
    path: '/_emulator/emails',
    list: 'emails',
    fields: {
      id: 'operationId',
      recipient: 'to',
      time: 'sentAt',
      text: ['subject', 'plainText'],
    },
    textLabel: 'Subject — text',
  },
];

/**
 * The fault switch of each emulated send (see common/fault-switch.ts): `GET` its state, `POST` a fault,
 * `DELETE` to disarm, all at `path`. The dashboard shows and arms them to demonstrate a failover.
 */
const TWILIO_FAULT_SWITCHES = [
  {
    id: 'twilio-messages',
    title: 'Twilio Messages (SMS, WhatsApp)',
    path: '/_emulator/messages/faults',
  },
  { id: 'twilio-calls', title: 'Twilio Calls', path: '/_emulator/calls/faults' },
];
const ACS_FAULT_SWITCHES = [
  { id: 'acs-sms', title: 'ACS SMS', path: '/_emulator/sms/faults' },
  { id: 'acs-email', title: 'ACS Email', path: '/_emulator/emails/faults' },
];

/**
 * The emulators the app's settings point at, for the runtime's dashboard (its `dashboard.services` hook): it
 * probes their `/_emulator/health`, reads their outboxes and the ACS identities, and shows and arms their
 * fault switches. Loopback URLs only.
 */
export function dashboardServices(values: Readonly<Record<string, string>>) {
  return [
    {
      name: 'Twilio emulator',
      url: loopbackOrigin(values.TwilioApiBaseUrl),
      outboxes: TWILIO_OUTBOXES,
      faultSwitches: TWILIO_FAULT_SWITCHES,
    },
    {
      name: 'ACS emulator (Identity, SMS, Email)',
      url: loopbackOrigin(acsEndpoint(values.COMMUNICATION_SERVICES_CONNECTION_STRING)),
      provides: ['identities' as const],
      outboxes: ACS_OUTBOXES,
      faultSwitches: ACS_FAULT_SWITCHES,
    },
    { name: 'AgentID sidecar emulator', url: loopbackOrigin(values.SIDECAR_URL) },
  ];
}
