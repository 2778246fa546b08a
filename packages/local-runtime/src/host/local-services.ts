/**
 * The app's hook into the local runtime: which services the host starts beside the app, which settings they
 * fill in, and what the dashboard shows and hides. The runtime itself knows no app and no service: an app
 * says it in `local.services.cjs` next to its `host.json` (not deployed; a plain CommonJS module, like
 * `local.settings.json` a local-only file), or a caller passes the same object as `startLocalHost({ services })`.
 *
 * ```js
 * // local.services.cjs
 * const { embeddedServices } = require('@local/emulators');
 * module.exports = { embedded: embeddedServices(), dashboard: { redaction: { secretNames: /^(code|.*token)$/i } } };
 * ```
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../contracts';
import type { GeneratedSecretSpec } from '../generated-secrets';
import type { HostLog } from './logger';

/** The file the host loads from the app directory when no `services` option is given. */
export const LOCAL_SERVICES_FILE = 'local.services.cjs';

export interface EmbeddedServiceContext {
  /** The app's resolved settings (local.settings.json, environment, overrides). */
  readonly settings: Readonly<Record<string, string>>;
  /** Start even when the settings name a real service (`--emulators always`). */
  readonly force: boolean;
  /** The host's data directory: a service keeps its files under it. */
  readonly dataDir: string;
  /** The runtime's clock (a ManualClock in tests), for services whose behaviour follows time. */
  readonly clock: Clock;
  readonly log: HostLog;
}

export interface StartedEmbeddedService {
  /** App settings that point the app at this service; they win over local.settings.json, not over overrides. */
  readonly settings: Readonly<Record<string, string>>;
  /** Lines for the start banner; none means nothing was started (and `close` is still called). */
  readonly banner: readonly string[];
  /** Objects a test may reach as `host.emulators.<name>` (e.g. an emulator's outbox). */
  readonly handles?: Readonly<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface EmbeddedService {
  readonly name: string;
  /** From the values alone: do the settings lack this service? `emulators: 'auto'` starts nothing otherwise. */
  lacks(settings: Readonly<Record<string, string>>): boolean;
  /** Starts what the settings lack (it may find a local service already running and start nothing). */
  start(context: EmbeddedServiceContext): Promise<StartedEmbeddedService>;
}

/** A local service the dashboard probes and whose inspection API it reads. */
export interface DashboardService {
  readonly name: string;
  /** Base URL (loopback only: the dashboard never calls anything else), or undefined when not configured. */
  readonly url: string | undefined;
  /** What it offers beside `/_emulator/health` and its outboxes: ACS identities. */
  readonly provides?: readonly 'identities'[];
  /** What it "sent" (SMS, calls, emails…), each shown as a table on the local-services page. */
  readonly outboxes?: readonly OutboxPanel[];
  /** Switches that make its sends fail, shown and armed on the local-services page (a failover demo). */
  readonly faultSwitches?: readonly FaultSwitchPanel[];
}

/**
 * A local service's fault switch at `path` (loopback): `GET` answers `{armed: [{remaining, hang, status}]}`
 * (what the next sends will take, in order), `POST` with `{count, status}` or `{count, hang: true}` arms
 * (the next `count` sends fail with `status`, or hang), `DELETE` disarms.
 */
export interface FaultSwitchPanel {
  /** Stable id, unique across services: the dashboard API's `/faults/<id>` and the page's HTML id. */
  readonly id: string;
  readonly title: string;
  /** Loopback path on the service, e.g. `/_emulator/messages/faults`. */
  readonly path: string;
}

/**
 * One outbox of a local service, read at `path` (a JSON object whose `list` property holds the items, oldest
 * first). The dashboard shows the newest items: the recipient masked, the text with its digit runs masked
 * (the redaction rules), and links each item to the instances whose input names the recipient.
 */
export interface OutboxPanel {
  /** Stable id: the table's HTML id on the page. */
  readonly id: string;
  readonly title: string;
  /** Loopback path on the service, e.g. `/_emulator/calls`. */
  readonly path: string;
  readonly list: string;
  /** Only the items whose `field` matches `pattern` (two panels may share one outbox). */
  readonly match?: { readonly field: string; readonly pattern: RegExp };
  /** Item properties; a dotted path reads into objects and maps over arrays (`spoken.text`). */
  readonly fields: {
    readonly id: string;
    readonly recipient: string;
    readonly time: string;
    /** Shown one after the other under `textLabel`. */
    readonly text: readonly string[];
    readonly status?: string;
  };
  /** The text column's heading, e.g. `Body`, `Spoken text`. */
  readonly textLabel: string;
}

export interface RedactionRules {
  /** Property names whose values are hidden wherever they appear. */
  readonly secretNames: RegExp;
  /** Whole strings shown masked to their last four characters (phone numbers). */
  readonly maskedValues: readonly RegExp[];
  /** Whole strings hidden entirely (tokens). */
  readonly hiddenValues: readonly RegExp[];
  /** Digit runs this long or longer are masked in event payloads and SMS bodies (codes); 0 turns it off. */
  readonly minDigitRun: number;
  /**
   * Digits separated by a comma or spaces ("1, 2, 3, 4") count as one run: a code spoken digit by digit
   * (a call's text).
   */
  readonly spokenDigits: boolean;
}

export interface DashboardConfig {
  /** The local services (and their inspection panels), from the app's resolved settings. */
  readonly services?: (settings: Readonly<Record<string, string>>) => readonly DashboardService[];
  /** What the dashboard never shows; default `DEFAULT_REDACTION`. */
  readonly redaction?: Partial<RedactionRules>;
}

export interface LocalServices {
  /** Started in order, closed in reverse. */
  readonly embedded?: readonly EmbeddedService[];
  readonly dashboard?: DashboardConfig;
  /** Settings drawn at random on first start when blank, kept under the data folder (see `generated-secrets.ts`). */
  readonly generatedSecrets?: Readonly<Record<string, GeneratedSecretSpec>>;
}

/** What any app's dashboard hides without being told: tokens, keys, secrets, phone numbers, codes. */
export const DEFAULT_REDACTION: RedactionRules = {
  secretNames: /^(code|sealedcode|password|secret|.*token|.*key|authorization)$/i,
  maskedValues: [/^\+[1-9]\d{7,14}$/],
  hiddenValues: [/^eyJ[\w-]*\.[\w-]+\.[\w-]*$/],
  minDigitRun: 4,
  spokenDigits: true,
};

function isLocalServices(value: unknown): value is LocalServices {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.embedded === undefined || Array.isArray(v.embedded)) &&
    (v.dashboard === undefined || (typeof v.dashboard === 'object' && v.dashboard !== null)) &&
    (v.generatedSecrets === undefined ||
      (typeof v.generatedSecrets === 'object' && v.generatedSecrets !== null))
  );
}

