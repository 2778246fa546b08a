import fs from 'node:fs';
import { downstreamApisFromEnv } from './agentid/server';
import { defaultLog, type LogFn } from './common/http';
import { SECRET_SETTINGS, startEmulators, type Emulators } from './index';

/**
 * Runs the emulators standalone:
 *   node packages/emulators/dist/cli.js [--twilio-port N] [--acs-port N] [--agentid-port N] [--host H]
 *                                  [--print-messages] [--settings-file PATH]
 * Ports default to 4010 (Twilio), 4020 (ACS) and 5000 (sidecar, as SIDECAR_URL's dev value); 0 picks free ports.
 * `DownstreamApis__{name}__BaseUrl/Scopes...` in the environment configure the sidecar's downstream APIs.
 */

export interface CliOptions {
  twilioPort: number;
  acsPort: number;
  agentIdPort: number;
  host: string | undefined;
  printMessages: boolean;
  settingsFile: string | undefined;
}

export const USAGE =
  'usage: emulators [--twilio-port N] [--acs-port N] [--agentid-port N] [--host H] [--print-messages] [--settings-file PATH]';

export function parseArgs(argv: readonly string[]): CliOptions | string {
  const o: CliOptions = {
    twilioPort: 4010,
    acsPort: 4020,
    agentIdPort: 5000,
    host: undefined,
    printMessages: false,
    settingsFile: undefined,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=')
      ? (arg.split(/=(.*)/s, 2) as [string, string])
      : [arg, undefined];
    const value = (): string | undefined => {
      if (inline !== undefined) return inline;
      i += 1;
      return argv[i];
    };
    const port = (): number | string => {
      const v = value();
      if (v === undefined || !/^\d+$/.test(v) || Number(v) > 65535)
        return `${flag} needs a port number 0..65535`;
      return Number(v);
    };
    switch (flag) {
      case '--twilio-port':
      case '--acs-port':
      case '--agentid-port': {
        const p = port();
        if (typeof p === 'string') return p;
        if (flag === '--twilio-port') o.twilioPort = p;
        else if (flag === '--acs-port') o.acsPort = p;
        else o.agentIdPort = p;
        break;
      }
      case '--host': {
        const v = value();
        if (v === undefined || v === '') return '--host needs a value';
        o.host = v;
        break;
      }
      case '--print-messages':
        o.printMessages = true;
        break;
      case '--settings-file': {
        const v = value();
        if (v === undefined || v === '') return '--settings-file needs a path';
        o.settingsFile = v;
        break;
      }
      case '--help':
      case '-h':
        return USAGE;
      default:
        return `unknown argument ${flag}\n${USAGE}`;
    }
  }
  return o;
}

export async function runCli(
  options: CliOptions,
  env: Readonly<Record<string, string | undefined>>,
  log: LogFn = defaultLog,
): Promise<Emulators> {
  const host = options.host === undefined ? {} : { host: options.host };
  const emulators = await startEmulators({
    log,
    printMessages: options.printMessages,
    twilio: { port: options.twilioPort, ...host },
    acs: { port: options.acsPort, ...host },
    agentId: { port: options.agentIdPort, ...host, downstreamApis: downstreamApisFromEnv(env) },
  });
  const settings = emulators.appSettings();
  log(
    `Twilio Messages emulator: ${emulators.twilio.url} (outbox: ${emulators.twilio.url}/_emulator/messages)`,
  );
  log(
    `  calls: ${emulators.twilio.url}/_emulator/calls (WhatsApp messages are in the messages outbox)`,
  );
  log(`ACS emulator (Identity, SMS, Email): ${emulators.acs.url}`);
  log(`  outboxes: ${emulators.acs.url}/_emulator/sms, ${emulators.acs.url}/_emulator/emails`);
  log(
    `AgentID sidecar emulator: ${emulators.agentId.url} (fake Graph: ${emulators.agentId.url}/graph/v1.0)`,
  );
  for (const [k, v] of Object.entries(settings)) {
    if (!SECRET_SETTINGS.includes(k)) log(`  ${k}=${v}`);
  }
  if (options.settingsFile !== undefined) {
    // The full settings (with the emulators' dev secrets) go to a file only its owner can read, never to the console.
    fs.writeFileSync(
      options.settingsFile,
      `${JSON.stringify({ IsEncrypted: false, Values: settings }, null, 2)}\n`,
      { mode: 0o600 },
    );
    log(`  all settings (including secrets) written to ${options.settingsFile}`);
  } else {
    log(`  ${SECRET_SETTINGS.join(', ')}: use --settings-file PATH to get them`);
  }
  return emulators;
}

/* istanbul ignore next: process wiring */
if (require.main === module) {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n`);
    process.exitCode = parsed === USAGE ? 0 : 2;
  } else {
    runCli(parsed, process.env)
      .then((emulators) => {
        const stop = (): void => {
          emulators.close().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      })
      .catch((err: unknown) => {
        process.stderr.write(
          `emulators failed to start: ${err instanceof Error ? err.message : 'unknown error'}\n`,
        );
        process.exitCode = 1;
      });
  }
}
