/**
 * Twilio Content templates as the Messages API uses them (`ContentSid` + `ContentVariables`): the approved
 * WhatsApp templates a business may send outside a conversation window. The emulator knows a fixed set
 * (sid → text with `{{1}}`-style placeholders) and renders the message body from the variables.
 */

/** The emulator's approved authentication template, like Twilio's `verification code` WhatsApp template. */
export const DEFAULT_CONTENT_SID = 'HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
export const DEFAULT_CONTENT_TEMPLATES: Readonly<Record<string, string>> = {
  [DEFAULT_CONTENT_SID]:
    '{{1}} is your verification code. For your security, do not share this code.',
};
/** Twilio's WhatsApp sandbox sender. */
export const DEFAULT_WHATSAPP_SENDER = '+14155238886';
export const WHATSAPP_PREFIX = 'whatsapp:';

export type Rendered =
  { readonly body: string } | { readonly code: number; readonly message: string };

/** The body of a message sent with `ContentSid`, or Twilio's error for a bad sid or bad variables. */
export function renderContent(
  templates: Readonly<Record<string, string>>,
  contentSid: string,
  variablesJson: string | null,
): Rendered {
  const template = templates[contentSid];
  if (template === undefined) return { code: 21655, message: 'The ContentSid is Invalid.' };
  let variables: unknown = {};
  if (variablesJson !== null && variablesJson !== '') {
    try {
      variables = JSON.parse(variablesJson) as unknown;
    } catch {
      variables = undefined;
    }
  }
  if (
    typeof variables !== 'object' ||
    variables === null ||
    Array.isArray(variables) ||
    !Object.values(variables).every((v) => typeof v === 'string')
  ) {
    return { code: 21656, message: 'The ContentVariables Parameter is invalid.' };
  }
  const values = variables as Record<string, string>;
  return { body: template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole) };
}
