import { ValidationError } from '../errors';
import type { SmsTemplateSettings } from './settings';

/**
 * The SMS text by the caller's optional `locale`. English is the app's configured
 * `VERIFICATION_MESSAGE_TEMPLATE` (default "Your verification code is {code}"), which is also the
 * answer for every locale without a template; the others are built in and can each be replaced by
 * a setting, e.g. to add the app's name.
 */

/** The locales with an SMS template. English is `VERIFICATION_MESSAGE_TEMPLATE`. */
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

/** RFC 5646 §4.4.1: implementations need to handle tags of at least 35 characters. */
export const MAX_LOCALE_LENGTH = 35;
export const LOCALE_MESSAGE = 'must be a BCP 47 language tag such as "ko" or "pt-BR"';
/** Regions that write Chinese in traditional characters when a tag names no script. */
const TRADITIONAL_CHINESE_REGIONS = new Set(['TW', 'HK', 'MO']);

/** The canonical form of a well-formed BCP 47 language tag (`ko-kr` → `ko-KR`), else undefined. */
export function canonicalLocale(tag: string): string | undefined {
  if (tag.length === 0 || tag.length > MAX_LOCALE_LENGTH) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/**
 * The caller's `locale` input: absent (undefined or null) is fine, anything else must be a
 * well-formed BCP 47 language tag such as `ko` or `pt-BR`. Returns the canonical tag.
 */
export function parseLocale(input: unknown, field = 'locale'): string | undefined {
  if (input === undefined || input === null) return undefined;
  const canonical = typeof input === 'string' ? canonicalLocale(input) : undefined;
  if (canonical === undefined) throw new ValidationError({ field, message: LOCALE_MESSAGE });
  return canonical;
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
    template:
      chosen === 'en'
        ? fallbackTemplate
        : (settings.overrides[chosen] ?? BUILT_IN_TEMPLATES[chosen]),
  };
}

/** The template with every `{code}` replaced by the code. */
export function renderMessage(template: string, code: string): string {
  return template.split('{code}').join(code);
}
