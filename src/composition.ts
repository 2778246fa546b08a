import { createMeServices, type MeServices } from './me/services';
import {
  CommunicationIdentityService,
  createCommunicationIdentityClient,
  type AcsIdentityService,
} from './acs/identity-service';
import { ACS_KEYS, loadAcsConfig } from './acs/settings';
import { TableIdentityMapStore } from './me/identity-map-table';
import { ME_KEYS, loadIdentityMapConfig, loadSidecarConfig } from './me/settings';
import { SidecarClient, type SidecarLogEntry } from './me/sidecar';
import { STORAGE_KEYS } from './storage/settings';
import type { SmsSender } from './verification/sms-sender';
import { createTwilioClient, TwilioSmsSender } from './verification/twilio-sms-sender';
import type { Delivery } from './delivery/channels';
import { createDelivery } from './delivery/delivery';
import {
  AcsEmailSender,
  AcsSmsSender,
  createEmailClient,
  createSmsClient,
  type SmsText,
} from './delivery/acs-channels';
import { DELIVERY_KEYS, DELIVERY_OWN_KEYS, loadDeliverySettings } from './delivery/settings';
import { testCodeFor } from './delivery/test-numbers';
import { keyPressActionUrl, type KeyPressKeys } from './delivery/key-press';
import { keyPressTwiml } from './delivery/texts';
import { TwilioVoiceSender, TwilioWhatsAppSender } from './delivery/twilio-channels';
import { renderMessage, templateFor } from './verification/sms-templates';
import { HOST_KEYS, loadHostConfig, loadSections, type Config, type Env } from './config';
import { ConfigError, type FieldProblem } from './errors';
import { SendGuard } from './verification/guard/send-guard';
import {
  FRAUD_GUARD_KEYS,
  GUARD_KEYS,
  loadFraudGuardSettings,
} from './verification/guard/settings';
import { TableRowStore } from './verification/guard/row-store';
import { ProofOfWork } from './verification/guard/proof-of-work';
import { EVENT_KEYS, loadEventSettings } from './verification/events/settings';
import { MinuteBudget } from './verification/events/model';
import { publishBlocked, type BlockedStart } from './verification/events/delivery';
import type { VerificationClient } from './verification/durable-client';
import { TableVelocityStore } from './verification/guard/velocity-table-store';
import {
  SMS_TEMPLATE_KEYS,
  TWILIO_KEYS,
  VERIFICATION_KEYS,
  WEBSITE_HOSTNAME_KEY,
  loadTwilioConfig,
  loadVerificationConfig,
} from './verification/settings';
import { loadVerifySettings, type VerifySettings } from './verify/settings';
import { TableVerifyStore, type VerifyStore } from './verify/store';

/**
 * The composition root, and the only one. Everything is resolved on first use and memoised, so a
 * bad setting never crashes the host at import time: it surfaces as a ConfigError (logged, generic
 * 500) on the endpoints that need it, and once at start-up through the appStart hook in index.ts.
 *
 * Settings are memoised per section and each dependency reads only the sections it needs, so a
 * deployment that uses only some features sets only their settings, and a bad setting of one
 * feature leaves the others' endpoints working.
 */

/** One loader per {@link Config} section: each feature's own, from its `settings.ts`. */
export const SECTION_LOADERS: { readonly [K in keyof Config]: (env: Env) => Config[K] } = {
  twilio: loadTwilioConfig,
  delivery: loadDeliverySettings,
  verification: loadVerificationConfig,
  acs: loadAcsConfig,
  sidecar: loadSidecarConfig,
  identityMap: loadIdentityMapConfig,
  host: loadHostConfig,
};

/**
 * Loads the named sections (all by default) from `env`, with the problems of all of them in one
 * {@link ConfigError} (keys and reasons, never values). The start-up report judges each feature
 * with it; the memoised getters below load one section each.
 */
export function loadSettings<K extends keyof Config = keyof Config>(
  env: Env,
  sections: readonly K[] = Object.keys(SECTION_LOADERS) as K[],
): Pick<Config, K> {
  const loaders = Object.fromEntries(
    sections.map((name) => [name, () => SECTION_LOADERS[name](env)]),
  ) as { readonly [S in K]: () => Config[S] };
  return loadSections<Pick<Config, K>>(loaders);
}

