import { Fields } from '../http/parse';

/** The request bodies of the `/api/me` endpoints; the token request is shared with `/api/acs` (acs/parse.ts). */

const MAX_RECIPIENTS = 100;
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

export interface SendMail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly body: string;
  readonly contentType: 'Text' | 'HTML';
  readonly saveToSentItems: boolean;
}

export function parseSendMail(value: unknown): SendMail {
  const f = new Fields();
  const body = f.object(value);
  f.noUnknown(body, ['to', 'subject', 'body', 'contentType', 'saveToSentItems']);
  const rawTo = body['to'];
  const list: unknown[] =
    typeof rawTo === 'string' ? [rawTo] : Array.isArray(rawTo) ? (rawTo as unknown[]) : [];
  const to: string[] = [];
  if (list.length === 0 || list.length > MAX_RECIPIENTS) {
    f.add('to', `must be an e-mail address or an array of 1 to ${MAX_RECIPIENTS} addresses`);
  }
  for (const address of list) {
    if (typeof address !== 'string' || address.length > 320 || !EMAIL.test(address)) {
      f.add('to', 'must contain only e-mail addresses');
      break;
    }
    to.push(address);
  }
  const subject = f.requiredString(body, 'subject', { maxLength: 255 });
  const content = f.requiredString(body, 'body', { maxLength: 10_000 });
  const contentType = f.optionalString(body, 'contentType', {
    pattern: /^(Text|HTML)$/,
    patternMessage: 'must be Text or HTML',
  });
  const save = body['saveToSentItems'];
  if (save !== undefined && typeof save !== 'boolean')
    f.add('saveToSentItems', 'must be a boolean');
  f.throwIfAny();
  return {
    to,
    subject,
    body: content,
    contentType: contentType === 'HTML' ? 'HTML' : 'Text',
    saveToSentItems: save !== false,
  };
}
