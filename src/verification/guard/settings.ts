import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import { loadSection, type Env } from '../../config';
import { ConfigError, type FieldProblem } from '../../errors';

/** The fraud guard's settings: part of the verification feature's own keys. */
export const GUARD_KEYS = {
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
} as const;

/** Number types a person reads an SMS on. */
const PERSONAL_NUMBER_TYPES = [
  'FIXED_LINE',
  'MOBILE',
  'FIXED_LINE_OR_MOBILE',
  'VOIP',
  'PERSONAL_NUMBER',
] as const;
/**
 * Numbers that bill the sender (premium-rate, shared-cost, UAN), that no person reads a code on
 * (pager, voicemail, toll-free lines of businesses), and those nobody can classify: the ranges
 * SMS-pumping schemes rent. Blocked unless `VERIFICATION_BLOCKED_NUMBER_TYPES` says otherwise.
 */
const RISKY_NUMBER_TYPES = [
  'PREMIUM_RATE',
  'SHARED_COST',
  'TOLL_FREE',
  'PAGER',
  'VOICEMAIL',
  'UAN',
  'UNKNOWN',
] as const;
/** The number types libphonenumber-js tells apart, plus `UNKNOWN` for a valid number it cannot classify. */
export const POLICY_NUMBER_TYPES = [...PERSONAL_NUMBER_TYPES, ...RISKY_NUMBER_TYPES] as const;
export type PolicyNumberType = (typeof POLICY_NUMBER_TYPES)[number];

export const FAIL_MODES = ['closed', 'open'] as const;
export type GuardFailMode = (typeof FAIL_MODES)[number];

export const GUARD_DEFAULTS = {
  // Personal numbers forward anywhere; VoIP numbers are rented in bulk (issue 22).
  blockedNumberTypes: [
    ...RISKY_NUMBER_TYPES,
    'PERSONAL_NUMBER',
    'VOIP',
  ] as readonly PolicyNumberType[],
  limitPerNumberPerHour: 5,
  limitNumberCooldownSeconds: 30,
  limitPerIpPerHour: 20,
  limitPerPrefixPerHour: 10,
  /** The cost cap: at most this many SMS an hour for the whole app, across every instance. */
  limitGlobalPerHour: 1000,
  limitTableName: 'VerificationLimits',
  guardFailMode: 'closed' as GuardFailMode,
  clientIpHeader: 'x-forwarded-for',
  trustedProxyHops: 1,
} as const;

export const VELOCITY_LIMIT_RANGE = { min: 1, max: 100_000_000 } as const;
/** 0 turns the cooldown off. */
export const COOLDOWN_SECONDS_RANGE = { min: 0, max: 86_400 } as const;
export const TRUSTED_PROXY_HOPS_RANGE = { min: 1, max: 10 } as const;
const HEADER_NAME_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

export interface PhonePolicySettings {
  readonly blockedNumberTypes: ReadonlySet<PolicyNumberType>;
  /** Undefined allows every country. */
  readonly allowedCountries: ReadonlySet<CountryCode> | undefined;
}

export interface VelocitySettings {
  readonly perNumberPerHour: number;
  readonly numberCooldownSeconds: number;
  readonly perIpPerHour: number;
  readonly perPrefixPerHour: number;
  readonly globalPerHour: number;
  /** `closed`: an unreachable limit store refuses the send (503); `open`: it lets it through. */
  readonly failMode: GuardFailMode;
  readonly tableName: string;
}

/**
 * Where the client IP comes from. The v4 programming model does not expose the socket's peer
 * address, so the only source is a header that a proxy in front of the app sets (on Azure, the
 * App Service front end appends the client's address to `X-Forwarded-For`).
 */
export interface ClientIpSettings {
  /** Lower-case header name, or undefined when `VERIFICATION_CLIENT_IP_HEADER=none`. */
  readonly header: string | undefined;
  /** Proxies that each append one entry: the client is this many entries from the right. */
  readonly trustedProxyHops: number;
}

/** Every setting of the fraud guard. */
export interface GuardSettings {
  readonly phonePolicy: PhonePolicySettings;
  readonly clientIp: ClientIpSettings;
  readonly velocity: VelocitySettings;
}

