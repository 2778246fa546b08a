/**
 * The built app on the in-process local runtime with the Twilio emulator as SMS sender, Azurite for the
 * tables and a manual clock: the setup the verification suites share. Needs `npm run build` (the runtime
 * loads the app from `dist/`).
 */
import * as fs from 'node:fs';
import { startTwilioEmulator, type TwilioEmulator } from '@local/emulators';
import { ManualClock, type LocalHost } from '@local/durable-runtime';
import { startBuiltApp } from './app-on-local-runtime';
import { startTestAzurite, type AzuriteTable } from './azurite';

export interface TwilioAppStack {
  readonly host: LocalHost;
  readonly twilio: TwilioEmulator;
  readonly azurite: AzuriteTable;
  readonly clock: ManualClock;
  /** Stops the host, then the emulators, and removes the data folder. */
  stop(): Promise<void>;
}

/**
 * Starts the stack. `settings` are the suite's own, over every setting of the running emulator; or, as a
 * function of the emulator, all of the app's settings (the suite picks which of the emulator's it keeps).
 * The clock starts at the wall clock's time unless given, so the app's stamps and the engine's clock agree.
 */
export async function startAppWithTwilio(
  name: string,
  settings: Record<string, string> | ((twilio: TwilioEmulator) => Record<string, string>),
  clock: ManualClock = new ManualClock(Date.now()),
): Promise<TwilioAppStack> {
  const twilio = await startTwilioEmulator({ port: 0, log: () => undefined });
  const azurite = await startTestAzurite();
  const { host, dataDir } = await startBuiltApp(name, {
    clock,
    settings: {
      AzureWebJobsStorage: azurite.connectionString,
      ...(typeof settings === 'function'
        ? settings(twilio)
        : { ...twilio.appSettings(), ...settings }),
    },
  });
  return {
    host,
    twilio,
    azurite,
    clock,
    stop: async () => {
      await host.stop();
      await twilio.close();
      await azurite.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
