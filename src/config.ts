import { ConfigError, type FieldProblem } from './errors';
import { isLoopbackHost } from './loopback';
import type { StorageAccess } from './table-storage';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import {
  CODE_LENGTH_RANGE,
  E164_PATTERN,
  MAX_ATTEMPTS_RANGE,
  POLICY_NUMBER_TYPES,
  TIMEOUT_SECONDS_RANGE,
  type PolicyNumberType,
  type TranslatedLocale,
} from './verification/rules';

/**
 * Every setting the app reads. Nothing outside this module touches `process.env` (but the telemetry
 * switch, src/telemetry/settings.ts, read once at start-up by src/telemetry/register.ts): the rest of the
 * app receives validated, frozen settings: one section per feature, or the whole {@link Config}.
 */
export const ENV_KEYS = {
  storage: 'AzureWebJobsStorage',
  // Identity-based AzureWebJobsStorage (what infra/ sets in Azure), as the Functions host reads it.
  storageAccountName: 'AzureWebJobsStorage__accountName',
  storageTableServiceUri: 'AzureWebJobsStorage__tableServiceUri',
  storageClientId: 'AzureWebJobsStorage__clientId',
  workerRuntime: 'FUNCTIONS_WORKER_RUNTIME',
  twilioAccountSid: 'TwilioAccountSid',
  twilioAuthToken: 'TwilioAuthToken',
  twilioPhoneNumber: 'TwilioPhoneNumber',
  twilioApiBaseUrl: 'TwilioApiBaseUrl',
  acsConnectionString: 'COMMUNICATION_SERVICES_CONNECTION_STRING',
  acsEndpoint: 'COMMUNICATION_SERVICES_ENDPOINT',
  verificationTimeoutSeconds: 'VERIFICATION_TIMEOUT_SECONDS',
  verificationMaxAttempts: 'VERIFICATION_MAX_ATTEMPTS',
  verificationCodeLength: 'VERIFICATION_CODE_LENGTH',
  verificationMessageTemplate: 'VERIFICATION_MESSAGE_TEMPLATE',
  verificationCodeSecret: 'VERIFICATION_CODE_SECRET',
  verificationRetentionHours: 'VERIFICATION_RETENTION_HOURS',
  blockedNumberTypes: 'VERIFICATION_BLOCKED_NUMBER_TYPES',
  allowedCountries: 'VERIFICATION_ALLOWED_COUNTRIES',
  limitPerNumberPerHour: 'VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR',
  limitNumberCooldownSeconds: 'VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS',
  limitPerIpPerHour: 'VERIFICATION_LIMIT_PER_IP_PER_HOUR',
  limitPerPrefixPerHour: 'VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR',
  limitGlobalPerHour: 'VERIFICATION_LIMIT_GLOBAL_PER_HOUR',
  limitTableName: 'VERIFICATION_LIMIT_TABLE_NAME',
  guardFailMode: 'VERIFICATION_GUARD_FAIL_MODE',
  clientIpHeader: 'VERIFICATION_CLIENT_IP_HEADER',
  trustedProxyHops: 'VERIFICATION_TRUSTED_PROXY_HOPS',
  publicOrigin: 'VERIFICATION_PUBLIC_ORIGIN',
  /** Set by the platform: Azure (the app's host name), Core Tools and the local runtime (loopback). */
  websiteHostname: 'WEBSITE_HOSTNAME',
  messageTemplateEs: 'VERIFICATION_MESSAGE_TEMPLATE_ES',
  messageTemplateFr: 'VERIFICATION_MESSAGE_TEMPLATE_FR',
  messageTemplateDe: 'VERIFICATION_MESSAGE_TEMPLATE_DE',
  messageTemplatePt: 'VERIFICATION_MESSAGE_TEMPLATE_PT',
  messageTemplateJa: 'VERIFICATION_MESSAGE_TEMPLATE_JA',
  messageTemplateKo: 'VERIFICATION_MESSAGE_TEMPLATE_KO',
  messageTemplateZh: 'VERIFICATION_MESSAGE_TEMPLATE_ZH',
  messageTemplateZhHant: 'VERIFICATION_MESSAGE_TEMPLATE_ZH_HANT',
  sidecarUrl: 'SIDECAR_URL',
  sidecarAllowNonLoopback: 'SIDECAR_ALLOW_NON_LOOPBACK',
  sidecarTimeoutMs: 'SIDECAR_TIMEOUT_MS',
  sidecarGraphApiName: 'SIDECAR_GRAPH_API_NAME',
  acsTeamsClientId: 'ACS_TEAMS_CLIENT_ID',
  acsIdentityTableName: 'ACS_IDENTITY_TABLE_NAME',
} as const;

