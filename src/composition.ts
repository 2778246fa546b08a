import { createMeServices, type MeServices } from './me/services';
import {
  CommunicationIdentityService,
  createCommunicationIdentityClient,
  type AcsIdentityService,
} from './acs/identity-service';
import { TableIdentityMapStore } from './me/identity-map-table';
import { SidecarClient, type SidecarLogEntry } from './me/sidecar';
import type { SmsSender } from './verification/sms-sender';
import { TwilioSmsSender } from './verification/twilio-sms-sender';
import {
  ENV_KEYS,
  GUARD_KEYS,
  SECTION_LOADERS,
  loadSections,
  type Config,
  type Env,
} from './config';
import { judgeAnswer } from './verification/codes';
import type { JudgedAnswer } from './verification/rules';
import { ConfigError, type FieldProblem } from './errors';
import { SendGuard } from './verification/guard/send-guard';
import { TableVelocityStore } from './verification/guard/velocity-table-store';
import { TableRowStore } from './verification/guard/row-store';
import { ProofOfWork } from './verification/guard/proof-of-work';
import { FRAUD_GUARD_KEYS, loadFraudGuardSettings } from './verification/guard/settings';
import { EVENT_KEYS, loadEventSettings } from './verification/events/settings';
import { MinuteBudget } from './verification/events/model';
import { publishBlocked, type BlockedStart } from './verification/events/delivery';
import type { VerificationClient } from './verification/durable-client';
import {
  buildVerificationLinks,
  verifyLinkToken,
  type LinkPurpose,
  type VerificationLinks,
} from './verification/links';
import { sealAnswer, type SealedAnswerPayload } from './verification/sealed-answer';

/**
 * The composition root, and the only one. Everything is resolved on first use and memoised, so a
 * bad setting never crashes the host at import time: it surfaces as a ConfigError (logged, generic
 * 500) on the endpoints that need it, and once at start-up through the appStart hook in index.ts.
 *
 * Settings are memoised per section and each dependency reads only the sections it needs, so a
 * deployment that uses only some features sets only their settings, and a bad setting of one
 * feature leaves the others' endpoints working.
 */

const resets: (() => void)[] = [];

/** Memoises `create` until {@link resetComposition}; a throw is not memoised (the next call retries). */
function lazy<T>(create: () => T): () => T {
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

export const getTwilioConfig = lazy(() => SECTION_LOADERS.twilio(process.env));
export const getVerificationConfig = lazy(() => SECTION_LOADERS.verification(process.env));
export const getAcsConfig = lazy(() => SECTION_LOADERS.acs(process.env));
export const getSidecarConfig = lazy(() => SECTION_LOADERS.sidecar(process.env));
export const getIdentityMapConfig = lazy(() => SECTION_LOADERS.identityMap(process.env));
export const getHostConfig = lazy(() => SECTION_LOADERS.host(process.env));
/** Verification events (`src/verification/events/settings.ts`). */
export const getEventSettings = lazy(() => loadEventSettings(process.env));
/** The fraud guard's issue-22 settings (`src/verification/guard/settings.ts`). */
export const getFraudGuardSettings = lazy(() => loadFraudGuardSettings(process.env));

const SECTION_GETTERS: { readonly [K in keyof Config]: () => Config[K] } = {
  twilio: getTwilioConfig,
  verification: getVerificationConfig,
  acs: getAcsConfig,
  sidecar: getSidecarConfig,
  identityMap: getIdentityMapConfig,
  host: getHostConfig,
};

/** Every section at once, the same objects the section getters return. */
export const getConfig = lazy((): Config => Object.freeze(loadSections(SECTION_GETTERS)));

export const getSmsSender = lazy((): SmsSender => new TwilioSmsSender(getTwilioConfig()));

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
  const verification = getVerificationConfig();
  const fraud = getFraudGuardSettings();
  const { storage, velocity } = verification;
  if (storage === undefined) {
    throw new ConfigError([{ field: ENV_KEYS.storage, message: 'required' }]);
  }
  return new SendGuard({
    settings: {
      phonePolicy: verification.phonePolicy,
      clientIp: verification.clientIp,
      velocity,
      fraud,
    },
    store: TableVelocityStore.create(storage, velocity.tableName),
    // Same table, own partitions: one storage account and one clean-up job for the whole guard.
    conversionStore: TableRowStore.create(storage, velocity.tableName, 'conversion'),
    verifiedStore: TableRowStore.create(storage, velocity.tableName, 'verified'),
    secret: verification.codeSecret,
    now: () => new Date(),
    logger: console,
  });
});

/** The anonymous starter's optional proof of work; used challenges in the limits table. */
export const getProofOfWork = lazy((): ProofOfWork => {
  const { storage, velocity, codeSecret } = getVerificationConfig();
  if (storage === undefined) {
    throw new ConfigError([{ field: ENV_KEYS.storage, message: 'required' }]);
  }
  return new ProofOfWork({
    settings: getFraudGuardSettings().proofOfWork,
    secret: codeSecret,
    store: TableRowStore.create(storage, velocity.tableName, 'pow'),
    now: () => new Date(),
  });
});

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

