import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import { loadSection, type Env } from '../../config';

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
  blockedNumberTypes: RISKY_NUMBER_TYPES as readonly PolicyNumberType[],
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
