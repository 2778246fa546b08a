import { loadAcsConfig, type AcsAccess } from '../acs/settings';
import type { Env } from '../config';
import { loadTwilioConfig, type TwilioConfig } from '../verification/settings';
import { ConfigError, type FieldProblem } from '../errors';
import { CODE_LENGTH_RANGE, E164_PATTERN } from '../verification/rules';
import { CHANNELS, SMS_PROVIDERS, type Channel, type SmsProviderName } from './channels';

/**
 * The delivery feature's settings: which channels and SMS providers this deployment has, and the test
 * numbers. A channel is on only when its own settings are there (the embedded defaults of `npm start` set
 * them all, against the emulators); the credentials are the Twilio and ACS sections the app already has
 * (ACS by managed identity in Azure, as the token service).
 */

export const DELIVERY_KEYS = {
  voiceFrom: 'TwilioVoiceFrom',
  whatsAppFrom: 'TwilioWhatsAppFrom',
  whatsAppContentSid: 'TwilioWhatsAppContentSid',
  acsSmsFrom: 'COMMUNICATION_SERVICES_SMS_FROM',
  acsEmailSender: 'COMMUNICATION_SERVICES_EMAIL_SENDER',
  smsProviders: 'DELIVERY_SMS_PROVIDERS',
  providerTimeoutMs: 'DELIVERY_PROVIDER_TIMEOUT_MS',
  testNumbers: 'DELIVERY_TEST_NUMBERS',
  testNumbersInAzure: 'DELIVERY_TEST_NUMBERS_ALLOWED_IN_AZURE',
  callKeyPress: 'DELIVERY_CALL_KEY_PRESS',
  /** Set by App Service / Functions in Azure (never by Core Tools or the local runtime). */
  azureInstance: 'WEBSITE_INSTANCE_ID',
} as const;

export type DeliveryKey = (typeof DELIVERY_KEYS)[keyof typeof DELIVERY_KEYS];

/** The keys only this feature reads (the platform's `WEBSITE_INSTANCE_ID` is not one of them). */
export const DELIVERY_OWN_KEYS: Readonly<Record<string, DeliveryKey>> = Object.fromEntries(
  Object.entries(DELIVERY_KEYS).filter(([, key]) => key !== DELIVERY_KEYS.azureInstance),
);

export const DELIVERY_DEFAULTS = {
  providerTimeoutMs: 10_000,
} as const;
export const PROVIDER_TIMEOUT_RANGE = { min: 500, max: 60_000 } as const;
const MAX_TEST_NUMBERS = 100;
const CONTENT_SID = /^HX[0-9a-fA-F]{32}$/;
/** ACS accepts an E.164 number or an alphanumeric sender id (1..11 letters, digits, spaces). */
const ACS_SENDER = /^(?:\+[1-9]\d{7,14}|[A-Za-z0-9 ]{1,11})$/;
const EMAIL_ADDRESS = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const TEST_NUMBER_ENTRY = /^(\+[1-9]\d{0,14})(\*?)=(\d+)$/;

/** A number (or, with `prefix`, every number starting with it) that gets `code` and is never sent to. */
export interface TestNumber {
  readonly number: string;
  readonly prefix: boolean;
  readonly code: string;
}

export interface DeliverySettings {
  /** The Twilio account, when the deployment has one (SMS provider, call, WhatsApp). */
  readonly twilio: TwilioConfig | undefined;
  /** The ACS resource, when the deployment has one (SMS provider, email). */
  readonly acs: AcsAccess | undefined;
  /** `keyPress`: the call asks for a key before it speaks the code (`DELIVERY_CALL_KEY_PRESS`). */
  readonly call: { readonly from: string; readonly keyPress: boolean } | undefined;
  readonly whatsApp: { readonly from: string; readonly contentSid: string } | undefined;
  readonly acsSms: { readonly from: string } | undefined;
  readonly email: { readonly sender: string } | undefined;
  /** SMS providers in the order they are tried; empty: no `sms` channel. */
  readonly smsProviders: readonly SmsProviderName[];
  /** Per provider attempt (a hung provider hands over after this). */
  readonly providerTimeoutMs: number;
  readonly testNumbers: readonly TestNumber[];
}

