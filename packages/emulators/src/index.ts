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
import { generateLocalCertificate, type LocalCertificate } from './common/tls';
import {
  startManagedIdentityEmulator,
  type ManagedIdentityEmulator,
  type ManagedIdentityEmulatorOptions,
} from './managed-identity/server';
import {
  startTwilioEmulator,
  type TwilioEmulator,
  type TwilioEmulatorOptions,
} from './twilio/server';

export * from './twilio/server';
export * from './acs-identity/server';
export * from './acs-sms/service';
export * from './acs-email/service';
export * from './twilio/calls';
export type { SendFault } from './common/fault-switch';
export * from './agentid/server';
export * from './managed-identity/server';
export { trustLoopbackCertificate, type LocalCertificate } from './common/tls';
export * from './embedded';
export type { LogFn } from './common/http';

export interface StartEmulatorsOptions {
  twilio?: TwilioEmulatorOptions;
  acs?: AcsIdentityEmulatorOptions;
  agentId?: AgentIdEmulatorOptions;
  managedIdentity?: ManagedIdentityEmulatorOptions;
  /** Default log for all three (each emulator's own `log` wins). */
  log?: LogFn;
  /** Shortcut for `twilio.printMessages` and `acs.printMessages` (SMS, WhatsApp, calls, emails on the console). */
  printMessages?: boolean;
}

export interface Emulators {
  twilio: TwilioEmulator;
  acs: AcsIdentityEmulator;
  agentId: AgentIdEmulator;
  managedIdentity: ManagedIdentityEmulator;
  /**
   * The self-signed certificate of the emulators' https endpoints (the ACS emulator's `httpsUrl`); a client
   * trusts it with `trustLoopbackCertificate(cert)`.
   */
  certificate: LocalCertificate;
  /** The app settings (settings contract names) that point the app at these emulators. Contains dev secrets. */
  appSettings(): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts the Twilio, ACS Identity and AgentID sidecar emulators (port 0 unless told otherwise). The ACS
 * emulator's Teams exchange trusts exactly the tokens the AgentID emulator signs, so the sidecar's
 * `acs-teams` tokens can be exchanged end to end. The managed-identity endpoint's tokens are accepted by the
 * ACS emulator's https endpoint, so `CommunicationIdentityClient(httpsUrl, new DefaultAzureCredential())`
 * works once `IDENTITY_ENDPOINT` / `IDENTITY_HEADER` point at it.
 */
export async function startEmulators(opts: StartEmulatorsOptions = {}): Promise<Emulators> {
  const log = opts.log ?? defaultLog;
  const certificate = await generateLocalCertificate();
  const results = await Promise.allSettled([
    startAgentIdEmulator({ log, ...opts.agentId }),
    startAcsIdentityEmulator({
      log,
      tls: certificate,
      ...(opts.printMessages === undefined ? {} : { printMessages: opts.printMessages }),
      ...opts.acs,
    }),
    startTwilioEmulator({
      log,
      ...(opts.printMessages === undefined ? {} : { printMessages: opts.printMessages }),
      ...opts.twilio,
    }),
  ]);
  const mi = await startManagedIdentityEmulator({ log, ...opts.managedIdentity }).then(
    (value) => ({ status: 'fulfilled' as const, value }),
    (reason: unknown) => ({ status: 'rejected' as const, reason }),
  );
  const [a, b, c] = results;
  if (
    a.status === 'rejected' ||
    b.status === 'rejected' ||
    c.status === 'rejected' ||
    mi.status === 'rejected'
  ) {
    if (mi.status === 'fulfilled') await mi.value.close().catch(() => undefined);
    await Promise.all(
      results.map((r) =>
        r.status === 'fulfilled' ? r.value.close().catch(() => undefined) : Promise.resolve(),
      ),
    );
    const failed = [a, b, c, mi].find((r) => r.status === 'rejected');
    throw failed?.status === 'rejected' ? failed.reason : new Error('emulators failed to start');
  }
  const agentId = a.value;
  const acs = b.value;
  const twilio = c.value;
  const managedIdentity = mi.value;
  // Set before anyone has the URLs, so neither the Teams exchange nor the bearer path sees a request
  // without this trust.
  acs.trustEntraKey(agentId.publicKey);
  acs.trustBearerKey(managedIdentity.publicKey);
  return {
    twilio,
    acs,
    agentId,
    managedIdentity,
    certificate,
    appSettings: () => ({
      ...managedIdentity.appSettings(),
      ...twilio.appSettings(),
      COMMUNICATION_SERVICES_CONNECTION_STRING: acs.connectionString,
      COMMUNICATION_SERVICES_SMS_FROM: acs.sms.senders[0] ?? '',
      COMMUNICATION_SERVICES_EMAIL_SENDER: acs.email.senders[0] ?? '',
      SIDECAR_URL: agentId.url,
      SIDECAR_GRAPH_API_NAME: 'graph',
      ACS_TEAMS_CLIENT_ID: agentId.clientId,
    }),
    reset: () => {
      twilio.reset();
      acs.reset();
      agentId.reset();
      managedIdentity.reset();
    },
    close: async () => {
      await Promise.all([twilio.close(), acs.close(), agentId.close(), managedIdentity.close()]);
    },
  };
}

/** Settings whose values are secrets: never print them. */
export const SECRET_SETTINGS: readonly string[] = [
  'TwilioAuthToken',
  'COMMUNICATION_SERVICES_CONNECTION_STRING',
  'IDENTITY_HEADER',
];
