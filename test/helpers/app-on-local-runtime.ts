/**
 * The built app on the in-process local runtime with every embedded emulator (Twilio, ACS, the AgentID
 * sidecar, Azurite) and a manual clock: the whole stack `npm start` serves, for tests that drive it over
 * HTTP. Needs `npm run build` (the runtime loads the app from `dist/`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AcsIdentityEmulator, AgentIdEmulator, TwilioEmulator } from '@local/emulators';
import { ManualClock, startLocalHost, type LocalHost } from '@local/durable-runtime';
import { answerCode } from './verification-links';

/** The Verify API's credentials on these stacks. */
export const TEST_VERIFY_ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
export const TEST_VERIFY_AUTH_TOKEN = 'app-stack-verify-auth-token-0123456789';

export interface AppStack {
  readonly host: LocalHost;
  readonly twilio: TwilioEmulator;
  /** The ACS resource: Identity, SMS (`acs.sms`) and Email (`acs.email`). */
  readonly acs: AcsIdentityEmulator;
  readonly agentId: AgentIdEmulator;
  readonly clock: ManualClock;
  stop(): Promise<void>;
}

export interface BuiltApp {
  readonly host: LocalHost;
  /** The runtime's clock: the one given, or a new manual clock at the wall clock's time. */
  readonly clock: ManualClock;
  /** The host's own data folder (generated secrets, blobs); the caller removes it once the host stopped. */
  readonly dataDir: string;
}

/**
 * The built app on the local runtime with in-memory history, no settings file, a fresh data folder and a
 * manual clock: what every stack below shares. `emulators` embeds Twilio, ACS, the sidecar and Azurite.
 */
export async function startBuiltApp(
  name: string,
  options: { clock?: ManualClock; emulators?: boolean; settings: Readonly<Record<string, string>> },
): Promise<BuiltApp> {
  const clock = options.clock ?? new ManualClock();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const host = await startLocalHost({
    appDir: path.resolve(__dirname, '..', '..'),
    settingsFile: false,
    dataDir,
    databasePath: ':memory:',
    clock,
    ...(options.emulators === true ? { emulators: true } : {}),
    settings: { FUNCTIONS_WORKER_RUNTIME: 'node', ...options.settings },
  });
  return { host, clock, dataDir };
}

export async function startAppWithEmulators(
  name: string,
  settings: Readonly<Record<string, string>> = {},
): Promise<AppStack> {
  const { host, clock, dataDir } = await startBuiltApp(name, {
    emulators: true,
    settings: {
      VERIFICATION_TIMEOUT_SECONDS: '90',
      VERIFICATION_MAX_ATTEMPTS: '4',
      VERIFICATION_CODE_LENGTH: '6',
      VERIFICATION_MESSAGE_TEMPLATE: 'Your verification code is {code}',
      VERIFICATION_CODE_SECRET: `${name}-verification-secret`,
      ACS_IDENTITY_TABLE_NAME: `Acs${name.replace(/[^A-Za-z0-9]/g, '')}`,
      VERIFY_API_ACCOUNT_SID: TEST_VERIFY_ACCOUNT_SID,
      VERIFY_API_AUTH_TOKEN: TEST_VERIFY_AUTH_TOKEN,
      VERIFY_API_TABLE_NAME: `Verify${name.replace(/[^A-Za-z0-9]/g, '')}`,
      ...settings,
    },
  });
  return {
    host,
    // The embedded emulators are typed loosely by the runtime (it loads them dynamically).
    twilio: host.emulators!.twilio as TwilioEmulator,
    acs: host.emulators!.acs as AcsIdentityEmulator,
    clock,
    agentId: host.emulators!.agentId as AgentIdEmulator,
    stop: async () => {
      await host.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Answers a links-starter verification with `code` (its `SmsChallengeResponse` event), then waits for idle. */
export async function answerWithCode(
  host: LocalHost,
  links: { readonly sendEventPostUri: string },
  code: string,
): Promise<void> {
  const response = await answerCode(links, code);
  if (response.status !== 202) throw new Error(`the answer was refused: ${response.status}`);
  await host.whenIdle();
}