export type EnvKey = (typeof ENV_KEYS)[keyof typeof ENV_KEYS];

export const DEFAULTS = {
  verificationTimeoutSeconds: 90,
  verificationMaxAttempts: 4,
  verificationCodeLength: 6,
  verificationMessageTemplate: 'Your verification code is {code}',
  verificationRetentionHours: 24,
  /**
   * Numbers that bill the sender (premium-rate, shared-cost, UAN), that no person reads a code on
   * (pager, voicemail, toll-free lines of businesses), and those nobody can classify: the ranges
   * SMS-pumping schemes rent.
   */
  blockedNumberTypes: [
    // Personal numbers forward anywhere; VoIP numbers are rented in bulk (issue 22).
    'PERSONAL_NUMBER',
    'VOIP',
    'PREMIUM_RATE',
    'SHARED_COST',
    'TOLL_FREE',
    'PAGER',
    'VOICEMAIL',
    'UAN',
    'UNKNOWN',
  ] as readonly PolicyNumberType[],
  limitPerNumberPerHour: 5,
  limitNumberCooldownSeconds: 30,
  limitPerIpPerHour: 20,
  limitPerPrefixPerHour: 10,
  /** The cost cap: at most this many SMS an hour for the whole app, across every instance. */
  limitGlobalPerHour: 1000,
  limitTableName: 'VerificationLimits',
  guardFailMode: 'closed',
  clientIpHeader: 'x-forwarded-for',
  trustedProxyHops: 1,
  publicOrigin: 'http://localhost:7071',
  sidecarUrl: 'http://localhost:5000',
  sidecarTimeoutMs: 10_000,
  sidecarGraphApiName: 'graph',
  acsIdentityTableName: 'AcsIdentities',
} as const;

export { MAX_ATTEMPTS_RANGE, TIMEOUT_SECONDS_RANGE };
export const VELOCITY_LIMIT_RANGE = { min: 1, max: 100_000_000 } as const;
/** 0 turns the cooldown off. */
export const COOLDOWN_SECONDS_RANGE = { min: 0, max: 86_400 } as const;
export const TRUSTED_PROXY_HOPS_RANGE = { min: 1, max: 10 } as const;
/** The same bound as `VERIFICATION_MESSAGE_TEMPLATE`'s. */
export const MAX_TEMPLATE_LENGTH = 1500;
export const FAIL_MODES = ['closed', 'open'] as const;
export type GuardFailMode = (typeof FAIL_MODES)[number];

/** The fraud guard's, the links' and the templates' keys: the start-up report counts them as the verification feature's own. */
export const GUARD_KEYS: readonly EnvKey[] = [
  ENV_KEYS.blockedNumberTypes,
  ENV_KEYS.allowedCountries,
  ENV_KEYS.limitPerNumberPerHour,
  ENV_KEYS.limitNumberCooldownSeconds,
  ENV_KEYS.limitPerIpPerHour,
  ENV_KEYS.limitPerPrefixPerHour,
  ENV_KEYS.limitGlobalPerHour,
  ENV_KEYS.limitTableName,
  ENV_KEYS.guardFailMode,
  ENV_KEYS.clientIpHeader,
  ENV_KEYS.trustedProxyHops,
  ENV_KEYS.publicOrigin,
  ENV_KEYS.messageTemplateEs,
  ENV_KEYS.messageTemplateFr,
  ENV_KEYS.messageTemplateDe,
  ENV_KEYS.messageTemplatePt,
  ENV_KEYS.messageTemplateJa,
  ENV_KEYS.messageTemplateKo,
  ENV_KEYS.messageTemplateZh,
  ENV_KEYS.messageTemplateZhHant,
];

export interface PhonePolicySettings {
  readonly blockedNumberTypes: ReadonlySet<PolicyNumberType>;
  /** Undefined allows every country. */
  readonly allowedCountries: ReadonlySet<CountryCode> | undefined;
}

export interface VelocitySettings {
  readonly perNumberPerHour: number;
  readonly numberCooldownSeconds: number;
  readonly perIpPerHour: number;
  readonly perPrefixPerHour: number;
  readonly globalPerHour: number;
  /** `closed`: an unreachable limit store refuses the send (503); `open`: it lets it through. */
  readonly failMode: GuardFailMode;
  readonly tableName: string;
}