/**
 * The secret stays here: the HTTP handlers and the orchestrator only ever see these closures.
 */
export function verificationLinks(instanceId: string): VerificationLinks {
  const { codeSecret, links } = getVerificationConfig();
  return buildVerificationLinks(codeSecret, links, instanceId);
}

export function verifyVerificationLink(
  instanceId: string,
  purpose: LinkPurpose,
  token: unknown,
): boolean {
  return verifyLinkToken(getVerificationConfig().codeSecret, instanceId, purpose, token);
}

export function sealVerificationAnswer(
  instanceId: string,
  code: string,
  receivedAt: Date,
): SealedAnswerPayload {
  return sealAnswer(getVerificationConfig().codeSecret, instanceId, { code, receivedAt });
}

/** The orchestrator's judge: opens `{ sealedAnswer }`, never throws on input. */
export function judgeVerificationAnswer(
  instanceId: string,
  expectedHash: string,
  payload: unknown,
  codeLength: number,
): JudgedAnswer | undefined {
  return judgeAnswer(
    getVerificationConfig().codeSecret,
    instanceId,
    expectedHash,
    payload,
    codeLength,
  );
}

/**
 * The features of the app, judged one by one at start-up: the sections each needs, and the keys only
 * it reads. A feature none of whose own keys is set and whose only problems are missing settings is
 * simply not deployed; anything else wrong with it is a misconfiguration.
 */
const FEATURES: readonly {
  readonly name: string;
  readonly sections: readonly (keyof Config)[];
  /** Settings a feature owns outside `src/config.ts` (`src/<feature>/settings.ts` loaders). */
  readonly ownLoaders?: readonly ((env: Env) => unknown)[];
  readonly ownKeys: readonly string[];
}[] = [
  {
    name: 'verification',
    sections: ['twilio', 'verification'],
    ownLoaders: [loadFraudGuardSettings, loadEventSettings],
    ownKeys: [
      ENV_KEYS.twilioAccountSid,
      ENV_KEYS.twilioAuthToken,
      ENV_KEYS.twilioPhoneNumber,
      ENV_KEYS.twilioApiBaseUrl,
      ENV_KEYS.verificationTimeoutSeconds,
      ENV_KEYS.verificationMaxAttempts,
      ENV_KEYS.verificationCodeLength,
      ENV_KEYS.verificationMessageTemplate,
      ENV_KEYS.verificationCodeSecret,
      ENV_KEYS.verificationRetentionHours,
      ...GUARD_KEYS,
      ...FRAUD_GUARD_KEYS,
      ...EVENT_KEYS,
    ],
  },
  {
    name: 'acs',
    sections: ['acs'],
    ownKeys: [ENV_KEYS.acsConnectionString, ENV_KEYS.acsEndpoint, ENV_KEYS.acsTeamsClientId],
  },
  {
    name: 'me',
    sections: ['sidecar', 'identityMap', 'acs'],
    ownKeys: [
      ENV_KEYS.sidecarUrl,
      ENV_KEYS.sidecarAllowNonLoopback,
      ENV_KEYS.sidecarTimeoutMs,
      ENV_KEYS.sidecarGraphApiName,
      ENV_KEYS.acsIdentityTableName,
    ],
  },
  { name: 'host', sections: ['host'], ownKeys: [ENV_KEYS.workerRuntime] },
];

export interface StartupReport {
  /** Keys and reasons (never values) of every deployed feature with bad settings; empty when fine. */
  readonly invalid: readonly string[];
  /** Features left out of this deployment: none of their own settings is set. */
  readonly notDeployed: readonly string[];
}

/** For the appStart hook: which features are misconfigured, and which are simply not deployed. */
export function describeStartup(
  env: Readonly<Record<string, string | undefined>> = process.env,
): StartupReport {
  const invalid: string[] = [];
  const notDeployed: string[] = [];
  for (const feature of FEATURES) {
    const problems = featureProblems(feature.sections, env, feature.ownLoaders ?? []);
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

/** A one-line description of the misconfigured features, or undefined when every deployed one is fine. */
export function describeStartupConfigProblem(): string | undefined {
  const { invalid } = describeStartup();
  return invalid.length === 0 ? undefined : invalid.join('; ');
}

function featureProblems(
  sections: readonly (keyof Config)[],
  env: Readonly<Record<string, string | undefined>>,
  ownLoaders: readonly ((env: Env) => unknown)[],
): readonly FieldProblem[] {
  const problems = new Map<string, FieldProblem>();
  const loaders = [
    ...sections.map((section) => ({ name: section, load: SECTION_LOADERS[section] })),
    ...ownLoaders.map((load) => ({ name: load.name, load })),
  ];
  for (const { name, load } of loaders) {
    try {
      // Loaded, not memoised: the host may still set settings after start-up (the local runtime
      // sets WEBSITE_HOSTNAME, the links' origin, once it listens).
      load(env);
    } catch (error: unknown) {
      const list =
        error instanceof ConfigError
          ? error.problems
          : [{ field: name, message: 'settings could not be read' }];
      for (const p of list) problems.set(`${p.field}\n${p.message}`, p);
    }
  }
  return [...problems.values()];
}