/** The channels these settings turn on, in {@link CHANNELS} order. */
export function enabledChannels(settings: DeliverySettings): readonly Channel[] {
  const on: Record<Channel, boolean> = {
    sms: settings.smsProviders.length > 0,
    call: settings.call !== undefined,
    whatsapp: settings.whatsApp !== undefined,
    email: settings.email !== undefined,
  };
  return CHANNELS.filter((c) => on[c]);
}

/** Reads and validates the delivery settings; one ConfigError names every bad key (never a value). */
export function loadDeliverySettings(env: Env): DeliverySettings {
  const problems: FieldProblem[] = [];
  const read = (key: DeliveryKey): string | undefined => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const report = (field: string, message: string): void => {
    problems.push({ field, message });
  };
  const twilio = optionalSection(() => loadTwilioConfig(env));
  const acs = optionalSection(() => loadAcsConfig(env))?.access;

  const needs = (key: DeliveryKey, section: 'twilio' | 'acs', present: boolean): boolean => {
    if (!present) {
      report(
        key,
        section === 'twilio'
          ? 'needs valid Twilio settings (TwilioAccountSid, TwilioAuthToken, TwilioPhoneNumber)'
          : 'needs valid ACS settings (COMMUNICATION_SERVICES_CONNECTION_STRING or _ENDPOINT)',
      );
    }
    return present;
  };

  /** A sender setting: its value when set, its service configured and its form right (else reported). */
  const senderOf = (
    key: DeliveryKey,
    section: 'twilio' | 'acs',
    form: { readonly pattern: RegExp; readonly message: string },
  ): string | undefined => {
    const value = read(key);
    if (value === undefined) return undefined;
    if (!needs(key, section, section === 'twilio' ? twilio !== undefined : acs !== undefined))
      return undefined;
    if (form.pattern.test(value)) return value;
    report(key, form.message);
    return undefined;
  };

  const voiceFrom = senderOf(DELIVERY_KEYS.voiceFrom, 'twilio', {
    pattern: E164_PATTERN,
    message: 'must be an E.164 number',
  });
  const rawKeyPress = read(DELIVERY_KEYS.callKeyPress)?.toLowerCase();
  if (rawKeyPress !== undefined && rawKeyPress !== 'true' && rawKeyPress !== 'false')
    report(DELIVERY_KEYS.callKeyPress, 'must be true or false');
  const call: DeliverySettings['call'] =
    voiceFrom === undefined ? undefined : { from: voiceFrom, keyPress: rawKeyPress === 'true' };

  const waFrom = read(DELIVERY_KEYS.whatsAppFrom);
  const waContent = read(DELIVERY_KEYS.whatsAppContentSid);
  let whatsApp: DeliverySettings['whatsApp'];
  if (waFrom !== undefined || waContent !== undefined) {
    const key =
      waFrom === undefined ? DELIVERY_KEYS.whatsAppFrom : DELIVERY_KEYS.whatsAppContentSid;
    if (waFrom === undefined || waContent === undefined) {
      report(
        key,
        `required with ${waFrom === undefined ? DELIVERY_KEYS.whatsAppContentSid : DELIVERY_KEYS.whatsAppFrom}`,
      );
    } else if (needs(DELIVERY_KEYS.whatsAppFrom, 'twilio', twilio !== undefined)) {
      const fromOk = E164_PATTERN.test(waFrom);
      const sidOk = CONTENT_SID.test(waContent);
      if (!fromOk)
        report(DELIVERY_KEYS.whatsAppFrom, 'must be an E.164 number (no whatsapp: prefix)');
      if (!sidOk)
        report(DELIVERY_KEYS.whatsAppContentSid, 'must be HX followed by 32 hex characters');
      if (fromOk && sidOk) whatsApp = { from: waFrom, contentSid: waContent };
    }
  }

  const smsFrom = senderOf(DELIVERY_KEYS.acsSmsFrom, 'acs', {
    pattern: ACS_SENDER,
    message: 'must be an E.164 number or an alphanumeric sender id',
  });
  const acsSms: DeliverySettings['acsSms'] = smsFrom === undefined ? undefined : { from: smsFrom };

  const sender = senderOf(DELIVERY_KEYS.acsEmailSender, 'acs', {
    pattern: EMAIL_ADDRESS,
    message: 'must be an email address',
  });
  const email: DeliverySettings['email'] = sender === undefined ? undefined : { sender };

  const configured: Record<SmsProviderName, boolean> = {
    twilio: twilio !== undefined,
    acs: acsSms !== undefined,
  };
  const listed = read(DELIVERY_KEYS.smsProviders)
    ?.split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  let smsProviders: SmsProviderName[];
  if (listed?.length === 1 && listed[0] === 'none') {
    // A deployment that verifies by other channels only.
    smsProviders = [];
  } else if (listed === undefined) {
    smsProviders = SMS_PROVIDERS.filter((p) => configured[p]);
  } else {
    smsProviders = [];
    for (const p of listed) {
      const known = SMS_PROVIDERS.find((candidate) => candidate === p);
      if (known === undefined || smsProviders.includes(known)) {
        report(
          DELIVERY_KEYS.smsProviders,
          `must list distinct providers of ${SMS_PROVIDERS.join(', ')}`,
        );
      } else if (!configured[known]) {
        report(DELIVERY_KEYS.smsProviders, `lists ${known}, whose settings are missing`);
      } else {
        smsProviders.push(known);
      }
    }
  }

  const rawTimeout = read(DELIVERY_KEYS.providerTimeoutMs);
  let providerTimeoutMs: number = DELIVERY_DEFAULTS.providerTimeoutMs;
  if (rawTimeout !== undefined) {
    const n = /^\d+$/.test(rawTimeout) ? Number(rawTimeout) : Number.NaN;
    if (n >= PROVIDER_TIMEOUT_RANGE.min && n <= PROVIDER_TIMEOUT_RANGE.max) providerTimeoutMs = n;
    else
      report(
        DELIVERY_KEYS.providerTimeoutMs,
        `must be an integer in ${PROVIDER_TIMEOUT_RANGE.min}..${PROVIDER_TIMEOUT_RANGE.max}`,
      );
  }

  const testNumbers = parseTestNumbers(read(DELIVERY_KEYS.testNumbers), report);
  if (
    testNumbers.length > 0 &&
    read(DELIVERY_KEYS.azureInstance) !== undefined &&
    read(DELIVERY_KEYS.testNumbersInAzure)?.toLowerCase() !== 'true'
  ) {
    report(
      DELIVERY_KEYS.testNumbers,
      `refused in Azure unless ${DELIVERY_KEYS.testNumbersInAzure} is true`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    twilio,
    acs,
    call,
    whatsApp,
    acsSms,
    email,
    smsProviders: Object.freeze(smsProviders),
    providerTimeoutMs,
    testNumbers,
  });
}