/**
 * Where the client IP comes from. The v4 programming model does not expose the socket's peer
 * address, so the only source is a header that a proxy in front of the app sets (on Azure, the
 * App Service front end appends the client's address to `X-Forwarded-For`).
 */
export interface ClientIpSettings {
  /** Lower-case header name, or undefined when `VERIFICATION_CLIENT_IP_HEADER=none`. */
  readonly header: string | undefined;
  /** Proxies that each append one entry: the client is this many entries from the right. */
  readonly trustedProxyHops: number;
}

export interface LinkSettings {
  /** Scheme, host and port only; the links never take their origin from a request. */
  readonly publicOrigin: URL;
}

export interface SmsTemplateSettings {
  /** Replacements of the built-in templates; each contains `{code}`. */
  readonly overrides: Readonly<Partial<Record<TranslatedLocale, string>>>;
}
/** Finished verifications are purged this many hours after they started (1 hour .. 1 year). */
export const RETENTION_HOURS_RANGE = { min: 1, max: 8760 } as const;
export const SIDECAR_TIMEOUT_RANGE = { min: 100, max: 120_000 } as const;

/** How the app reaches ACS Identity. */
export type AcsAccess =
  | {
      readonly kind: 'connectionString';
      readonly connectionString: string;
      /** Parsed from the connection string; the access key is not kept outside `connectionString`. */
      readonly endpoint: URL;
    }
  | { readonly kind: 'managedIdentity'; readonly endpoint: URL };

export interface TwilioConfig {
  readonly accountSid: string;
  readonly authToken: string;
  /** E.164 sender number. */
  readonly phoneNumber: string;
  /** When set, every Twilio API request goes to this origin instead of `https://*.twilio.com`. */
  readonly apiBaseUrl: URL | undefined;
}

export interface VerificationConfig {
  readonly timeoutSeconds: number;
  readonly maxAttempts: number;
  readonly codeLength: number;
  /** Contains `{code}` at least once. */
  readonly messageTemplate: string;
  /** The app secret: code hashes, derived codes, sealed answers, link tokens, counter keys. */
  readonly codeSecret: string;
  /** Finished verifications older than this are purged by the retention timer. */
  readonly retentionHours: number;
  /** Where the velocity counters live (`AzureWebJobsStorage`, or its identity-based form); undefined until set. */
  readonly storage: StorageAccess | undefined;
  readonly links: LinkSettings;
  readonly phonePolicy: PhonePolicySettings;
  readonly velocity: VelocitySettings;
  readonly clientIp: ClientIpSettings;
  readonly smsTemplates: SmsTemplateSettings;
}

export interface SidecarConfig {
  readonly url: URL;
  readonly allowNonLoopback: boolean;
  readonly timeoutMs: number;
  readonly graphApiName: string;
}

/**
 * The validated settings of the app: exactly one section per feature, each frozen. Secrets are only
 * ever read by the client that needs them.
 */
export interface Config {
  readonly twilio: TwilioConfig;
  readonly verification: VerificationConfig;
  readonly acs: AcsConfig;
  readonly sidecar: SidecarConfig;
  readonly identityMap: IdentityMapConfig;
  readonly host: HostConfig;
}

export type Env = Readonly<Record<string, string | undefined>>;

const ACCOUNT_SID_PATTERN = /^AC[0-9a-fA-F]{32}$/;
const GUID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A `DownstreamApis__<name>` section of the sidecar: becomes one path segment of its routes. */
const SIDECAR_API_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const TABLE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
const HEADER_NAME_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
/** Same parse as @azure/communication-common: endpoint first, then accesskey. */
const ACS_CONNECTION_STRING_PATTERN = /^endpoint=(.+);accesskey=(.+)$/i;

/** How the app reaches ACS Identity, and the Entra app used for Teams token exchanges. */
export interface AcsConfig {
  readonly access: AcsAccess;
  /** Unset disables the default client id of the Teams exchange. */
  readonly teamsClientId: string | undefined;
}

/** Where the user→ACS identity map lives. */
export interface IdentityMapConfig {
  readonly storage: StorageAccess;
  readonly tableName: string;
}

/** Settings of the Functions host itself, checked only for the start-up report. */
export interface HostConfig {
  readonly workerRuntime: 'node' | undefined;
}

