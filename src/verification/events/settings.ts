import { Webhook } from 'standardwebhooks';

import { ConfigError, type FieldProblem } from '../../errors';
import { isLoopbackHost } from '../../loopback';

/**
 * Verification events (issue 22): webhooks signed per Standard Webhooks. Off until
 * `VERIFICATION_WEBHOOK_URLS` is set; then `VERIFICATION_WEBHOOK_SECRET` is required (the local
 * runtime generates one under its data folder when it is missing, like the host keys).
 */
export const EVENT_ENV_KEYS = {
  urls: 'VERIFICATION_WEBHOOK_URLS',
  secret: 'VERIFICATION_WEBHOOK_SECRET',
  maxAttempts: 'VERIFICATION_WEBHOOK_MAX_ATTEMPTS',
  firstRetrySeconds: 'VERIFICATION_WEBHOOK_FIRST_RETRY_SECONDS',
  timeoutSeconds: 'VERIFICATION_WEBHOOK_TIMEOUT_SECONDS',
  blockedPerMinute: 'VERIFICATION_WEBHOOK_BLOCKED_PER_MINUTE',
} as const;

export const EVENT_KEYS: readonly string[] = Object.values(EVENT_ENV_KEYS);

export const EVENT_DEFAULTS = {
  maxAttempts: 6,
  /** Retries wait 5, 10, 20, 40, 80 s (backoff 2): about 2.5 minutes in all. */
  firstRetrySeconds: 5,
  timeoutSeconds: 10,
  /** Guard refusals announced per minute and instance; a spray of refusals cannot flood receivers. */
  blockedPerMinute: 60,
} as const;

export interface EventSettings {
  /** Empty: events are off. */
  readonly endpoints: readonly URL[];
  /** `whsec_` + base64, as Standard Webhooks libraries take it; undefined when events are off. */
  readonly secret: string | undefined;
  readonly maxAttempts: number;
  readonly firstRetrySeconds: number;
  readonly timeoutSeconds: number;
  readonly blockedPerMinute: number;
}

type Env = Readonly<Record<string, string | undefined>>;
const K = EVENT_ENV_KEYS;
const MAX_ENDPOINTS = 5;

export function loadEventSettings(env: Env = process.env): EventSettings {
  const problems: FieldProblem[] = [];
  const raw = (key: string) => {
    const value = env[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (key: string, fallback: number, min: number, max: number) => {
    const value = raw(key);
    if (value === undefined) return fallback;
    const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isSafeInteger(parsed) && parsed >= min && parsed <= max) return parsed;
    problems.push({ field: key, message: `must be an integer in ${min}..${max}` });
    return fallback;
  };
  const endpoints: URL[] = [];
  for (const entry of (raw(K.urls) ?? '').split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    const secure =
      url !== undefined &&
      (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)));
    if (!secure || url.username !== '' || url.password !== '') {
      problems.push({
        field: K.urls,
        message: 'must be https URLs (http only for loopback), without credentials',
      });
      break;
    }
    endpoints.push(url);
  }
  if (endpoints.length > MAX_ENDPOINTS) {
    problems.push({ field: K.urls, message: `at most ${MAX_ENDPOINTS} URLs` });
  }
  const secret = raw(K.secret);
  if (endpoints.length > 0) {
    if (secret === undefined) problems.push({ field: K.secret, message: 'required' });
    else if (!isSigningSecret(secret)) {
      problems.push({ field: K.secret, message: 'must be whsec_ followed by base64 (24+ bytes)' });
    }
  }
  const settings: EventSettings = {
    endpoints,
    secret: endpoints.length > 0 ? secret : undefined,
    maxAttempts: integer(K.maxAttempts, EVENT_DEFAULTS.maxAttempts, 1, 20),
    firstRetrySeconds: integer(K.firstRetrySeconds, EVENT_DEFAULTS.firstRetrySeconds, 1, 3600),
    timeoutSeconds: integer(K.timeoutSeconds, EVENT_DEFAULTS.timeoutSeconds, 1, 60),
    blockedPerMinute: integer(K.blockedPerMinute, EVENT_DEFAULTS.blockedPerMinute, 0, 100_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(settings);
}

function isSigningSecret(secret: string): boolean {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) return false;
  if (Buffer.from(secret.slice('whsec_'.length), 'base64').length < 24) return false;
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
}