/** A section the deployment may leave out: undefined when it has problems (the channels using it say so). */
function optionalSection<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch (error: unknown) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
}

/** `+15550100001=123456,+1555010*=000000`: numbers, or prefixes ending in `*`, and their fixed codes. */
function parseTestNumbers(
  raw: string | undefined,
  report: (field: string, message: string) => void,
): readonly TestNumber[] {
  if (raw === undefined) return [];
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length > MAX_TEST_NUMBERS) {
    report(DELIVERY_KEYS.testNumbers, `at most ${MAX_TEST_NUMBERS} entries`);
    return [];
  }
  const out: TestNumber[] = [];
  for (const entry of entries) {
    const m = TEST_NUMBER_ENTRY.exec(entry);
    const number = m?.[1];
    const code = m?.[3];
    const prefix = m?.[2] === '*';
    const codeOk =
      code !== undefined &&
      code.length >= CODE_LENGTH_RANGE.min &&
      code.length <= CODE_LENGTH_RANGE.max;
    if (number === undefined || !codeOk || (!prefix && !E164_PATTERN.test(number))) {
      report(
        DELIVERY_KEYS.testNumbers,
        `entries must be <E.164 number or +prefix*>=<${CODE_LENGTH_RANGE.min}-${CODE_LENGTH_RANGE.max} digits>`,
      );
      return [];
    }
    out.push(Object.freeze({ number, prefix, code }));
  }
  return Object.freeze(out);
}
