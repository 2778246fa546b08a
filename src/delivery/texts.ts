import { negotiateLocale, type SmsLocale } from '../verification/sms-templates';

/**
 * What a call says and what an email reads, in the verification's locale (the SMS texts are the
 * verification feature's templates). The same locales as the SMS templates; anything else is English.
 */

interface Phrases {
  /** `<Say language=…>`: Twilio's language code for the locale. */
  readonly sayLanguage: string;
  readonly callIntro: string;
  readonly callRepeat: string;
  /** The key-press prompt (`DELIVERY_CALL_KEY_PRESS`), and what follows when no key comes. */
  readonly callPressKey: string;
  readonly callNoKey: string;
  readonly emailSubject: string;
  readonly emailBody: string;
  readonly emailIgnore: string;
}

const PHRASES: Readonly<Record<SmsLocale, Phrases>> = {
  en: {
    sayLanguage: 'en-US',
    callIntro: 'Your verification code is',
    callRepeat: 'Again, your code is',
    callPressKey: 'Press any key to hear your verification code.',
    callNoKey: 'No key was pressed. Goodbye.',
    emailSubject: 'Your verification code',
    emailBody: 'Your verification code is',
    emailIgnore: 'If you did not ask for this code, ignore this email.',
  },
  es: {
    sayLanguage: 'es-ES',
    callIntro: 'Tu código de verificación es',
    callRepeat: 'Repito, tu código es',
    callPressKey: 'Pulsa cualquier tecla para escuchar tu código de verificación.',
    callNoKey: 'No se ha pulsado ninguna tecla. Adiós.',
    emailSubject: 'Tu código de verificación',
    emailBody: 'Tu código de verificación es',
    emailIgnore: 'Si no has pedido este código, ignora este correo.',
  },
  fr: {
    sayLanguage: 'fr-FR',
    callIntro: 'Votre code de vérification est',
    callRepeat: 'Je répète, votre code est',
    callPressKey: 'Appuyez sur une touche pour entendre votre code de vérification.',
    callNoKey: "Aucune touche n'a été pressée. Au revoir.",
    emailSubject: 'Votre code de vérification',
    emailBody: 'Votre code de vérification est',
    emailIgnore: "Si vous n'avez pas demandé ce code, ignorez cet e-mail.",
  },
  de: {
    sayLanguage: 'de-DE',
    callIntro: 'Ihr Bestätigungscode lautet',
    callRepeat: 'Noch einmal, Ihr Code lautet',
    callPressKey: 'Drücken Sie eine beliebige Taste, um Ihren Bestätigungscode zu hören.',
    callNoKey: 'Es wurde keine Taste gedrückt. Auf Wiederhören.',
    emailSubject: 'Ihr Bestätigungscode',
    emailBody: 'Ihr Bestätigungscode lautet',
    emailIgnore: 'Wenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese E-Mail.',
  },
  pt: {
    sayLanguage: 'pt-BR',
    callIntro: 'O seu código de verificação é',
    callRepeat: 'Repetindo, o seu código é',
    callPressKey: 'Prima qualquer tecla para ouvir o seu código de verificação.',
    callNoKey: 'Nenhuma tecla foi premida. Adeus.',
    emailSubject: 'O seu código de verificação',
    emailBody: 'O seu código de verificação é',
    emailIgnore: 'Se não pediu este código, ignore este e-mail.',
  },
  ja: {
    sayLanguage: 'ja-JP',
    callIntro: '認証コードは',
    callRepeat: 'もう一度、認証コードは',
    callPressKey: '認証コードを聞くには、いずれかのキーを押してください。',
    callNoKey: 'キーが押されませんでした。失礼します。',
    emailSubject: '認証コード',
    emailBody: '認証コード:',
    emailIgnore: 'このコードに心当たりがない場合は、このメールを無視してください。',
  },
  ko: {
    sayLanguage: 'ko-KR',
    callIntro: '인증 코드는',
    callRepeat: '다시 한 번, 인증 코드는',
    callPressKey: '인증 코드를 들으시려면 아무 키나 누르세요.',
    callNoKey: '키가 눌리지 않았습니다. 안녕히 계세요.',
    emailSubject: '인증 코드',
    emailBody: '인증 코드:',
    emailIgnore: '이 코드를 요청하지 않았다면 이 메일을 무시하세요.',
  },
  zh: {
    sayLanguage: 'zh-CN',
    callIntro: '您的验证码是',
    callRepeat: '再说一遍，您的验证码是',
    callPressKey: '请按任意键收听您的验证码。',
    callNoKey: '未检测到按键。再见。',
    emailSubject: '您的验证码',
    emailBody: '您的验证码是',
    emailIgnore: '如果您没有请求此验证码，请忽略此邮件。',
  },
  'zh-Hant': {
    sayLanguage: 'zh-TW',
    callIntro: '您的驗證碼是',
    callRepeat: '再說一遍，您的驗證碼是',
    callPressKey: '請按任意鍵收聽您的驗證碼。',
    callNoKey: '未偵測到按鍵。再見。',
    emailSubject: '您的驗證碼',
    emailBody: '您的驗證碼是',
    emailIgnore: '如果您沒有要求此驗證碼，請忽略此郵件。',
  },
};

function phrasesFor(locale: string | undefined): Phrases {
  return PHRASES[negotiateLocale(locale)];
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * The call's TwiML: the code spoken digit by digit ("1, 2, 3"), then once more after a pause, so a person
 * who missed a digit hears it again. Digits only reach the XML, but everything is escaped anyway.
 */
export function callTwiml(code: string, locale: string | undefined): string {
  const p = phrasesFor(locale);
  const digits = code.split('').join(', ');
  const say = (text: string): string =>
    `<Say language="${escapeXml(p.sayLanguage)}">${escapeXml(text)}</Say>`;
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${say(`${p.callIntro} ${digits}.`)}<Pause length="1"/>${say(`${p.callRepeat} ${digits}.`)}</Response>`;
}

/**
 * The call's TwiML when a key press comes first: the prompt inside a `<Gather>` whose `action` (an absolute
 * URL: inline TwiML has no document URL) answers the code's TwiML ({@link callTwiml}) once a key arrives; the
 * code is not in this document. Without a key within 10 s the call says goodbye and ends.
 */
export function keyPressTwiml(actionUrl: string, locale: string | undefined): string {
  const p = phrasesFor(locale);
  const say = (text: string): string =>
    `<Say language="${escapeXml(p.sayLanguage)}">${escapeXml(text)}</Say>`;
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf" numDigits="1" timeout="10" method="POST" action="${escapeXml(actionUrl)}">${say(p.callPressKey)}</Gather>${say(p.callNoKey)}</Response>`;
}

export interface EmailContent {
  readonly subject: string;
  readonly plainText: string;
  readonly html: string;
}

export function emailContent(code: string, locale: string | undefined): EmailContent {
  const p = phrasesFor(locale);
  const lang = escapeXml(locale ?? 'en');
  return {
    subject: p.emailSubject,
    plainText: `${p.emailBody} ${code}\n\n${p.emailIgnore}`,
    html: `<!doctype html><html lang="${lang}"><body><p>${escapeXml(p.emailBody)} <strong style="font-size:1.4em;letter-spacing:0.2em">${escapeXml(code)}</strong></p><p>${escapeXml(p.emailIgnore)}</p></body></html>`,
  };
}
