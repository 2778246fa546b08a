import { loadConfig, type Config } from './config';
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
 */
let config: Config | undefined;
let smsSender: SmsSender | undefined;
let acsIdentity: AcsIdentityService | undefined;

export function getConfig(): Config {
  config ??= loadConfig();
  return config;
}

export function getSmsSender(): SmsSender {
  smsSender ??= new TwilioSmsSender(getConfig().twilio);
  return smsSender;
}

export function getAcsIdentityService(): AcsIdentityService {
  acsIdentity ??= new CommunicationIdentityService(
    createCommunicationIdentityClient(getConfig().acs),
  );
  return acsIdentity;
}

/**
 * Seals a normalised code for the event payload (the code endpoint). The secret stays here; the
 * HTTP handler and the orchestrator only ever see these two closures.
 */
export function sealVerificationCode(instanceId: string, code: string): string {
  return sealCode(getConfig().verification.codeSecret, instanceId, code);
}

/** The orchestrator's `codeMatches`: accepts a raw code or `{ sealedCode }`, never throws on input. */
export function verificationCodeMatches(
  instanceId: string,
  expectedHash: string,
  submitted: unknown,
  codeLength: number,
): boolean {
  return codeMatches(
    getConfig().verification.codeSecret,
    instanceId,
    expectedHash,
    submitted,
    codeLength,
  );
}

/** Forgets every memoised dependency (tests that change the environment). */
export function resetComposition(): void {
  config = undefined;
  smsSender = undefined;
  acsIdentity = undefined;
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
