import { ConfigError, type FieldProblem } from './errors';
import type { AcsConfig } from './acs/settings';
import type { IdentityMapConfig, SidecarConfig } from './me/settings';
import type { TwilioConfig, VerificationConfig } from './verification/settings';

/**
 * The settings toolkit and the record of every section. Each feature owns its settings in
 * `src/<feature>/settings.ts` (keys, defaults, types, validation), written with the {@link Reader}
 * and {@link loadSection} of this module; the composition root loads the sections. Nothing outside
 * the settings modules touches `process.env` (but the telemetry switch, read once at start-up by
 * src/telemetry/register.ts): the rest of the app receives validated, frozen sections.
 */

/**
 * The validated settings of the app: exactly one section per feature, each frozen. Secrets are only
 * ever read by the client that needs them.
 */
export interface Config {
  readonly twilio: TwilioConfig;
  readonly verification: VerificationConfig;
  readonly acs: AcsConfig;
  readonly sidecar: SidecarConfig;
  readonly identityMap: IdentityMapConfig;
  readonly host: HostConfig;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const GUID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TABLE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

/** The Functions host's own setting: no feature reads it, so only the start-up report checks it. */
export const HOST_KEYS = { workerRuntime: 'FUNCTIONS_WORKER_RUNTIME' } as const;

/** Settings of the Functions host itself, checked only for the start-up report. */
export interface HostConfig {
  readonly workerRuntime: 'node' | undefined;
}

/** `FUNCTIONS_WORKER_RUNTIME`: unset or `node`. */
export function loadHostConfig(env: Env): HostConfig {
  return loadSection(env, (reader) => {
    const workerRuntime = reader.optional(HOST_KEYS.workerRuntime);
    if (workerRuntime === undefined) return { workerRuntime };
    if (workerRuntime !== 'node') {
      reader.report(HOST_KEYS.workerRuntime, 'must be "node"');
      return undefined;
    }
    return { workerRuntime };
  });
}

/**
 * Reads one section; throws a {@link ConfigError} naming only that section's keys (never a value).
 * `read` returns undefined only after reporting a problem. The section comes back deeply frozen.
 */
export function loadSection<T>(env: Env, read: (reader: Reader) => T | undefined): T {
  const problems: FieldProblem[] = [];
  const value = read(new Reader(env, problems));
  if (problems.length > 0 || value === undefined) throw new ConfigError(problems);
  return deepFreeze(value);
}

/**
 * Runs named section loaders and returns their sections under the same names, or throws one
 * {@link ConfigError} naming the problems of all of them rather than only those of the first.
 */
export function loadSections<T extends object>(loaders: {
  readonly [K in keyof T]: () => T[K];
}): T {
  const problems: FieldProblem[] = [];
  const sections: Partial<T> = {};
  for (const name of Object.keys(loaders) as (keyof T)[]) {
    try {
      sections[name] = loaders[name]();
    } catch (error: unknown) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // Every loader returned, so every name holds its section.
  return deepFreeze(sections as T);
}

/** Reads settings by key and records what is wrong with them, by key only. */
export class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: FieldProblem[],
  ) {}

  report(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  /** An unset or blank value is "missing": a secret is never defaulted to ''. */
  optional(key: string): string | undefined {
    const value = this.env[key];
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  required(key: string, pattern?: RegExp, patternMessage = 'is invalid'): string {
    const value = this.optional(key);
    if (value === undefined) {
      this.report(key, 'required');
      return '';
    }
    if (pattern !== undefined && !pattern.test(value)) this.report(key, patternMessage);
    return value;
  }

  integer(key: string, fallback: number, range: { min: number; max: number }): number {
    const value = this.optional(key);
    if (value === undefined) return fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < range.min || parsed > range.max) {
      this.report(key, `must be an integer in ${range.min}..${range.max}`);
      return fallback;
    }
    return parsed;
  }

  /** Comma-separated list; items trimmed, blanks dropped. Unset gives undefined. */
  list(key: string): string[] | undefined {
    return this.optional(key)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.optional(key)?.toLowerCase();
    if (value === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) {
      this.report(key, `must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return match;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.optional(key)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    this.report(key, 'must be true or false');
    return fallback;
  }

  url(key: string): URL | undefined {
    const value = this.optional(key);
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      if (url.username || url.password) throw new Error('userinfo');
      return url;
    } catch {
      this.report(key, 'must be an http(s) URL without credentials');
      return undefined;
    }
  }

  /** An Azure Table name (the same rule for every table the app keeps). */
  tableName(key: string, fallback: string): string {
    const name = this.optional(key) ?? fallback;
    if (!TABLE_NAME_PATTERN.test(name)) {
      this.report(key, 'must be 3-63 letters or digits, starting with a letter');
    }
    return name;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof URL)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
