/**
 * Embedded defaults for `npm start` without real credentials: the service emulators (emulators/src) and
 * Azurite's table and blob services run inside the host process and the app's settings point at them.
 * With real `Twilio*` / `COMMUNICATION_SERVICES_*` settings nothing is started for that service.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import type { Clock } from '../contracts';
import type { HostLog } from './logger';

const DEV_TWILIO_SID = 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const DEV_TWILIO_TOKEN = 'local-emulator-auth-token';
const DEV_ACS_KEY = 'bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0';
/** The sample's dev values of the other settings the emulators provide; real values are kept. */
const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  SIDECAR_URL: 'http://localhost:5000',
  SIDECAR_GRAPH_API_NAME: 'graph',
  ACS_TEAMS_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
};

/** The emulators' lines for what they delivered (SMS, WhatsApp, calls, emails): the console shows them. */
const PRINTED_DELIVERY = /^(SMS|WhatsApp|Call|Email) to /;

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

interface Closable {
  close(): Promise<void>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function loadModule(specifier: string): Record<string, unknown> | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod: unknown = require(specifier);
    return isRecord(mod) ? mod : undefined;
  } catch {
    return undefined;
  }
}

export interface StartedEmbeddedEmulators {
  /** Settings to merge into the app's settings. */
  appSettings(): Record<string, string>;
  /** Human-readable lines for the start banner. */
  readonly banner: readonly string[];
  readonly [name: string]: unknown;
  close(): Promise<void>;
}

/**
 * Starts what `values` lacks. `force` starts every emulator regardless of the settings.
 * Missing emulator modules are reported in the banner instead of failing the start.
 */
export async function startEmbeddedEmulators(
  values: Readonly<Record<string, string>>,
  log: HostLog,
  options: { readonly force?: boolean; readonly dataDir?: string; readonly clock?: Clock } = {},
): Promise<StartedEmbeddedEmulators> {
  const needs = options.force
    ? { twilio: true, acs: true, storage: true }
    : await detectEmulatorNeeds(values);
  const sidecarUp = !options.force && (await isListening(loopbackTarget(values.SIDECAR_URL)));
  const settings: Record<string, string> = {};
  const banner: string[] = [];
  const closables: Closable[] = [];
  const handles: Record<string, unknown> = {};

  if (needs.twilio || needs.acs) {
    const mod = loadModule('@local/emulators');
    const start = mod?.startEmulators;
    if (typeof start === 'function') {
      const started: unknown = await (start as (opts: unknown) => Promise<unknown>)({
        printMessages: true,
        // The Twilio message lifecycle follows the runtime's clock (a ManualClock in tests).
        ...(options.clock ? { twilio: { clock: options.clock } } : {}),
        // SMS bodies are the point of the console output (the developer reads the code there); request
        // lines are only for --verbose.
        log: (line: string) => log(PRINTED_DELIVERY.test(line) ? 'info' : 'debug', line),
      });
      if (
        isRecord(started) &&
        typeof started.appSettings === 'function' &&
        typeof started.close === 'function'
      ) {
        const all = (started.appSettings as () => Record<string, string>)();
        for (const [key, value] of Object.entries(all)) {
          const isTwilio = key.startsWith('Twilio');
          const isAcs = key.startsWith('COMMUNICATION_SERVICES_');
          const current = values[key];
          const otherIsDev =
            blank(current) ||
            (current === DEV_DEFAULTS[key] && !(key === 'SIDECAR_URL' && sidecarUp));
          if (
            (isTwilio && needs.twilio) ||
            (isAcs && needs.acs) ||
            (!isTwilio && !isAcs && otherIsDev)
          ) {
            settings[key] = value;
          }
        }
        if (needs.acs && acsViaIdentity(values)) {
          // The SDK sends bearer tokens over https only: the endpoint is the emulator's https one, whose
          // certificate this process trusts for loopback connections (DefaultAzureCredential gets its token
          // from the embedded managed-identity endpoint).
          delete settings.COMMUNICATION_SERVICES_CONNECTION_STRING;
          const acs = started.acs;
          const certificate = started.certificate;
          const trust = mod?.trustLoopbackCertificate;
          if (
            isRecord(acs) &&
            typeof acs.httpsUrl === 'string' &&
            isRecord(certificate) &&
            typeof certificate.cert === 'string' &&
            typeof trust === 'function'
          ) {
            settings.COMMUNICATION_SERVICES_ENDPOINT = acs.httpsUrl;
            const untrust: unknown = (trust as (cert: string) => unknown)(certificate.cert);
            if (typeof untrust === 'function') {
              closables.push({
                close: () => {
                  (untrust as () => void)();
                  return Promise.resolve();
                },
              });
            }
          }
        }
        closables.push({ close: () => (started.close as () => Promise<void>)() });
        Object.assign(handles, started);
        const describe = (name: string): string => {
          const emulator = started[name];
          return isRecord(emulator) && typeof emulator.url === 'string' ? emulator.url : 'running';
        };
        if (needs.twilio)
          banner.push(`Twilio emulator (SMS bodies are printed here): ${describe('twilio')}`);
        if (needs.acs) {
          banner.push(
            settings.COMMUNICATION_SERVICES_ENDPOINT
              ? `ACS Identity emulator (managed identity, https): ${settings.COMMUNICATION_SERVICES_ENDPOINT}`
              : `ACS Identity emulator: ${describe('acs')}`,
          );
        }
        if (settings.IDENTITY_ENDPOINT)
          banner.push(
            `Managed identity endpoint (IDENTITY_ENDPOINT): ${settings.IDENTITY_ENDPOINT}`,
          );
        if (settings.SIDECAR_URL) banner.push(`AgentID sidecar emulator: ${describe('agentId')}`);
      }
    } else {
      banner.push(
        'Service emulators are not available (@local/emulators not built); using the settings as they are.',
      );
    }
  }

  if (needs.storage) {
    const mod = loadModule('@local/emulators/azurite');
    const start = mod?.startAzurite;
    if (typeof start === 'function') {
      try {
        const azurite: unknown = await (start as (opts: unknown) => Promise<unknown>)({
          location: options.dataDir ? path.join(options.dataDir, 'azurite') : undefined,
        });
        if (
          isRecord(azurite) &&
          typeof azurite.connectionString === 'string' &&
          typeof azurite.close === 'function'
        ) {
          settings.AzureWebJobsStorage = azurite.connectionString;
          // Every connection the app points at development storage (a blob output's `connection`, say) means
          // this Azurite, whose ports are not the well-known ones.
          for (const [key, value] of Object.entries(values)) {
            if (value.trim() === 'UseDevelopmentStorage=true')
              settings[key] = azurite.connectionString;
          }
          closables.push({ close: () => (azurite.close as () => Promise<void>)() });
          handles.azurite = azurite;
          const urlOf = (service: unknown): string =>
            isRecord(service) && typeof service.url === 'string' ? service.url : 'running';
          banner.push(
            `Azurite table and blob services (UseDevelopmentStorage=true): ${urlOf(azurite.table)}, ${urlOf(azurite.blob)}`,
          );
        }
      } catch (e) {
        banner.push(
          `Azurite could not start (${e instanceof Error ? e.message : String(e)}); AzureWebJobsStorage is unchanged.`,
        );
      }
    }
  }

  return {
    ...handles,
    banner,
    appSettings: () => ({ ...settings }),
    close: async () => {
      for (const c of closables.reverse()) {
        await c.close().catch(() => undefined);
      }
    },
  };
}