/**
 * The features of the app, judged one by one at start-up: the sections each needs, and the keys only
 * it reads (stated once, in each feature's settings). A feature none of whose own keys is set and
 * whose only problems are missing settings is simply not deployed; anything else wrong with it is a
 * misconfiguration.
 */
const FEATURES: readonly {
  readonly name: string;
  readonly sections: readonly (keyof Config)[];
  readonly ownKeys: readonly string[];
  /** What the feature needs beyond what its sections' loaders require (checked once they load). */
  readonly needs?: (config: Partial<Config>) => readonly FieldProblem[];
}[] = [
  {
    name: 'verification',
    sections: ['twilio', 'verification', 'delivery'],
    ownKeys: [TWILIO_KEYS, VERIFICATION_KEYS, SMS_TEMPLATE_KEYS, GUARD_KEYS, DELIVERY_OWN_KEYS]
      .flatMap((keys): string[] => Object.values(keys))
      .concat(FRAUD_GUARD_KEYS, EVENT_KEYS),
    // Optional for the section, but the send guard keeps its counters there: without it every start answers 500.
    needs: (config) =>
      config.verification?.storage === undefined
        ? [
            {
              field: STORAGE_KEYS.connectionString,
              message: 'required by the send guard (velocity counters)',
            },
          ]
        : [],
  },
  { name: 'acs', sections: ['acs'], ownKeys: Object.values(ACS_KEYS) },
  { name: 'me', sections: ['sidecar', 'identityMap', 'acs'], ownKeys: Object.values(ME_KEYS) },
  { name: 'host', sections: ['host'], ownKeys: Object.values(HOST_KEYS) },
];

/** Every setting the app reads: the features' own, plus the shared storage and the platform's host name. */
export const SETTING_KEYS: readonly string[] = [
  ...FEATURES.flatMap((feature) => feature.ownKeys),
  ...Object.values(STORAGE_KEYS),
  WEBSITE_HOSTNAME_KEY,
  DELIVERY_KEYS.azureInstance,
];

const resets: (() => void)[] = [];

/** Memoises `create` until {@link resetComposition}; a throw is not memoised (the next call retries). */
export function lazy<T>(create: () => T): () => T {
  let memo: { readonly value: T } | undefined;
  resets.push(() => {
    memo = undefined;
  });
  return () => (memo ??= { value: create() }).value;
}

/** Forgets every memoised section and dependency (tests that change the environment). */
export function resetComposition(): void {
  for (const reset of resets) reset();
}

export const getTwilioConfig = lazy(() => loadTwilioConfig(process.env));
export const getDeliverySettings = lazy(() => loadDeliverySettings(process.env));
export const getVerificationConfig = lazy(() => loadVerificationConfig(process.env));
export const getAcsConfig = lazy(() => loadAcsConfig(process.env));
export const getSidecarConfig = lazy(() => loadSidecarConfig(process.env));
export const getIdentityMapConfig = lazy(() => loadIdentityMapConfig(process.env));

export const getSmsSender = lazy((): SmsSender => new TwilioSmsSender(getTwilioConfig()));

/**
 * Every channel this deployment has, on the official SDKs: SMS through the providers in their order
 * (Twilio, ACS), calls and WhatsApp through Twilio, email through ACS.
 */
