import { ValidationError } from '../errors';
import { GUARD_ENV_KEYS, loadGuardSection, type Env, type GuardEnvKey } from './guard/env';

/**
 * The SMS text by the caller's optional `locale`. English is the app's configured
 * `VERIFICATION_MESSAGE_TEMPLATE` (default "Your verification code is {code}"), which is also the
 * answer for every locale without a template; the others are built in and can each be replaced by
 * a setting, e.g. to add the app's name.
 */
export const SMS_LOCALES = ['en', 'es', 'fr', 'de', 'pt', 'ja', 'ko', 'zh', 'zh-Hant'] as const;
export type SmsLocale = (typeof SMS_LOCALES)[number];
export type TranslatedLocale = Exclude<SmsLocale, 'en'>;

export const BUILT_IN_TEMPLATES: Readonly<Record<TranslatedLocale, string>> = {
  es: 'Tu código de verificación es {code}',
  fr: 'Votre code de vérification est {code}',
  de: 'Ihr Bestätigungscode lautet {code}',
  pt: 'O seu código de verificação é {code}',
  ja: '認証コードは {code} です',
  ko: '인증 코드는 {code}입니다',
  zh: '您的验证码是 {code}',
  'zh-Hant': '您的驗證碼是 {code}',
};

const OVERRIDE_KEYS: Readonly<Record<TranslatedLocale, GuardEnvKey>> = {
  es: GUARD_ENV_KEYS.messageTemplateEs,
  fr: GUARD_ENV_KEYS.messageTemplateFr,
  de: GUARD_ENV_KEYS.messageTemplateDe,
  pt: GUARD_ENV_KEYS.messageTemplatePt,
  ja: GUARD_ENV_KEYS.messageTemplateJa,
  ko: GUARD_ENV_KEYS.messageTemplateKo,
  zh: GUARD_ENV_KEYS.messageTemplateZh,
  'zh-Hant': GUARD_ENV_KEYS.messageTemplateZhHant,
};

/** The same bound `loadVerificationConfig` puts on `VERIFICATION_MESSAGE_TEMPLATE`. */
export const MAX_TEMPLATE_LENGTH = 1500;
/** RFC 5646 §4.4.1: implementations need to handle tags of at least 35 characters. */
const MAX_LOCALE_LENGTH = 35;
/** Regions that write Chinese in traditional characters when a tag names no script. */
const TRADITIONAL_CHINESE_REGIONS = new Set(['TW', 'HK', 'MO']);

export interface SmsTemplateSettings {
  readonly templates: Readonly<Record<TranslatedLocale, string>>;
}

/** `VERIFICATION_MESSAGE_TEMPLATE_<LOCALE>`: each must contain `{code}`. */
export function loadSmsTemplateSettings(env: Env): SmsTemplateSettings {
  return loadGuardSection(env, (reader) => {
    const templates = { ...BUILT_IN_TEMPLATES };
    for (const locale of Object.keys(OVERRIDE_KEYS) as TranslatedLocale[]) {
      const key = OVERRIDE_KEYS[locale];
      const value = reader.optional(key);
      if (value === undefined) continue;
      if (!value.includes('{code}')) reader.report(key, 'must contain {code}');
      else if (value.length > MAX_TEMPLATE_LENGTH) {
        reader.report(key, `must be at most ${MAX_TEMPLATE_LENGTH} characters`);
      } else templates[locale] = value;
    }
    return { templates: Object.freeze(templates) };
  });
}

/**
 * The caller's `locale` input: absent (undefined or null) is fine, anything else must be a
 * well-formed BCP 47 language tag such as `ko` or `pt-BR`. Returns the canonical tag.
 */
export function parseLocale(input: unknown, field = 'locale'): string | undefined {
  if (input === undefined || input === null) return undefined;
  const problem = { field, message: 'must be a BCP 47 language tag such as "ko" or "pt-BR"' };
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_LOCALE_LENGTH) {
    throw new ValidationError(problem);
  }
  try {
    const [canonical] = Intl.getCanonicalLocales(input);
    if (canonical === undefined) throw new RangeError('empty');
    return canonical;
  } catch {
    throw new ValidationError(problem);
  }
}

/** The best template locale for a canonical tag: `ko-KR` → `ko`, `zh-TW` → `zh-Hant`, else `en`. */
export function negotiateLocale(locale: string | undefined): SmsLocale {
  if (locale === undefined) return 'en';
  const parsed = new Intl.Locale(locale);
  if (parsed.language === 'zh') {
    const script =
      parsed.script ?? (TRADITIONAL_CHINESE_REGIONS.has(parsed.region ?? '') ? 'Hant' : 'Hans');
    return script === 'Hant' ? 'zh-Hant' : 'zh';
  }
  return SMS_LOCALES.find((candidate) => candidate === parsed.language) ?? 'en';
}

/** The template to render for a canonical locale (from {@link parseLocale}) or none. */
export function templateFor(
  locale: string | undefined,
  settings: SmsTemplateSettings,
  fallbackTemplate: string,
): { readonly locale: SmsLocale; readonly template: string } {
  const chosen = negotiateLocale(locale);
  return {
    locale: chosen,
    template: chosen === 'en' ? fallbackTemplate : settings.templates[chosen],
  };
}
