import fs from 'node:fs';
import { parseArgs as parseArgv } from 'node:util';
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

/** The CLI's options, read by Node's `util.parseArgs` (`--flag value` or `--flag=value`). */
const OPTIONS = {
  'twilio-port': { type: 'string' },
  'acs-port': { type: 'string' },
  'agentid-port': { type: 'string' },
  host: { type: 'string' },
  'print-messages': { type: 'boolean' },
  'settings-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseArgs(argv: readonly string[]): CliOptions | string {
  // Not strict: a bad argument is answered with this CLI's own message rather than parseArgs' exception.
  const { values, tokens } = parseArgv({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const unknown = tokens.find((t) => t.kind !== 'option' || !(t.name in OPTIONS));
  if (unknown !== undefined)
    return `unknown argument ${unknown.kind === 'option' ? unknown.rawName : unknown.kind === 'positional' ? unknown.value : '--'}\n${USAGE}`;
  if (values.help === true) return USAGE;
  const twilioPort = portOf('--twilio-port', values['twilio-port'], 4010);
  const acsPort = portOf('--acs-port', values['acs-port'], 4020);
  const agentIdPort = portOf('--agentid-port', values['agentid-port'], 5000);
  for (const port of [twilioPort, acsPort, agentIdPort]) if (typeof port === 'string') return port;
  const host = values.host;
  if (host === true || host === '') return '--host needs a value';
  const settingsFile = values['settings-file'];
  if (settingsFile === true || settingsFile === '') return '--settings-file needs a path';
  return {
    twilioPort: twilioPort as number,
    acsPort: acsPort as number,
    agentIdPort: agentIdPort as number,
    host: typeof host === 'string' ? host : undefined,
    printMessages: values['print-messages'] === true,
    settingsFile: typeof settingsFile === 'string' ? settingsFile : undefined,
  };
}

/** A port flag's number, its default when absent, or the message for a bad one. */
function portOf(
  flag: string,
  value: string | boolean | undefined,
  fallback: number,
): number | string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) > 65535)
    return `${flag} needs a port number 0..65535`;
  return Number(value);
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
