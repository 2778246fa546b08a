import { ConfigError, type FieldProblem } from '../../errors';

/**
 * The settings that issue 9 adds, in one place. Each module of `src/verification/` reads only its
 * own keys through its `load…Settings(env)` function; when the feature folders land these join
 * `ENV_KEYS` in `src/config.ts` and the loaders become config sections. The app secret
 * (`VERIFICATION_CODE_SECRET`) and the fallback template (`VERIFICATION_MESSAGE_TEMPLATE`) are
 * not read here: they stay in the verification section and are passed in.
 */
export const GUARD_ENV_KEYS = {
  blockedNumberTypes: 'VERIFICATION_BLOCKED_NUMBER_TYPES',
  allowedCountries: 'VERIFICATION_ALLOWED_COUNTRIES',
  limitPerNumberPerHour: 'VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR',
  limitNumberCooldownSeconds: 'VERIFICATION_LIMIT_NUMBER_COOLDOWN_SECONDS',
  limitPerIpPerHour: 'VERIFICATION_LIMIT_PER_IP_PER_HOUR',
  limitPerPrefixPerHour: 'VERIFICATION_LIMIT_PER_PREFIX_PER_HOUR',
  limitGlobalPerHour: 'VERIFICATION_LIMIT_GLOBAL_PER_HOUR',
  limitTableName: 'VERIFICATION_LIMIT_TABLE_NAME',
  guardFailMode: 'VERIFICATION_GUARD_FAIL_MODE',
  clientIpHeader: 'VERIFICATION_CLIENT_IP_HEADER',
  trustedProxyHops: 'VERIFICATION_TRUSTED_PROXY_HOPS',
  publicOrigin: 'VERIFICATION_PUBLIC_ORIGIN',
  websiteHostname: 'WEBSITE_HOSTNAME',
  messageTemplateEs: 'VERIFICATION_MESSAGE_TEMPLATE_ES',
  messageTemplateFr: 'VERIFICATION_MESSAGE_TEMPLATE_FR',
  messageTemplateDe: 'VERIFICATION_MESSAGE_TEMPLATE_DE',
  messageTemplatePt: 'VERIFICATION_MESSAGE_TEMPLATE_PT',
  messageTemplateJa: 'VERIFICATION_MESSAGE_TEMPLATE_JA',
  messageTemplateKo: 'VERIFICATION_MESSAGE_TEMPLATE_KO',
  messageTemplateZh: 'VERIFICATION_MESSAGE_TEMPLATE_ZH',
  messageTemplateZhHant: 'VERIFICATION_MESSAGE_TEMPLATE_ZH_HANT',
} as const;

export type GuardEnvKey = (typeof GUARD_ENV_KEYS)[keyof typeof GUARD_ENV_KEYS];

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads one group of settings and throws one {@link ConfigError} naming every problem in it
 * (keys and reasons, never values). `read` returns undefined only after reporting a problem.
 */
export function loadGuardSection<T>(env: Env, read: (reader: GuardEnvReader) => T | undefined): T {
  const problems: FieldProblem[] = [];
  const value = read(new GuardEnvReader(env, problems));
  if (problems.length > 0 || value === undefined) throw new ConfigError(problems);
  return Object.freeze(value);
}

/** The same conventions as the reader of `src/config.ts`: blank is unset, problems are collected. */
export class GuardEnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: FieldProblem[],
  ) {}

  report(field: GuardEnvKey, message: string): void {
    this.problems.push({ field, message });
  }

  optional(key: GuardEnvKey): string | undefined {
    const trimmed = this.env[key]?.trim();
    return trimmed === undefined || trimmed === '' ? undefined : trimmed;
  }

  integer(key: GuardEnvKey, fallback: number, range: { min: number; max: number }): number {
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
  list(key: GuardEnvKey): string[] | undefined {
    const value = this.optional(key);
    if (value === undefined) return undefined;
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  oneOf<T extends string>(key: GuardEnvKey, allowed: readonly T[], fallback: T): T {
    const value = this.optional(key)?.toLowerCase();
    if (value === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) {
      this.report(key, `must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return match;
  }
}
