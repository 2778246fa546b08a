import { loadSection, loadSections, type Env } from '../config';
import { isLoopbackHost } from '../loopback';
import { readOptionalStorage } from '../storage/settings';
import type { StorageAccess } from '../storage/table-storage';
import {
  loadClientIpSettings,
  loadPhonePolicySettings,
  loadVelocitySettings,
  type GuardSettings,
} from './guard/settings';
import {
  CODE_LENGTH_RANGE,
  E164_PATTERN,
  MAX_ATTEMPTS_RANGE,
  TIMEOUT_SECONDS_RANGE,
} from './rules';
import type { TranslatedLocale } from './sms-templates';

/** The Twilio account that sends the codes. */
export const TWILIO_KEYS = {
  accountSid: 'TwilioAccountSid',
  authToken: 'TwilioAuthToken',
  phoneNumber: 'TwilioPhoneNumber',
  /** The app's way to point Twilio at the emulator; not an SDK setting. */
  apiBaseUrl: 'TwilioApiBaseUrl',
} as const;

/** The verification feature's own settings (the fraud guard's are in `guard/settings.ts`). */
export const VERIFICATION_KEYS = {
  timeoutSeconds: 'VERIFICATION_TIMEOUT_SECONDS',
  maxAttempts: 'VERIFICATION_MAX_ATTEMPTS',
  codeLength: 'VERIFICATION_CODE_LENGTH',
  messageTemplate: 'VERIFICATION_MESSAGE_TEMPLATE',
  codeSecret: 'VERIFICATION_CODE_SECRET',
  retentionHours: 'VERIFICATION_RETENTION_HOURS',
  publicOrigin: 'VERIFICATION_PUBLIC_ORIGIN',
} as const;

/** Replacements of the built-in SMS templates, one per translated locale. */
export const SMS_TEMPLATE_KEYS: Readonly<Record<TranslatedLocale, string>> = {
  es: 'VERIFICATION_MESSAGE_TEMPLATE_ES',
  fr: 'VERIFICATION_MESSAGE_TEMPLATE_FR',
  de: 'VERIFICATION_MESSAGE_TEMPLATE_DE',
  pt: 'VERIFICATION_MESSAGE_TEMPLATE_PT',
  ja: 'VERIFICATION_MESSAGE_TEMPLATE_JA',
  ko: 'VERIFICATION_MESSAGE_TEMPLATE_KO',
  zh: 'VERIFICATION_MESSAGE_TEMPLATE_ZH',
  'zh-Hant': 'VERIFICATION_MESSAGE_TEMPLATE_ZH_HANT',
};

/** Set by the platform (Azure: the app's host name; Core Tools and the local runtime: loopback), read by the links. */
export const WEBSITE_HOSTNAME_KEY = 'WEBSITE_HOSTNAME';

export const VERIFICATION_DEFAULTS = {
  timeoutSeconds: 90,
  maxAttempts: 4,
  codeLength: 6,
  messageTemplate: 'Your verification code is {code}',
  retentionHours: 24,
  publicOrigin: 'http://localhost:7071',
} as const;

/** Finished verifications are purged this many hours after they started (1 hour .. 1 year). */
export const RETENTION_HOURS_RANGE = { min: 1, max: 8760 } as const;
/** Every SMS template, the English one and its translations. */
export const MAX_TEMPLATE_LENGTH = 1500;
const ACCOUNT_SID_PATTERN = /^AC[0-9a-fA-F]{32}$/;
/** The secret keys HMACs and AES-GCM through HKDF; fewer characters would be guessable. */
const MIN_SECRET_LENGTH = 16;

export interface TwilioConfig {
  readonly accountSid: string;
  readonly authToken: string;
  /** E.164 sender number. */
  readonly phoneNumber: string;
  /** When set, every Twilio API request goes to this origin instead of `https://*.twilio.com`. */
  readonly apiBaseUrl: URL | undefined;
}

export interface LinkSettings {
  /** Scheme, host and port only; the links never take their origin from a request. */
  readonly publicOrigin: URL;
}

export interface SmsTemplateSettings {
  /** Replacements of the built-in templates; each contains `{code}`. */
  readonly overrides: Readonly<Partial<Record<TranslatedLocale, string>>>;
}

export interface VerificationConfig extends GuardSettings {
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
  readonly smsTemplates: SmsTemplateSettings;
}

/** `TwilioAccountSid`, `TwilioAuthToken`, `TwilioPhoneNumber`, `TwilioApiBaseUrl`. */
export function loadTwilioConfig(env: Env): TwilioConfig {
  return loadSection(env, (reader) => ({
    accountSid: reader.required(
      TWILIO_KEYS.accountSid,
      ACCOUNT_SID_PATTERN,
      'must be AC followed by 32 hex characters',
    ),
    authToken: reader.required(TWILIO_KEYS.authToken),
    phoneNumber: reader.required(
      TWILIO_KEYS.phoneNumber,
      E164_PATTERN,
      'must be an E.164 number (+ and 8-15 digits)',
    ),
    apiBaseUrl: reader.url(TWILIO_KEYS.apiBaseUrl),
  }));
}

/**
 * The `VERIFICATION_*` settings, the links' origin and the fraud guard's settings: one section, so
 * one ConfigError names every bad key of the feature at once.
 */
