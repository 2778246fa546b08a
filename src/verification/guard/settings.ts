import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';

import { ConfigError, type FieldProblem } from '../../errors';

/**
 * The fraud guard's own settings (issue 22): budgets behind the global cap, the owner's grace, the
 * number policy's extra defaults, conversion-based blocking and proof of work. Each has an embedded
 * default, so `npm start` needs none of them; `docs/fraud-guard.md` lists them all. The guard's
 * older settings (`VERIFICATION_LIMIT_*`, number types, allowed countries, client IP) still live in
 * the verification section of `src/config.ts`.
 */
export const FRAUD_GUARD_ENV_KEYS = {
  numberWindowSeconds: 'VERIFICATION_LIMIT_NUMBER_WINDOW_SECONDS',
  perCountryPerHour: 'VERIFICATION_LIMIT_PER_COUNTRY_PER_HOUR',
  unknownClientPerHour: 'VERIFICATION_LIMIT_UNKNOWN_CLIENT_PER_HOUR',
  verifiedNumberDays: 'VERIFICATION_VERIFIED_NUMBER_DAYS',
  blockedCountries: 'VERIFICATION_BLOCKED_COUNTRIES',
  allowNonGeographic: 'VERIFICATION_ALLOW_NON_GEOGRAPHIC',
  conversionMode: 'VERIFICATION_FRAUD_GUARD_MODE',
  conversionWindowHours: 'VERIFICATION_FRAUD_GUARD_WINDOW_HOURS',
  conversionPrefixDigits: 'VERIFICATION_FRAUD_GUARD_PREFIX_DIGITS',
  conversionPrefixMinSends: 'VERIFICATION_FRAUD_GUARD_PREFIX_MIN_SENDS',
  conversionCountryMinSends: 'VERIFICATION_FRAUD_GUARD_COUNTRY_MIN_SENDS',
  conversionMinPercent: 'VERIFICATION_FRAUD_GUARD_MIN_CONVERSION_PERCENT',
  conversionBlockHours: 'VERIFICATION_FRAUD_GUARD_BLOCK_HOURS',
  safeList: 'VERIFICATION_FRAUD_GUARD_SAFE_LIST',
  proofOfWork: 'VERIFICATION_PROOF_OF_WORK',
  proofOfWorkCost: 'VERIFICATION_PROOF_OF_WORK_COST',
  proofOfWorkExpirySeconds: 'VERIFICATION_PROOF_OF_WORK_EXPIRY_SECONDS',
} as const;

type FraudGuardEnvKey = (typeof FRAUD_GUARD_ENV_KEYS)[keyof typeof FRAUD_GUARD_ENV_KEYS];

/** Every key above: the start-up report counts them as the verification feature's own. */
export const FRAUD_GUARD_KEYS: readonly string[] = Object.values(FRAUD_GUARD_ENV_KEYS);

/**
 * Destinations that SMS-pumping reports (Twilio, Braze, Plivo geo-permission advice) keep naming
 * among the most abused, and few apps serve: a starting point to review, not an authority.
 */
export const DEFAULT_BLOCKED_COUNTRIES: readonly CountryCode[] = [
  'AZ',
  'KG',
  'LA',
  'MM',
  'SO',
  'TJ',
  'TM',
  'UZ',
];

export const CONVERSION_MODES = ['off', 'dry-run', 'on'] as const;
export type ConversionMode = (typeof CONVERSION_MODES)[number];

export const FRAUD_GUARD_DEFAULTS = {
  /** Verify's default: 5 sends per number in 10 minutes. */
  numberWindowSeconds: 600,
  perCountryPerHour: 250,
  /** Requests whose client IP is unknown share one bucket of the per-IP size. */
  unknownClientPerHour: 20,
  verifiedNumberDays: 30,
  blockedCountries: DEFAULT_BLOCKED_COUNTRIES,
  allowNonGeographic: false,
  conversionMode: 'on' as ConversionMode,
  conversionWindowHours: 24,
  conversionPrefixDigits: 6,
  conversionPrefixMinSends: 20,
  conversionCountryMinSends: 100,
  conversionMinPercent: 20,
  /** Twilio's Fraud Guard blocks a prefix for 12 hours. */
  conversionBlockHours: 12,
  proofOfWork: false,
  /** altcha-lib's `maxNumber`: the solver tries on average half of it (SHA-256 each). */
  proofOfWorkCost: 50_000,
  proofOfWorkExpirySeconds: 300,
} as const;

export interface BudgetSettings {
  /** The per-number window (the count is `VERIFICATION_LIMIT_PER_NUMBER_PER_HOUR`). */
  readonly numberWindowSeconds: number;
  readonly perCountryPerHour: number;
  readonly unknownClientPerHour: number;
  /** A number verified this recently is counted per client, so strangers cannot lock it; 0 = off. */
  readonly verifiedNumberDays: number;
}

export interface NumberPolicyExtras {
  readonly blockedCountries: ReadonlySet<CountryCode>;
  /** Satellite and international networks (`+870`, `+881`, `+882`, `+883`, …), which have no country. */
  readonly allowNonGeographic: boolean;
}

