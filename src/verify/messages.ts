import { negotiateLocale, type SmsLocale } from '../verification/sms-templates';
import type { CountryCode } from 'libphonenumber-js/max';

/**
 * Verify's SMS text, `Your {name} verification code is: {code}`, in the eight locales the app
 * already translates, with the optional do-not-share warning, PSD2 amount and payee, and the
 * Android SMS Retriever hash on the last line (as Verify places it).
 */
const MAIN: Readonly<Record<SmsLocale, string>> = {
  en: 'Your {name} verification code is: {code}',
  es: 'Tu código de verificación de {name} es: {code}',
  fr: 'Votre code de vérification {name} est : {code}',
  de: 'Ihr {name} Bestätigungscode lautet: {code}',
  pt: 'O seu código de verificação {name} é: {code}',
  ja: '{name} の認証コードは {code} です',
  ko: '{name} 인증 코드는 {code}입니다',
  zh: '您的 {name} 验证码是：{code}',
  'zh-Hant': '您的 {name} 驗證碼是：{code}',
};

const DO_NOT_SHARE: Readonly<Record<SmsLocale, string>> = {
  en: 'Don’t share this code with anyone; our employees will never ask for the code.',
  es: 'No compartas este código con nadie; nuestros empleados nunca te lo pedirán.',
  fr: 'Ne partagez ce code avec personne ; nos employés ne vous le demanderont jamais.',
  de: 'Teilen Sie diesen Code mit niemandem; unsere Mitarbeiter werden nie danach fragen.',
  pt: 'Não partilhe este código com ninguém; os nossos funcionários nunca o pedirão.',
  ja: 'このコードは誰にも教えないでください。当社の従業員がコードを尋ねることはありません。',
  ko: '이 코드를 누구와도 공유하지 마세요. 당사 직원은 절대 코드를 묻지 않습니다.',
  zh: '请勿与任何人分享此验证码，我们的员工绝不会向您索取。',
  'zh-Hant': '請勿與任何人分享此驗證碼，我們的員工絕不會向您索取。',
};

export interface VerifyMessage {
  readonly locale: string | undefined;
  readonly friendlyName: string;
  readonly code: string;
  readonly doNotShareWarning: boolean;
  readonly amount?: string;
  readonly payee?: string;
  readonly appHash?: string;
}

export function renderVerifyMessage(message: VerifyMessage): string {
  const locale = negotiateLocale(message.locale);
  // The name is validated (no braces), and replaced before the code so neither can inject the other.
  let body = MAIN[locale]
    .split('{name}')
    .join(message.friendlyName)
    .split('{code}')
    .join(message.code);
  if (message.doNotShareWarning) body += `. ${DO_NOT_SHARE[locale]}`;
  if (message.amount !== undefined) body += `\nAmount: ${message.amount}`;
  if (message.payee !== undefined) body += `\nPayee: ${message.payee}`;
  if (message.appHash !== undefined) body += `\n\n${message.appHash}`;
  return body;
}

/** Verify infers the locale from the number's country when none is given. */
const LOCALE_BY_COUNTRY: Readonly<Partial<Record<CountryCode, string>>> = {
  ES: 'es',
  MX: 'es',
  AR: 'es',
  CO: 'es',
  CL: 'es',
  PE: 'es',
  FR: 'fr',
  BE: 'fr',
  DE: 'de',
  AT: 'de',
  CH: 'de',
  PT: 'pt',
  BR: 'pt-BR',
  JP: 'ja',
  KR: 'ko',
  CN: 'zh',
  TW: 'zh-TW',
  HK: 'zh-HK',
  MO: 'zh-MO',
};

export function inferLocale(country: CountryCode | undefined): string | undefined {
  return country === undefined ? undefined : LOCALE_BY_COUNTRY[country];
}