export const getDelivery = lazy((): Delivery => {
  const settings = getDeliverySettings();
  const { messageTemplate, smsTemplates } = getVerificationConfig();
  const timeoutMs = settings.providerTimeoutMs;
  const { acs, twilio, acsSms, call, whatsApp, email } = settings;
  const twilioClient = twilio === undefined ? undefined : createTwilioClient(twilio, timeoutMs);
  const sms = settings.smsProviders.map((name) => {
    if (name === 'twilio' && twilio !== undefined) {
      const twilioSms = new TwilioSmsSender(twilio, { timeoutMs });
      return {
        name,
        sender: {
          send: async (m: SmsText) => {
            const receipt = await twilioSms.send(m);
            return {
              id: receipt.sid,
              ...(receipt.alreadySent === true ? { alreadySent: true } : {}),
            };
          },
        },
      };
    }
    if (name === 'acs' && acs !== undefined && acsSms !== undefined) {
      return { name, sender: new AcsSmsSender(createSmsClient(acs), acsSms.from, timeoutMs) };
    }
    // The settings loader only lists configured providers.
    throw new ConfigError([
      { field: DELIVERY_KEYS.smsProviders, message: `${name} is not configured` },
    ]);
  });
  return createDelivery({
    sms,
    call:
      call === undefined || twilioClient === undefined
        ? undefined
        : new TwilioVoiceSender(twilioClient, call.from),
    ...(call?.keyPress === true
      ? {
          callScript: (c: { to: string; code: string; locale: string | undefined }) =>
            keyPressTwiml(keyPressActionUrl(getKeyPressKeys(), c, new Date()), c.locale),
        }
      : {}),
    whatsapp:
      whatsApp === undefined || twilioClient === undefined
        ? undefined
        : new TwilioWhatsAppSender(twilioClient, whatsApp),
    email:
      email === undefined || acs === undefined
        ? undefined
        : new AcsEmailSender(createEmailClient(acs), email.sender, timeoutMs),
    smsText: (code, locale) =>
      renderMessage(templateFor(locale, smsTemplates, messageTemplate).template, code),
    log: (line) => console.warn(line),
  });
});

/** What seals a call's code into its key-press URL: the public origin and the code secret. */
export function getKeyPressKeys(): KeyPressKeys {
  const { links, codeSecret } = getVerificationConfig();
  return { origin: links.publicOrigin, secret: codeSecret };
}

/** The fixed code of a test number, or undefined (the settings' list, empty unless configured). */
export function testCodeForNumber(phoneNumber: string): string | undefined {
  return testCodeFor(getDeliverySettings().testNumbers, phoneNumber);
}

export const getAcsIdentityService = lazy(
  (): AcsIdentityService =>
    new CommunicationIdentityService(createCommunicationIdentityClient(getAcsConfig())),
);

/** One client, on the process-wide keep-alive pool, for every invocation. */
export const getSidecarClient = lazy((): SidecarClient => {
  const { url, timeoutMs } = getSidecarConfig();
  return new SidecarClient({ baseUrl: url, timeoutMs, log: logSidecarTrouble });
});

/** Retries, timeouts and failures of sidecar calls reach the host log (path without query, never a token). */
function logSidecarTrouble(entry: SidecarLogEntry): void {
  if (entry.outcome === 'ok') return;
  const status = entry.status === undefined ? '' : ` HTTP ${entry.status}`;
  console.warn(
    `auth-sidecar ${entry.operation} ${entry.path}: ${entry.outcome}${status} (attempt ${entry.attempt}, ${entry.durationMs} ms)`,
  );
}

/** The `/api/me` services; a ConfigError names the bad keys of all three sections they read. */
export const getMeServices = lazy((): MeServices => {
  const { sidecar, identityMap, acs } = loadSections({
    sidecar: getSidecarConfig,
    identityMap: getIdentityMapConfig,
    acs: getAcsConfig,
  });
  return createMeServices({
    config: { sidecar, acs },
    sidecar: getSidecarClient(),
    store: TableIdentityMapStore.create(identityMap.storage, identityMap.tableName),
    acs: getAcsIdentityService(),
    onOrphan: (communicationUserId) => {
      // The id is not a secret; it lets an operator delete the identity by hand.
      console.warn(`Could not delete surplus ACS identity ${communicationUserId}`);
    },
  });
});

/**
 * The fraud guard: phone policy and velocity limits, the counters in Table Storage
 * (`AzureWebJobsStorage`, Azurite locally), one guard per process so concurrent sends share its
 * grouped, conditional writes.
 */
export const getSendGuard = lazy((): SendGuard => {
  const { storage, velocity, phonePolicy, clientIp, codeSecret } = getVerificationConfig();
  const fraud = getFraudGuardSettings();
  if (storage === undefined) {
    throw new ConfigError([{ field: STORAGE_KEYS.connectionString, message: 'required' }]);
  }
  return new SendGuard({
    settings: { phonePolicy, clientIp, velocity, fraud },
    store: TableVelocityStore.create(storage, velocity.tableName),
    // Same table, own partitions: one storage account and one clean-up job for the whole guard.
    conversionStore: TableRowStore.create(storage, velocity.tableName, 'conversion'),
    verifiedStore: TableRowStore.create(storage, velocity.tableName, 'verified'),
    safeListStore: TableRowStore.create(storage, velocity.tableName, 'safelist'),
    secret: codeSecret,
    now: () => new Date(),
    logger: console,
  });
});