/** `VERIFICATION_BLOCKED_NUMBER_TYPES` (`none` blocks no type) and `VERIFICATION_ALLOWED_COUNTRIES`. */
export function loadPhonePolicySettings(env: Env): PhonePolicySettings {
  return loadSection(env, (reader) => {
    const typesKey = GUARD_KEYS.blockedNumberTypes;
    const rawTypes = reader.list(typesKey)?.map((item) => item.toUpperCase());
    let blocked: readonly PolicyNumberType[] = GUARD_DEFAULTS.blockedNumberTypes;
    if (rawTypes !== undefined && !(rawTypes.length === 1 && rawTypes[0] === 'NONE')) {
      if (rawTypes.some((item) => !isPolicyNumberType(item))) {
        reader.report(
          typesKey,
          `must be "none" or a comma-separated list of ${POLICY_NUMBER_TYPES.join(', ')}`,
        );
      }
      blocked = rawTypes.filter(isPolicyNumberType);
    } else if (rawTypes !== undefined) {
      blocked = [];
    }
    const countriesKey = GUARD_KEYS.allowedCountries;
    const rawCountries = reader.list(countriesKey)?.map((item) => item.toUpperCase());
    if (rawCountries?.some((item) => !isSupportedCountry(item))) {
      reader.report(countriesKey, 'must be a comma-separated list of ISO 3166-1 alpha-2 codes');
    }
    const countries = rawCountries?.filter((item): item is CountryCode => isSupportedCountry(item));
    return {
      blockedNumberTypes: new Set(blocked),
      allowedCountries:
        countries === undefined || countries.length === 0 ? undefined : new Set(countries),
    };
  });
}

/** The `VERIFICATION_LIMIT_*` settings and `VERIFICATION_GUARD_FAIL_MODE`. */
export function loadVelocitySettings(env: Env): VelocitySettings {
  return loadSection(env, (reader) => {
    const tableName = reader.tableName(GUARD_KEYS.limitTableName, GUARD_DEFAULTS.limitTableName);
    const limit = (key: string, fallback: number) =>
      reader.integer(key, fallback, VELOCITY_LIMIT_RANGE);
    return {
      perNumberPerHour: limit(
        GUARD_KEYS.limitPerNumberPerHour,
        GUARD_DEFAULTS.limitPerNumberPerHour,
      ),
      numberCooldownSeconds: reader.integer(
        GUARD_KEYS.limitNumberCooldownSeconds,
        GUARD_DEFAULTS.limitNumberCooldownSeconds,
        COOLDOWN_SECONDS_RANGE,
      ),
      perIpPerHour: limit(GUARD_KEYS.limitPerIpPerHour, GUARD_DEFAULTS.limitPerIpPerHour),
      perPrefixPerHour: limit(
        GUARD_KEYS.limitPerPrefixPerHour,
        GUARD_DEFAULTS.limitPerPrefixPerHour,
      ),
      globalPerHour: limit(GUARD_KEYS.limitGlobalPerHour, GUARD_DEFAULTS.limitGlobalPerHour),
      failMode: reader.oneOf(GUARD_KEYS.guardFailMode, FAIL_MODES, GUARD_DEFAULTS.guardFailMode),
      tableName,
    };
  });
}

/** `VERIFICATION_CLIENT_IP_HEADER` (`none` turns the per-IP limit off) and `VERIFICATION_TRUSTED_PROXY_HOPS`. */
export function loadClientIpSettings(env: Env): ClientIpSettings {
  return loadSection(env, (reader) => {
    const name = reader.optional(GUARD_KEYS.clientIpHeader) ?? GUARD_DEFAULTS.clientIpHeader;
    let header: string | undefined = name.toLowerCase();
    if (header === 'none') {
      header = undefined;
    } else if (!HEADER_NAME_PATTERN.test(name)) {
      reader.report(GUARD_KEYS.clientIpHeader, 'must be a header name or "none"');
    }
    const trustedProxyHops = reader.integer(
      GUARD_KEYS.trustedProxyHops,
      GUARD_DEFAULTS.trustedProxyHops,
      TRUSTED_PROXY_HOPS_RANGE,
    );
    return { header, trustedProxyHops };
  });
}

function isPolicyNumberType(value: string): value is PolicyNumberType {
  return (POLICY_NUMBER_TYPES as readonly string[]).includes(value);
}

// ---- Issue 22 -----------------------------------------------------------------------------------

/**
 * The fraud guard's issue-22 settings: budgets behind the global cap, the owner's grace, the
 * number policy's extra defaults, conversion-based blocking and proof of work. Each has an embedded
 * default, so `npm start` needs none of them; `docs/fraud-guard.md` lists them all.
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