/** One loader per {@link Config} section, by name. */
export const SECTION_LOADERS: { readonly [K in keyof Config]: (env: Env) => Config[K] } = {
  twilio: (env) => loadTwilioConfig(env),
  verification: (env) => loadVerificationConfig(env),
  acs: (env) => loadAcsConfig(env),
  sidecar: (env) => loadSidecarConfig(env),
  identityMap: (env) => loadIdentityMapConfig(env),
  host: (env) => loadHostConfig(env),
};

/**
 * Reads and validates every setting once, with the section loaders. Collects the missing or
 * invalid keys of every section into one {@link ConfigError} (values are never part of the
 * message), so the start-up report names everything at once.
 */
export function loadConfig(env: Env = process.env): Config {
  return Object.freeze(
    loadSections({
      twilio: () => SECTION_LOADERS.twilio(env),
      verification: () => SECTION_LOADERS.verification(env),
      acs: () => SECTION_LOADERS.acs(env),
      sidecar: () => SECTION_LOADERS.sidecar(env),
      identityMap: () => SECTION_LOADERS.identityMap(env),
      host: () => SECTION_LOADERS.host(env),
    }),
  );
}

/**
 * Runs named section loaders and returns their sections under the same names, or throws one
 * {@link ConfigError} naming the problems of all of them rather than only those of the first.
 */