/**
 * The app's `local.services.cjs` (or `file`), or nothing when the app has none. A file that is there but
 * wrong, or a `file` that is not there, throws.
 */
export function loadLocalServices(appDir: string, file?: string): LocalServices {
  if (file === undefined) {
    const conventional = path.join(appDir, LOCAL_SERVICES_FILE);
    return fs.existsSync(conventional) ? loadLocalServices(appDir, conventional) : {};
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded: unknown = require(file);
  const exported =
    typeof loaded === 'object' && loaded !== null && 'default' in loaded ? loaded.default : loaded;
  if (!isLocalServices(exported)) {
    throw new Error(
      `${file} must export { embedded?: EmbeddedService[], dashboard?: {...}, generatedSecrets?: {...} }.`,
    );
  }
  return exported;
}

export function lacksAnyService(
  services: LocalServices,
  settings: Readonly<Record<string, string>>,
): boolean {
  return (services.embedded ?? []).some((service) => service.lacks(settings));
}

export interface StartedEmbeddedServices {
  /** Settings to merge into the app's settings. */
  appSettings(): Record<string, string>;
  /** Human-readable lines for the start banner. */
  readonly banner: readonly string[];
  readonly [handle: string]: unknown;
  close(): Promise<void>;
}

/**
 * Starts every embedded service in order. A service that fails to start is reported in the banner instead of
 * failing the host: the app then runs with its settings as they are.
 */
export async function startEmbeddedServices(
  services: LocalServices,
  context: EmbeddedServiceContext,
): Promise<StartedEmbeddedServices> {
  const settings: Record<string, string> = {};
  const banner: string[] = [];
  const handles: Record<string, unknown> = {};
  const started: StartedEmbeddedService[] = [];
  for (const service of services.embedded ?? []) {
    try {
      const one = await service.start(context);
      started.push(one);
      Object.assign(settings, one.settings);
      Object.assign(handles, one.handles ?? {});
      banner.push(...one.banner);
    } catch (e) {
      banner.push(
        `${service.name} could not start (${e instanceof Error ? e.message : String(e)}); its settings are unchanged.`,
      );
    }
  }
  return {
    ...handles,
    banner,
    appSettings: () => ({ ...settings }),
    close: async () => {
      for (const one of started.reverse()) {
        await one.close().catch(() => undefined);
      }
    },
  };
}