export interface ConversionSettings {
  readonly mode: ConversionMode;
  readonly windowHours: number;
  /** Digits after `+` that make a number's prefix for conversion (wider than the velocity prefix). */
  readonly prefixDigits: number;
  readonly prefixMinSends: number;
  readonly countryMinSends: number;
  /** Completions ÷ sends below this percentage, after the minimum sends, blocks. */
  readonly minConversionPercent: number;
  readonly blockHours: number;
  /** E.164 numbers or prefixes (`+` and digits) never blocked by conversion. */
  readonly safeList: readonly string[];
}

export interface ProofOfWorkSettings {
  readonly enabled: boolean;
  readonly cost: number;
  readonly expirySeconds: number;
}

export interface FraudGuardSettings {
  readonly budgets: BudgetSettings;
  readonly numberPolicy: NumberPolicyExtras;
  readonly conversion: ConversionSettings;
  readonly proofOfWork: ProofOfWorkSettings;
}

type Env = Readonly<Record<string, string | undefined>>;
const K = FRAUD_GUARD_ENV_KEYS;
const D = FRAUD_GUARD_DEFAULTS;
const SAFE_ENTRY = /^\+[1-9]\d{0,14}$/;

/** Reads and validates every key above; one ConfigError names every bad key (never a value). */
export function loadFraudGuardSettings(env: Env = process.env): FraudGuardSettings {
  const r = new EnvReader(env);
  const rawCountries = r.list(K.blockedCountries);
  let blockedCountries: readonly CountryCode[] = D.blockedCountries;
  if (rawCountries !== undefined) {
    const upper = rawCountries.map((c) => c.toUpperCase());
    if (upper.length === 1 && upper[0] === 'NONE') blockedCountries = [];
    else {
      if (upper.some((c) => !isSupportedCountry(c))) {
        r.report(K.blockedCountries, 'must be "none" or a comma-separated list of ISO codes');
      }
      blockedCountries = upper.filter((c): c is CountryCode => isSupportedCountry(c));
    }
  }
  const safeList = r.list(K.safeList) ?? [];
  if (safeList.some((entry) => !SAFE_ENTRY.test(entry))) {
    r.report(K.safeList, 'must be a comma-separated list of E.164 numbers or prefixes');
  }
  const settings: FraudGuardSettings = {
    budgets: {
      numberWindowSeconds: r.integer(K.numberWindowSeconds, D.numberWindowSeconds, 60, 86_400),
      perCountryPerHour: r.integer(K.perCountryPerHour, D.perCountryPerHour, 1, 100_000_000),
      unknownClientPerHour: r.integer(
        K.unknownClientPerHour,
        D.unknownClientPerHour,
        1,
        100_000_000,
      ),
      verifiedNumberDays: r.integer(K.verifiedNumberDays, D.verifiedNumberDays, 0, 365),
    },
    numberPolicy: {
      blockedCountries: new Set(blockedCountries),
      allowNonGeographic: r.boolean(K.allowNonGeographic, D.allowNonGeographic),
    },
    conversion: {
      mode: r.oneOf(K.conversionMode, CONVERSION_MODES, D.conversionMode),
      windowHours: r.integer(K.conversionWindowHours, D.conversionWindowHours, 1, 168),
      prefixDigits: r.integer(K.conversionPrefixDigits, D.conversionPrefixDigits, 2, 12),
      prefixMinSends: r.integer(K.conversionPrefixMinSends, D.conversionPrefixMinSends, 1, 1e6),
      countryMinSends: r.integer(K.conversionCountryMinSends, D.conversionCountryMinSends, 1, 1e7),
      minConversionPercent: r.integer(K.conversionMinPercent, D.conversionMinPercent, 0, 100),
      blockHours: r.integer(K.conversionBlockHours, D.conversionBlockHours, 1, 720),
      safeList: safeList.filter((entry) => SAFE_ENTRY.test(entry)),
    },
    proofOfWork: {
      enabled: r.boolean(K.proofOfWork, D.proofOfWork),
      cost: r.integer(K.proofOfWorkCost, D.proofOfWorkCost, 1000, 10_000_000),
      expirySeconds: r.integer(K.proofOfWorkExpirySeconds, D.proofOfWorkExpirySeconds, 30, 3600),
    },
  };
  r.throwIfProblems();
  return deepFreeze(settings);
}

/** The few value shapes these settings use; problems are collected, values never reported. */
class EnvReader {
  private readonly problems: FieldProblem[] = [];

  constructor(private readonly env: Env) {}

  report(field: FraudGuardEnvKey, message: string): void {
    this.problems.push({ field, message });
  }

  throwIfProblems(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }

  private raw(key: FraudGuardEnvKey): string | undefined {
    const value = this.env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  integer(key: FraudGuardEnvKey, fallback: number, min: number, max: number): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      this.report(key, `must be an integer in ${min}..${max}`);
      return fallback;
    }
    return parsed;
  }

  boolean(key: FraudGuardEnvKey, fallback: boolean): boolean {
    const value = this.raw(key)?.toLowerCase();
    if (value === undefined) return fallback;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    this.report(key, 'must be true or false');
    return fallback;
  }

  oneOf<T extends string>(key: FraudGuardEnvKey, allowed: readonly T[], fallback: T): T {
    const value = this.raw(key)?.toLowerCase();
    if (value === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) this.report(key, `must be one of ${allowed.join(', ')}`);
    return match ?? fallback;
  }

  list(key: FraudGuardEnvKey): string[] | undefined {
    return this.raw(key)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Set)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
