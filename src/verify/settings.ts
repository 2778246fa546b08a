import { z } from 'zod';
import { ConfigError, type FieldProblem } from '../errors';

/**
 * The Verify API's own settings (`VERIFY_*`): its credentials and the limits of one verification.
 * The storage, the code secret, the fraud guard and the SMS sender are the verification feature's
 * (`AzureWebJobsStorage`, `VERIFICATION_CODE_SECRET`, `VERIFICATION_LIMIT_*`, `Twilio*`).
 */
export const VERIFY_ENV_KEYS = {
  accountSid: 'VERIFY_API_ACCOUNT_SID',
  authToken: 'VERIFY_API_AUTH_TOKEN',
  codeValiditySeconds: 'VERIFY_CODE_VALIDITY_SECONDS',
  maxCheckAttempts: 'VERIFY_MAX_CHECK_ATTEMPTS',
  maxSendAttempts: 'VERIFY_MAX_SEND_ATTEMPTS',
  tableName: 'VERIFY_API_TABLE_NAME',
  checkWaitMs: 'VERIFY_CHECK_WAIT_MS',
} as const;

export type VerifyEnvKey = (typeof VERIFY_ENV_KEYS)[keyof typeof VERIFY_ENV_KEYS];

/** Twilio Verify's own figures: codes live 10 minutes, 5 checks and 5 sends per verification. */
export const VERIFY_DEFAULTS = {
  codeValiditySeconds: 600,
  maxCheckAttempts: 5,
  maxSendAttempts: 5,
  tableName: 'VerifyApi',
  /** How long a check or resend waits for the orchestration's verdict before answering 503. */
  checkWaitMs: 15_000,
} as const;

const intIn = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer in ${min}..${max}` });
        return z.NEVER;
      }
      return parsed;
    });

const VerifySettingsSchema = z.object({
  [VERIFY_ENV_KEYS.accountSid]: z
    .string({ error: 'required' })
    .trim()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex characters'),
  [VERIFY_ENV_KEYS.authToken]: z
    .string({ error: 'required' })
    .trim()
    .min(32, 'must be at least 32 characters (a random secret)')
    .max(256, 'must be at most 256 characters'),
  [VERIFY_ENV_KEYS.codeValiditySeconds]: intIn(60, 86_400, VERIFY_DEFAULTS.codeValiditySeconds),
  [VERIFY_ENV_KEYS.maxCheckAttempts]: intIn(1, 10, VERIFY_DEFAULTS.maxCheckAttempts),
  [VERIFY_ENV_KEYS.maxSendAttempts]: intIn(1, 10, VERIFY_DEFAULTS.maxSendAttempts),
  [VERIFY_ENV_KEYS.tableName]: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === undefined || value === '' ? VERIFY_DEFAULTS.tableName : value))
    .pipe(z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a Table Storage table name')),
  [VERIFY_ENV_KEYS.checkWaitMs]: intIn(100, 120_000, VERIFY_DEFAULTS.checkWaitMs),
});

export interface VerifySettings {
  readonly accountSid: string;
  readonly authToken: string;
  readonly codeValiditySeconds: number;
  readonly maxCheckAttempts: number;
  readonly maxSendAttempts: number;
  readonly tableName: string;
  readonly checkWaitMs: number;
}

/** Validates every `VERIFY_*` key at once; one ConfigError names each bad key (never its value). */
export function loadVerifySettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
): VerifySettings {
  const raw = Object.fromEntries(
    Object.values(VERIFY_ENV_KEYS).map((key) => {
      const value = env[key];
      return [key, value === undefined || value.trim() === '' ? undefined : value];
    }),
  );
  const parsed = VerifySettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems: FieldProblem[] = parsed.error.issues.map((issue) => ({
      field: String(issue.path[0] ?? 'VERIFY'),
      message: issue.message,
    }));
    throw new ConfigError(problems);
  }
  const v = parsed.data;
  return Object.freeze({
    accountSid: v[VERIFY_ENV_KEYS.accountSid],
    authToken: v[VERIFY_ENV_KEYS.authToken],
    codeValiditySeconds: v[VERIFY_ENV_KEYS.codeValiditySeconds],
    maxCheckAttempts: v[VERIFY_ENV_KEYS.maxCheckAttempts],
    maxSendAttempts: v[VERIFY_ENV_KEYS.maxSendAttempts],
    tableName: v[VERIFY_ENV_KEYS.tableName],
    checkWaitMs: v[VERIFY_ENV_KEYS.checkWaitMs],
  });
}
