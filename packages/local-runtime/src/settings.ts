/**
 * App settings as `func start` resolves them: `local.settings.json` `Values` (created from
 * `local.settings.sample.json` on first start), each overridden by an environment variable of the same name,
 * then by explicit overrides (tests, embedded emulators). The host section (`Host.CORS`, ...) is read too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HostSection {
  readonly localHttpPort: number | undefined;
  readonly cors: readonly string[];
  readonly corsCredentials: boolean;
}

export interface ResolvedSettings {
  readonly values: Record<string, string>;
  readonly host: HostSection;
  /** The file the values came from, or undefined when none was used. */
  readonly file: string | undefined;
  /** True when this call created the file from the sample. */
  readonly createdFromSample: boolean;
}

export interface SettingsOptions {
  readonly appDir: string;
  /**
   * The settings file to read: a path (relative to `appDir`), or `false` to read none.
   * Default `local.settings.json`, created from `local.settings.sample.json` when missing.
   */
  readonly file?: string | false;
  readonly env?: NodeJS.ProcessEnv;
  /** Create `local.settings.json` from the sample when it is missing (default true). */
  readonly createFromSample?: boolean;
  readonly overrides?: Readonly<Record<string, string>>;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function readJson(file: string): Record<string, unknown> {
  try {
    return record(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (e) {
    throw new SettingsError(
      `${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

export function resolveSettings(options: SettingsOptions): ResolvedSettings {
  const env = options.env ?? process.env;
  let file: string | undefined;
  let createdFromSample = false;
  let content: Record<string, unknown> = {};
  if (options.file !== false) {
    file = path.resolve(options.appDir, options.file ?? 'local.settings.json');
    if (!fs.existsSync(file) && options.file === undefined && options.createFromSample !== false) {
      const sample = path.join(options.appDir, 'local.settings.sample.json');
      if (fs.existsSync(sample)) {
        fs.copyFileSync(sample, file, fs.constants.COPYFILE_EXCL);
        createdFromSample = true;
      }
    }
    if (fs.existsSync(file)) {
      content = readJson(file);
    } else {
      file = undefined;
    }
  }

  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(record(content.Values))) {
    if (value === null || value === undefined) {
      continue;
    }
    values[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  for (const key of Object.keys(values)) {
    const fromEnv = env[key];
    if (fromEnv !== undefined) {
      values[key] = fromEnv;
    }
  }
  Object.assign(values, options.overrides ?? {});

  const hostSection = record(content.Host);
  const port = hostSection.LocalHttpPort;
  const cors = hostSection.CORS;
  return {
    values,
    file,
    createdFromSample,
    host: {
      localHttpPort: typeof port === 'number' && Number.isInteger(port) ? port : undefined,
      cors:
        typeof cors === 'string'
          ? cors
              .split(',')
              .map((o) => o.trim().replace(/\/+$/, ''))
              .filter((o) => o.length > 0)
          : [],
      corsCredentials: hostSection.CORSCredentials === true,
    },
  };
}

/**
 * Makes the settings visible to the app as `process.env` and returns a function restoring the previous values
 * (so in-process test hosts leave the environment as they found it).
 */
export function applyToProcessEnv(values: Readonly<Record<string, string>>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(values)) {
    previous.set(key, process.env[key]);
    process.env[key] = value;
  }
  return () => {
    for (const [key, value] of previous) {
      if (value === undefined) {
        delete process.env[key];
      } else {
        process.env[key] = value;
      }
    }
  };
}
