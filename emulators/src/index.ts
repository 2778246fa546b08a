import { startAcsIdentityEmulator, type AcsIdentityEmulator, type AcsIdentityEmulatorOptions } from './acs-identity/server';
import { startAgentIdEmulator, type AgentIdEmulator, type AgentIdEmulatorOptions } from './agentid/server';
import { defaultLog, type LogFn } from './common/http';
import { startTwilioEmulator, type TwilioEmulator, type TwilioEmulatorOptions } from './twilio/server';

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
  const started: { close(): Promise<void> }[] = [];
  try {
    const agentId = await startAgentIdEmulator({ log, ...opts.agentId });
    started.push(agentId);
    const acs = await startAcsIdentityEmulator({
      log,
      ...opts.acs,
      trustedEntraKeys: [...(opts.acs?.trustedEntraKeys ?? []), agentId.publicKey],
    });
    started.push(acs);
    const twilio = await startTwilioEmulator({
      log,
      ...(opts.printMessages === undefined ? {} : { printMessages: opts.printMessages }),
      ...opts.twilio,
    });
    started.push(twilio);
    return {
      twilio,
      acs,
      agentId,
      appSettings: () => ({
        TwilioAccountSid: twilio.accountSid,
        TwilioAuthToken: twilio.authToken,
        TwilioPhoneNumber: twilio.senders[0] ?? '',
        TwilioApiBaseUrl: twilio.url,
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
  } catch (err) {
    await Promise.all(started.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
}

/** Settings whose values are secrets: never print them. */
export const SECRET_SETTINGS: readonly string[] = ['TwilioAuthToken', 'COMMUNICATION_SERVICES_CONNECTION_STRING'];
