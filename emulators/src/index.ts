import {
  startAcsIdentityEmulator,
  type AcsIdentityEmulator,
  type AcsIdentityEmulatorOptions,
} from './acs-identity/server';
import {
  startAgentIdEmulator,
  type AgentIdEmulator,
  type AgentIdEmulatorOptions,
} from './agentid/server';
import { defaultLog, type LogFn } from './common/http';
import {
  startTwilioEmulator,
  type TwilioEmulator,
  type TwilioEmulatorOptions,
} from './twilio/server';

export * from './twilio/server';
export * from './acs-identity/server';
export * from './agentid/server';
export type { LogFn } from './common/http';

export interface StartEmulatorsOptions {
  twilio?: TwilioEmulatorOptions;
  acs?: AcsIdentityEmulatorOptions;
  agentId?: AgentIdEmulatorOptions;
  /** Default log for all three (each emulator's own `log` wins). */
  log?: LogFn;
  /** Shortcut for `twilio.printMessages`. */
  printMessages?: boolean;
}

export interface Emulators {
  twilio: TwilioEmulator;
  acs: AcsIdentityEmulator;
  agentId: AgentIdEmulator;
  /** The app settings (settings contract names) that point the app at these emulators. Contains dev secrets. */
  appSettings(): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts the Twilio, ACS Identity and AgentID sidecar emulators (port 0 unless told otherwise). The ACS
 * emulator's Teams exchange trusts exactly the tokens the AgentID emulator signs, so the sidecar's
 * `acs-teams` tokens can be exchanged end to end.
 */
export async function startEmulators(opts: StartEmulatorsOptions = {}): Promise<Emulators> {
  const log = opts.log ?? defaultLog;
  const results = await Promise.allSettled([
    startAgentIdEmulator({ log, ...opts.agentId }),
    startAcsIdentityEmulator({ log, ...opts.acs }),
    startTwilioEmulator({
      log,
      ...(opts.printMessages === undefined ? {} : { printMessages: opts.printMessages }),
      ...opts.twilio,
    }),
  ]);
  const [a, b, c] = results;
  if (a.status === 'rejected' || b.status === 'rejected' || c.status === 'rejected') {
    await Promise.all(
      results.map((r) =>
        r.status === 'fulfilled' ? r.value.close().catch(() => undefined) : Promise.resolve(),
      ),
    );
    const failed = [a, b, c].find((r) => r.status === 'rejected');
    throw failed?.status === 'rejected' ? failed.reason : new Error('emulators failed to start');
  }
  const agentId = a.value;
  const acs = b.value;
  const twilio = c.value;
  // Set before anyone has the URLs, so the Teams exchange never sees a request without this trust.
  acs.trustEntraKey(agentId.publicKey);
  return {
    twilio,
    acs,
    agentId,
    appSettings: () => ({
      ...twilio.appSettings(),
      COMMUNICATION_SERVICES_CONNECTION_STRING: acs.connectionString,
      SIDECAR_URL: agentId.url,
      SIDECAR_GRAPH_API_NAME: 'graph',
      ACS_TEAMS_CLIENT_ID: agentId.clientId,
    }),
    reset: () => {
      twilio.reset();
      acs.reset();
      agentId.reset();
    },
    close: async () => {
      await Promise.all([twilio.close(), acs.close(), agentId.close()]);
    },
  };
}

/** Settings whose values are secrets: never print them. */
export const SECRET_SETTINGS: readonly string[] = [
  'TwilioAuthToken',
  'COMMUNICATION_SERVICES_CONNECTION_STRING',
];
