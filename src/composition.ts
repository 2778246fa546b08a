import {
  loadAcsConfig,
  loadConfig,
  loadIdentityMapConfig,
  loadSidecarConfig,
  loadTwilioConfig,
  loadVerificationConfig,
  type AcsConfig,
  type Config,
  type IdentityMapConfig,
  type SidecarConfig,
  type TwilioConfig,
  type VerificationConfig,
} from './config';
import { ConfigError } from './domain/errors';
import { codeMatches, sealCode } from './domain/verification';
import {
  CommunicationIdentityService,
  createCommunicationIdentityClient,
  type AcsIdentityService,
} from './clients/acs-identity';
import type { SmsSender } from './clients/sms-sender';
import { TwilioSmsSender } from './clients/twilio-sms-sender';

/**
 * The composition root. Everything is resolved on first use and memoised, so a bad setting never
 * crashes the host at import time: it surfaces as a ConfigError (logged, generic 500) on the
 * endpoints that need it, and once at start-up through the appStart hook in index.ts.
 *
 * Settings are memoised per section and each dependency reads only the sections it needs, so a
 * deployment that uses only some features sets only their settings, and a bad setting of one
 * feature leaves the others' endpoints working.
 */
let config: Config | undefined;
let twilioConfig: TwilioConfig | undefined;
let verificationConfig: VerificationConfig | undefined;
let acsConfig: AcsConfig | undefined;
let sidecarConfig: SidecarConfig | undefined;
let identityMapConfig: IdentityMapConfig | undefined;
let smsSender: SmsSender | undefined;
let acsIdentity: AcsIdentityService | undefined;
const resetHooks = new Set<() => void>();

/**
 * Every section at once, for the start-up report. Features use the section getters instead, so
 * that they don't depend on settings of features they don't use.
 */
export function getConfig(): Config {
  config ??= loadConfig();
  return config;
}

export function getTwilioConfig(): TwilioConfig {
  twilioConfig ??= loadTwilioConfig();
  return twilioConfig;
}

export function getVerificationConfig(): VerificationConfig {
  verificationConfig ??= loadVerificationConfig();
  return verificationConfig;
}

export function getAcsConfig(): AcsConfig {
  acsConfig ??= loadAcsConfig();
  return acsConfig;
}

export function getSidecarConfig(): SidecarConfig {
  sidecarConfig ??= loadSidecarConfig();
  return sidecarConfig;
}

export function getIdentityMapConfig(): IdentityMapConfig {
  identityMapConfig ??= loadIdentityMapConfig();
  return identityMapConfig;
}

export function getSmsSender(): SmsSender {
  smsSender ??= new TwilioSmsSender(getTwilioConfig());
  return smsSender;
}

export function getAcsIdentityService(): AcsIdentityService {
  acsIdentity ??= new CommunicationIdentityService(
    createCommunicationIdentityClient(getAcsConfig().access),
  );
  return acsIdentity;
}

/**
 * Seals a normalised code for the event payload (the code endpoint). The secret stays here; the
 * HTTP handler and the orchestrator only ever see these two closures.
 */
export function sealVerificationCode(instanceId: string, code: string): string {
  return sealCode(getVerificationConfig().codeSecret, instanceId, code);
}

/** The orchestrator's `codeMatches`: accepts a raw code or `{ sealedCode }`, never throws on input. */
export function verificationCodeMatches(
  instanceId: string,
  expectedHash: string,
  submitted: unknown,
  codeLength: number,
): boolean {
  return codeMatches(
    getVerificationConfig().codeSecret,
    instanceId,
    expectedHash,
    submitted,
    codeLength,
  );
}

/** Forgets every memoised dependency (tests that change the environment). */
export function resetComposition(): void {
  config = undefined;
  twilioConfig = undefined;
  verificationConfig = undefined;
  acsConfig = undefined;
  sidecarConfig = undefined;
  identityMapConfig = undefined;
  smsSender = undefined;
  acsIdentity = undefined;
  for (const reset of resetHooks) reset();
}

/**
 * Lets a module that memoises its own dependencies (the `/api/me` services) be reset with the
 * rest; it can't be reset from here directly because it imports this module.
 */
export function onResetComposition(reset: () => void): void {
  resetHooks.add(reset);
}

/**
 * For the appStart hook: a one-line description of invalid settings (keys and reasons, never
 * values), or undefined when the settings are valid.
 */
export function describeStartupConfigProblem(): string | undefined {
  try {
    getConfig();
    return undefined;
  } catch (error: unknown) {
    return error instanceof ConfigError ? error.message : 'settings could not be read';
  }
}