export function loadSections<T extends object>(loaders: {
  readonly [K in keyof T]: () => T[K];
}): T {
  const problems: FieldProblem[] = [];
  const sections: Partial<T> = {};
  for (const name of Object.keys(loaders) as (keyof T)[]) {
    try {
      sections[name] = loaders[name]();
    } catch (error: unknown) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // Every loader returned, so every name holds its section.
  return sections as T;
}

/** `TwilioAccountSid`, `TwilioAuthToken`, `TwilioPhoneNumber`, `TwilioApiBaseUrl`. */
export function loadTwilioConfig(env: Env = process.env): TwilioConfig {
  return loadSection(env, (reader) => ({
    accountSid: reader.required(
      ENV_KEYS.twilioAccountSid,
      ACCOUNT_SID_PATTERN,
      'must be AC followed by 32 hex characters',
    ),
    authToken: reader.required(ENV_KEYS.twilioAuthToken),
    phoneNumber: reader.required(
      ENV_KEYS.twilioPhoneNumber,
      E164_PATTERN,
      'must be an E.164 number (+ and 8-15 digits)',
    ),
    apiBaseUrl: reader.url(ENV_KEYS.twilioApiBaseUrl),
  }));
}

/**
 * The `VERIFICATION_*` settings, the links' origin and the fraud guard's settings: one section, so
 * one ConfigError names every bad key of the feature at once.
 */
export function loadVerificationConfig(env: Env = process.env): VerificationConfig {
  const { base, ...parts } = loadSections({
    base: () => loadVerificationBase(env),
    links: () => loadLinkSettings(env),
    phonePolicy: () => loadPhonePolicySettings(env),
    velocity: () => loadVelocitySettings(env),
    clientIp: () => loadClientIpSettings(env),
    smsTemplates: () => loadSmsTemplateSettings(env),
  });
  return deepFreeze({ ...base, ...parts });
}

type VerificationBase = Omit<
  VerificationConfig,
  'links' | 'phonePolicy' | 'velocity' | 'clientIp' | 'smsTemplates'
>;

function loadVerificationBase(env: Env): VerificationBase {
  return loadSection(env, (reader) => {
    const messageTemplate =
      reader.optional(ENV_KEYS.verificationMessageTemplate) ?? DEFAULTS.verificationMessageTemplate;
    if (!messageTemplate.includes('{code}')) {
      reader.report(ENV_KEYS.verificationMessageTemplate, 'must contain {code}');
    } else if (messageTemplate.length > MAX_TEMPLATE_LENGTH) {
      reader.report(
        ENV_KEYS.verificationMessageTemplate,
        `must be at most ${MAX_TEMPLATE_LENGTH} characters`,
      );
    }
    const verification: VerificationBase = {
      timeoutSeconds: reader.integer(
        ENV_KEYS.verificationTimeoutSeconds,
        DEFAULTS.verificationTimeoutSeconds,
        TIMEOUT_SECONDS_RANGE,
      ),
      maxAttempts: reader.integer(
        ENV_KEYS.verificationMaxAttempts,
        DEFAULTS.verificationMaxAttempts,
        MAX_ATTEMPTS_RANGE,
      ),
      codeLength: reader.integer(
        ENV_KEYS.verificationCodeLength,
        DEFAULTS.verificationCodeLength,
        CODE_LENGTH_RANGE,
      ),
      messageTemplate,
      codeSecret: reader.required(ENV_KEYS.verificationCodeSecret),
      retentionHours: reader.integer(
        ENV_KEYS.verificationRetentionHours,
        DEFAULTS.verificationRetentionHours,
        RETENTION_HOURS_RANGE,
      ),
      storage: readOptionalStorage(reader),
    };
    if (verification.codeSecret.length > 0 && verification.codeSecret.length < 16) {
      reader.report(ENV_KEYS.verificationCodeSecret, 'must be at least 16 characters');
    }
    return verification;
  });
}

/** `VERIFICATION_BLOCKED_NUMBER_TYPES` (`none` blocks no type) and `VERIFICATION_ALLOWED_COUNTRIES`. */
export function loadPhonePolicySettings(env: Env = process.env): PhonePolicySettings {
  return loadSection(env, (reader) => {
    const typesKey = ENV_KEYS.blockedNumberTypes;
    const rawTypes = reader.list(typesKey)?.map((item) => item.toUpperCase());
    let blocked: readonly PolicyNumberType[] = DEFAULTS.blockedNumberTypes;
    if (rawTypes !== undefined && !(rawTypes.length === 1 && rawTypes[0] === 'NONE')) {
      if (rawTypes.some((item) => !isPolicyNumberType(item))) {
        reader.report(
          typesKey,
          `must be "none" or a comma-separated list of ${POLICY_NUMBER_TYPES.join(', ')}`,
        );
      }
      blocked = rawTypes.filter(isPolicyNumberType);
    } else if (rawTypes !== undefined) {
      blocked = [];
    }
    const countriesKey = ENV_KEYS.allowedCountries;
    const rawCountries = reader.list(countriesKey)?.map((item) => item.toUpperCase());
    if (rawCountries?.some((item) => !isSupportedCountry(item))) {
      reader.report(countriesKey, 'must be a comma-separated list of ISO 3166-1 alpha-2 codes');
    }
    const countries = rawCountries?.filter((item): item is CountryCode => isSupportedCountry(item));
    return {
      blockedNumberTypes: new Set(blocked),
      allowedCountries:
        countries === undefined || countries.length === 0 ? undefined : new Set(countries),
    };
  });
}

/** The `VERIFICATION_LIMIT_*` settings and `VERIFICATION_GUARD_FAIL_MODE`. */
export function loadVelocitySettings(env: Env = process.env): VelocitySettings {
  return loadSection(env, (reader) => {
    const tableName = reader.optional(ENV_KEYS.limitTableName) ?? DEFAULTS.limitTableName;
    if (!TABLE_NAME_PATTERN.test(tableName)) {
      reader.report(
        ENV_KEYS.limitTableName,
        'must be 3-63 letters or digits, starting with a letter',
      );
    }
    const limit = (key: EnvKey, fallback: number) =>
      reader.integer(key, fallback, VELOCITY_LIMIT_RANGE);
    return {
      perNumberPerHour: limit(ENV_KEYS.limitPerNumberPerHour, DEFAULTS.limitPerNumberPerHour),
      numberCooldownSeconds: reader.integer(
        ENV_KEYS.limitNumberCooldownSeconds,
        DEFAULTS.limitNumberCooldownSeconds,
        COOLDOWN_SECONDS_RANGE,
      ),
      perIpPerHour: limit(ENV_KEYS.limitPerIpPerHour, DEFAULTS.limitPerIpPerHour),
      perPrefixPerHour: limit(ENV_KEYS.limitPerPrefixPerHour, DEFAULTS.limitPerPrefixPerHour),
      globalPerHour: limit(ENV_KEYS.limitGlobalPerHour, DEFAULTS.limitGlobalPerHour),
      failMode: reader.oneOf(ENV_KEYS.guardFailMode, FAIL_MODES, DEFAULTS.guardFailMode),
      tableName,
    };
  });
}

/** `VERIFICATION_CLIENT_IP_HEADER` (`none` turns the per-IP limit off) and `VERIFICATION_TRUSTED_PROXY_HOPS`. */
export function loadClientIpSettings(env: Env = process.env): ClientIpSettings {
  return loadSection(env, (reader) => {
    const name = reader.optional(ENV_KEYS.clientIpHeader) ?? DEFAULTS.clientIpHeader;
    let header: string | undefined = name.toLowerCase();
    if (header === 'none') {
      header = undefined;
    } else if (!HEADER_NAME_PATTERN.test(name)) {
      reader.report(ENV_KEYS.clientIpHeader, 'must be a header name or "none"');
    }
    const trustedProxyHops = reader.integer(
      ENV_KEYS.trustedProxyHops,
      DEFAULTS.trustedProxyHops,
      TRUSTED_PROXY_HOPS_RANGE,
    );
    return { header, trustedProxyHops };
  });
}

/**
 * `VERIFICATION_PUBLIC_ORIGIN` (e.g. a custom domain), else `https://$WEBSITE_HOSTNAME` (set by
 * Azure on every app; `http://` when it is a loopback `host:port`, as the local runtime and Core
 * Tools set it), else `http://localhost:7071`. Plain http only for loopback hosts.
 */
export function loadLinkSettings(env: Env = process.env): LinkSettings {
  return loadSection(env, (reader) => {
    const explicit = reader.optional(ENV_KEYS.publicOrigin);
    if (explicit !== undefined) {
      const origin = parseOrigin(explicit);
      if (origin === undefined) {
        reader.report(
          ENV_KEYS.publicOrigin,
          'must be an https origin (scheme, host, optional port; http only for loopback)',
        );
        return undefined;
      }
      return { publicOrigin: origin };
    }
    const hostname = reader.optional(ENV_KEYS.websiteHostname);
    if (hostname !== undefined) {
      const scheme = isLoopbackHost(hostname.replace(/:\d+$/, '')) ? 'http' : 'https';
      const origin = parseOrigin(`${scheme}://${hostname}`);
      if (origin === undefined) {
        reader.report(ENV_KEYS.websiteHostname, 'must be a host name');
        return undefined;
      }
      return { publicOrigin: origin };
    }
    return { publicOrigin: new URL(DEFAULTS.publicOrigin) };
  });
}

const TEMPLATE_KEYS: Readonly<Record<TranslatedLocale, EnvKey>> = {
  es: ENV_KEYS.messageTemplateEs,
  fr: ENV_KEYS.messageTemplateFr,
  de: ENV_KEYS.messageTemplateDe,
  pt: ENV_KEYS.messageTemplatePt,
  ja: ENV_KEYS.messageTemplateJa,
  ko: ENV_KEYS.messageTemplateKo,
  zh: ENV_KEYS.messageTemplateZh,
  'zh-Hant': ENV_KEYS.messageTemplateZhHant,
};

/** `VERIFICATION_MESSAGE_TEMPLATE_<LOCALE>`: each must contain `{code}`. */
export function loadSmsTemplateSettings(env: Env = process.env): SmsTemplateSettings {
  return loadSection(env, (reader) => {
    const overrides: Partial<Record<TranslatedLocale, string>> = {};
    for (const locale of Object.keys(TEMPLATE_KEYS) as TranslatedLocale[]) {
      const key = TEMPLATE_KEYS[locale];
      const value = reader.optional(key);
      if (value === undefined) continue;
      if (!value.includes('{code}')) reader.report(key, 'must contain {code}');
      else if (value.length > MAX_TEMPLATE_LENGTH) {
        reader.report(key, `must be at most ${MAX_TEMPLATE_LENGTH} characters`);
      } else overrides[locale] = value;
    }
    return { overrides };
  });
}

function isPolicyNumberType(value: string): value is PolicyNumberType {
  return (POLICY_NUMBER_TYPES as readonly string[]).includes(value);
}

function parseOrigin(raw: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  const bare = !url.username && !url.password && !url.search && !url.hash && url.pathname === '/';
  const secure =
    url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  return bare && secure ? url : undefined;
}

/** `COMMUNICATION_SERVICES_CONNECTION_STRING` or `COMMUNICATION_SERVICES_ENDPOINT`, and `ACS_TEAMS_CLIENT_ID`. */
export function loadAcsConfig(env: Env = process.env): AcsConfig {
  return loadSection(env, (reader) => {
    const access = readAcs(reader);
    const teamsClientId = reader.optional(ENV_KEYS.acsTeamsClientId);
    if (teamsClientId !== undefined && !GUID_PATTERN.test(teamsClientId)) {
      reader.report(ENV_KEYS.acsTeamsClientId, 'must be a GUID');
    }
    return access === undefined ? undefined : { access, teamsClientId };
  });
}

/**
 * The `SIDECAR_*` settings. Every app in the sidecar's trust boundary can mint tokens with it, so a
 * non-loopback URL is refused unless explicitly allowed (a sidecar reached over a private network).
 * The URL is the client's base: routes resolve below its path, so it gets a trailing `/` and may
 * carry no query or fragment.
 */
export function loadSidecarConfig(env: Env = process.env): SidecarConfig {
  return loadSection(env, (reader) => {
    const allowNonLoopback = reader.boolean(ENV_KEYS.sidecarAllowNonLoopback, false);
    const url = reader.url(ENV_KEYS.sidecarUrl) ?? new URL(DEFAULTS.sidecarUrl);
    if (url.search !== '' || url.hash !== '') {
      reader.report(ENV_KEYS.sidecarUrl, 'must not contain a query or fragment');
    } else if (!allowNonLoopback && !isLoopbackHost(url.hostname)) {
      reader.report(
        ENV_KEYS.sidecarUrl,
        `must be a loopback URL unless ${ENV_KEYS.sidecarAllowNonLoopback}=true`,
      );
    }
    if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
    const graphApiName =
      reader.optional(ENV_KEYS.sidecarGraphApiName) ?? DEFAULTS.sidecarGraphApiName;
    if (!SIDECAR_API_NAME_PATTERN.test(graphApiName)) {
      reader.report(
        ENV_KEYS.sidecarGraphApiName,
        'must be a sidecar API name: 1-64 letters, digits, ".", "_" or "-"',
      );
    }
    return {
      url,
      allowNonLoopback,
      timeoutMs: reader.integer(
        ENV_KEYS.sidecarTimeoutMs,
        DEFAULTS.sidecarTimeoutMs,
        SIDECAR_TIMEOUT_RANGE,
      ),
      graphApiName,
    };
  });
}

/** `AzureWebJobsStorage` (or its identity-based `__accountName` form) and `ACS_IDENTITY_TABLE_NAME`. */
export function loadIdentityMapConfig(env: Env = process.env): IdentityMapConfig {
  return loadSection(env, (reader) => {
    const storage = readStorage(reader);
    const tableName =
      reader.optional(ENV_KEYS.acsIdentityTableName) ?? DEFAULTS.acsIdentityTableName;
    if (!TABLE_NAME_PATTERN.test(tableName)) {
      reader.report(
        ENV_KEYS.acsIdentityTableName,
        'must be 3-63 letters or digits, starting with a letter',
      );
    }
    return storage === undefined ? undefined : { storage, tableName };
  });
}

/** The app's storage when any of its settings is set; undefined (and no problem) when none is. */
function readOptionalStorage(reader: Reader): StorageAccess | undefined {
  const keys = [
    ENV_KEYS.storage,
    ENV_KEYS.storageAccountName,
    ENV_KEYS.storageTableServiceUri,
    ENV_KEYS.storageClientId,
  ];
  return keys.some((key) => reader.optional(key) !== undefined) ? readStorage(reader) : undefined;
}

/** A connection string wins; otherwise the identity-based settings the Functions host also reads. */
function readStorage(reader: Reader): StorageAccess | undefined {
  const connectionString = reader.optional(ENV_KEYS.storage);
  if (connectionString !== undefined) return { kind: 'connectionString', connectionString };
  const accountName = reader.optional(ENV_KEYS.storageAccountName);
  const tableServiceUri = reader.url(ENV_KEYS.storageTableServiceUri);
  const clientId = reader.optional(ENV_KEYS.storageClientId);
  if (clientId !== undefined && !GUID_PATTERN.test(clientId)) {
    reader.report(ENV_KEYS.storageClientId, 'must be a GUID');
  }
  if (tableServiceUri === undefined && accountName === undefined) {
    reader.report(ENV_KEYS.storage, `required (or set ${ENV_KEYS.storageAccountName})`);
    return undefined;
  }
  if (accountName !== undefined && !/^[a-z0-9]{3,24}$/.test(accountName)) {
    reader.report(ENV_KEYS.storageAccountName, 'must be 3-24 lowercase letters or digits');
    return undefined;
  }
  const tableEndpoint =
    tableServiceUri ?? new URL(`https://${accountName}.table.core.windows.net/`);
  // Bearer tokens are refused by the SDK over plain http.
  if (tableEndpoint.protocol !== 'https:') {
    reader.report(ENV_KEYS.storageTableServiceUri, 'must be an https URL');
    return undefined;
  }
  return { kind: 'managedIdentity', tableEndpoint, clientId };
}

/** `FUNCTIONS_WORKER_RUNTIME`: no feature reads it, so only the start-up report checks it. */
export function loadHostConfig(env: Env = process.env): HostConfig {
  return loadSection(env, (reader) => {
    const workerRuntime = reader.optional(ENV_KEYS.workerRuntime);
    if (workerRuntime === undefined) return { workerRuntime };
    if (workerRuntime !== 'node') {
      reader.report(ENV_KEYS.workerRuntime, 'must be "node"');
      return undefined;
    }
    return { workerRuntime };
  });
}

/**
 * Reads one section; throws a {@link ConfigError} naming only that section's keys. `read`
 * returns undefined only after reporting a problem.
 */
function loadSection<T>(env: Env, read: (reader: Reader) => T | undefined): T {
  const problems: FieldProblem[] = [];
  const value = read(new Reader(env, problems));
  if (problems.length > 0 || value === undefined) throw new ConfigError(problems);
  return deepFreeze(value);
}

function readAcs(reader: Reader): AcsAccess | undefined {
  const connectionString = reader.optional(ENV_KEYS.acsConnectionString);
  if (connectionString !== undefined) {
    const match = ACS_CONNECTION_STRING_PATTERN.exec(connectionString);
    const endpoint = match?.[1] === undefined ? undefined : parseAcsEndpoint(match[1]);
    if (endpoint === undefined || !match?.[2]) {
      reader.report(
        ENV_KEYS.acsConnectionString,
        'must look like endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>',
      );
      return undefined;
    }
    if (endpoint.protocol === 'http:' && !isLoopbackHost(endpoint.hostname)) {
      reader.report(
        ENV_KEYS.acsConnectionString,
        'endpoint must use https (http only for loopback hosts)',
      );
      return undefined;
    }
    return { kind: 'connectionString', connectionString, endpoint };
  }
  const rawEndpoint = reader.optional(ENV_KEYS.acsEndpoint);
  if (rawEndpoint === undefined) {
    reader.report(
      ENV_KEYS.acsConnectionString,
      `required (or set ${ENV_KEYS.acsEndpoint} to use managed identity)`,
    );
    return undefined;
  }
  const endpoint = parseAcsEndpoint(rawEndpoint);
  // Bearer tokens are refused by the SDK over plain http, so managed identity needs https.
  if (endpoint === undefined || endpoint.protocol !== 'https:') {
    reader.report(ENV_KEYS.acsEndpoint, 'must be an https URL without a path');
    return undefined;
  }
  return { kind: 'managedIdentity', endpoint };
}

/** The ACS SDK rejects endpoints with a path, so this does too. */
function parseAcsEndpoint(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    if (
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      (url.pathname !== '/' && url.pathname !== '')
    ) {
      return undefined;
    }
    if (url.username || url.password || url.search || url.hash) {
      return undefined;
    }
    return url;
  } catch {
    return undefined;
  }
}