export function loadVerificationConfig(env: Env): VerificationConfig {
  const { base, ...parts } = loadSections({
    base: () => loadVerificationBase(env),
    links: () => loadLinkSettings(env),
    phonePolicy: () => loadPhonePolicySettings(env),
    clientIp: () => loadClientIpSettings(env),
    velocity: () => loadVelocitySettings(env),
    smsTemplates: () => loadSmsTemplateSettings(env),
  });
  return Object.freeze({ ...base, ...parts });
}

type VerificationBase = Omit<VerificationConfig, keyof GuardSettings | 'links' | 'smsTemplates'>;

function loadVerificationBase(env: Env): VerificationBase {
  return loadSection(env, (reader) => {
    const messageTemplate =
      reader.optional(VERIFICATION_KEYS.messageTemplate) ?? VERIFICATION_DEFAULTS.messageTemplate;
    const templateProblem = checkTemplate(messageTemplate);
    if (templateProblem !== undefined) {
      reader.report(VERIFICATION_KEYS.messageTemplate, templateProblem);
    }
    const verification: VerificationBase = {
      timeoutSeconds: reader.integer(
        VERIFICATION_KEYS.timeoutSeconds,
        VERIFICATION_DEFAULTS.timeoutSeconds,
        TIMEOUT_SECONDS_RANGE,
      ),
      maxAttempts: reader.integer(
        VERIFICATION_KEYS.maxAttempts,
        VERIFICATION_DEFAULTS.maxAttempts,
        MAX_ATTEMPTS_RANGE,
      ),
      codeLength: reader.integer(
        VERIFICATION_KEYS.codeLength,
        VERIFICATION_DEFAULTS.codeLength,
        CODE_LENGTH_RANGE,
      ),
      messageTemplate,
      codeSecret: reader.required(VERIFICATION_KEYS.codeSecret),
      retentionHours: reader.integer(
        VERIFICATION_KEYS.retentionHours,
        VERIFICATION_DEFAULTS.retentionHours,
        RETENTION_HOURS_RANGE,
      ),
      storage: readOptionalStorage(reader),
    };
    const { codeSecret } = verification;
    if (codeSecret.length > 0 && codeSecret.length < MIN_SECRET_LENGTH) {
      reader.report(
        VERIFICATION_KEYS.codeSecret,
        `must be at least ${MIN_SECRET_LENGTH} characters`,
      );
    }
    return verification;
  });
}

/**
 * `VERIFICATION_PUBLIC_ORIGIN` (e.g. a custom domain), else `https://$WEBSITE_HOSTNAME` (set by
 * Azure on every app; `http://` when it is a loopback `host:port`, as the local runtime and Core
 * Tools set it), else `http://localhost:7071`. Plain http only for loopback hosts.
 */
export function loadLinkSettings(env: Env): LinkSettings {
  return loadSection(env, (reader) => {
    const explicit = reader.optional(VERIFICATION_KEYS.publicOrigin);
    if (explicit !== undefined) {
      const origin = parseOrigin(explicit);
      if (origin === undefined) {
        reader.report(
          VERIFICATION_KEYS.publicOrigin,
          'must be an https origin (scheme, host, optional port; http only for loopback)',
        );
        return undefined;
      }
      return { publicOrigin: origin };
    }
    const hostname = reader.optional(WEBSITE_HOSTNAME_KEY);
    if (hostname !== undefined) {
      const scheme = isLoopbackHost(hostname.replace(/:\d+$/, '')) ? 'http' : 'https';
      const origin = parseOrigin(`${scheme}://${hostname}`);
      if (origin === undefined) {
        reader.report(WEBSITE_HOSTNAME_KEY, 'must be a host name');
        return undefined;
      }
      return { publicOrigin: origin };
    }
    return { publicOrigin: new URL(VERIFICATION_DEFAULTS.publicOrigin) };
  });
}

/** `VERIFICATION_MESSAGE_TEMPLATE_<LOCALE>`: each must contain `{code}`. */
export function loadSmsTemplateSettings(env: Env): SmsTemplateSettings {
  return loadSection(env, (reader) => {
    const overrides: Partial<Record<TranslatedLocale, string>> = {};
    for (const locale of Object.keys(SMS_TEMPLATE_KEYS) as TranslatedLocale[]) {
      const key = SMS_TEMPLATE_KEYS[locale];
      const value = reader.optional(key);
      if (value === undefined) continue;
      const problem = checkTemplate(value);
      if (problem === undefined) overrides[locale] = value;
      else reader.report(key, problem);
    }
    return { overrides };
  });
}

/** What is wrong with an SMS template, or undefined. */
function checkTemplate(template: string): string | undefined {
  if (!template.includes('{code}')) return 'must contain {code}';
  if (template.length > MAX_TEMPLATE_LENGTH) {
    return `must be at most ${MAX_TEMPLATE_LENGTH} characters`;
  }
  return undefined;
}

function parseOrigin(raw: string): URL | undefined {
  if (!URL.canParse(raw)) return undefined;
  const url = new URL(raw);
  const bare = !url.username && !url.password && !url.search && !url.hash && url.pathname === '/';
  const secure =
    url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  return bare && secure ? url : undefined;
}