/** The fraud guard's issue-22 settings (`src/verification/guard/settings.ts`). */
export const getFraudGuardSettings = lazy(() => loadFraudGuardSettings(process.env));
/** Verification events (`src/verification/events/settings.ts`). */
export const getEventSettings = lazy(() => loadEventSettings(process.env));

/** The anonymous starter's optional proof of work; used challenges in the limits table. */
export const getProofOfWork = lazy(
  (): ProofOfWork =>
    new ProofOfWork({
      settings: getFraudGuardSettings().proofOfWork,
      secret: () => getVerificationConfig().codeSecret,
      store: lazy(() => {
        const { storage, velocity } = getVerificationConfig();
        if (storage === undefined) {
          throw new ConfigError([{ field: STORAGE_KEYS.connectionString, message: 'required' }]);
        }
        return TableRowStore.create(storage, velocity.tableName, 'pow');
      }),
      now: () => new Date(),
    }),
);

/** Guard refusals announced as `verification.blocked`, per minute and instance. */
const getBlockedEventBudget = lazy(
  () => new MinuteBudget(getEventSettings().blockedPerMinute, () => Date.now()),
);

/**
 * A start the guard refused, as a `verification.blocked` event (events on, within the budget).
 * Never throws: the caller answers the refusal whatever happens here.
 */
export async function announceBlockedStart(
  client: VerificationClient,
  refusal: BlockedStart,
): Promise<void> {
  try {
    const settings = getEventSettings();
    if (settings.endpoints.length === 0 || !getBlockedEventBudget().take()) return;
    await publishBlocked(client, settings, new Date(), refusal);
  } catch {
    console.warn(`Could not publish verification.blocked (${refusal.reason})`);
  }
}

/** The Verify API's settings (`VERIFY_*`, src/verify/settings.ts). */
export const getVerifySettings = lazy((): VerifySettings => loadVerifySettings(process.env));

/** Services, API keys and number slots of the Verify API, in the app's Table Storage. */
export const getVerifyStore = lazy((): VerifyStore => {
  const { storage } = getVerificationConfig();
  if (storage === undefined) {
    throw new ConfigError([{ field: STORAGE_KEYS.connectionString, message: 'required' }]);
  }
  return TableVerifyStore.create(storage, getVerifySettings().tableName);
});

export interface StartupReport {
  /** Keys and reasons (never values) of every deployed feature with bad settings; empty when fine. */
  readonly invalid: readonly string[];
  /** Features left out of this deployment: none of their own settings is set. */
  readonly notDeployed: readonly string[];
}

/** For the appStart hook: which features are misconfigured, and which are simply not deployed. */
export function describeStartup(env: Env = process.env): StartupReport {
  const invalid: string[] = [];
  const notDeployed: string[] = [];
  for (const feature of FEATURES) {
    const problems = featureProblems(feature.sections, env, feature.needs);
    if (problems.length === 0) continue;
    const deployed =
      feature.ownKeys.some((key) => (env[key] ?? '').trim() !== '') ||
      problems.some((p) => !p.message.startsWith('required'));
    if (deployed) {
      invalid.push(
        `${feature.name}: ${problems.map((p) => `${p.field} (${p.message})`).join(', ')}`,
      );
    } else {
      notDeployed.push(feature.name);
    }
  }
  return { invalid, notDeployed };
}

function featureProblems(
  sections: readonly (keyof Config)[],
  env: Env,
  needs?: (config: Partial<Config>) => readonly FieldProblem[],
): readonly FieldProblem[] {
  try {
    // Loaded, not memoised: the host may still set settings after start-up (the local runtime
    // sets WEBSITE_HOSTNAME, the links' origin, once it listens).
    const loaded: Partial<Config> = loadSettings(env, sections);
    return needs ? needs(loaded) : [];
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error.problems;
    return [{ field: sections.join(', '), message: 'settings could not be read' }];
  }
}