class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: FieldProblem[],
  ) {}

  report(field: EnvKey, message: string): void {
    this.problems.push({ field, message });
  }

  /** An unset or blank value is "missing": a secret is never defaulted to ''. */
  optional(key: EnvKey): string | undefined {
    const value = this.env[key];
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  required(key: EnvKey, pattern?: RegExp, patternMessage = 'is invalid'): string {
    const value = this.optional(key);
    if (value === undefined) {
      this.problems.push({ field: key, message: 'required' });
      return '';
    }
    if (pattern !== undefined && !pattern.test(value)) {
      this.problems.push({ field: key, message: patternMessage });
    }
    return value;
  }

  integer(key: EnvKey, fallback: number, range: { min: number; max: number }): number {
    const value = this.optional(key);
    if (value === undefined) return fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < range.min || parsed > range.max) {
      this.problems.push({
        field: key,
        message: `must be an integer in ${range.min}..${range.max}`,
      });
      return fallback;
    }
    return parsed;
  }

  /** Comma-separated list; items trimmed, blanks dropped. Unset gives undefined. */
  list(key: EnvKey): string[] | undefined {
    return this.optional(key)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  oneOf<T extends string>(key: EnvKey, allowed: readonly T[], fallback: T): T {
    const value = this.optional(key)?.toLowerCase();
    if (value === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) {
      this.problems.push({ field: key, message: `must be one of ${allowed.join(', ')}` });
      return fallback;
    }
    return match;
  }

  boolean(key: EnvKey, fallback: boolean): boolean {
    const value = this.optional(key)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    this.problems.push({ field: key, message: 'must be true or false' });
    return fallback;
  }

  url(key: EnvKey): URL | undefined {
    const value = this.optional(key);
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      if (url.username || url.password) throw new Error('userinfo');
      return url;
    } catch {
      this.problems.push({ field: key, message: 'must be an http(s) URL without credentials' });
      return undefined;
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof URL)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
