import { z } from 'zod';
import { CommunicationUserId, Jwt } from '../acs/schemas';
import { bodyObject, isoDateTime, parseWith, text } from '../http/schema';

/**
 * The request and response shapes of the `/api/me` routes, one zod schema each; the token request
 * is shared with `/api/acs` (acs/schemas.ts).
 */

const MAX_RECIPIENTS = 100;
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;
const RECIPIENTS_MESSAGE = `must be an e-mail address or an array of 1 to ${MAX_RECIPIENTS} addresses`;
const ADDRESS_MESSAGE = 'must contain only e-mail addresses';

const Address = z
  .string({ error: ADDRESS_MESSAGE })
  .max(320, { error: ADDRESS_MESSAGE, abort: true })
  .regex(EMAIL, { error: ADDRESS_MESSAGE })
  .meta({ format: 'email' });

/** When neither form fits: a list of the right length (or one string) holds a bad address. */
function recipientsProblem({ input }: { readonly input?: unknown }): string {
  const count = typeof input === 'string' ? 1 : Array.isArray(input) ? input.length : 0;
  return count >= 1 && count <= MAX_RECIPIENTS ? ADDRESS_MESSAGE : RECIPIENTS_MESSAGE;
}

export const SendMailRequest = bodyObject({
  to: z.union(
    [
      Address,
      z
        .array(Address)
        .min(1, { error: RECIPIENTS_MESSAGE })
        .max(MAX_RECIPIENTS, { error: RECIPIENTS_MESSAGE }),
    ],
    { error: recipientsProblem },
  ),
  subject: text({ maxLength: 255 }),
  body: text({ maxLength: 10_000 }),
  contentType: text({ pattern: /^(Text|HTML)$/, patternMessage: 'must be Text or HTML' })
    .nullish()
    .meta({ enum: ['Text', 'HTML'], default: 'Text' }),
  saveToSentItems: z.boolean({ error: 'must be a boolean' }).default(true),
}).meta({ id: 'SendMailRequest' });

export interface SendMail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly body: string;
  readonly contentType: 'Text' | 'HTML';
  readonly saveToSentItems: boolean;
}

export function parseSendMail(value: unknown): SendMail {
  const { to, contentType, ...mail } = parseWith(SendMailRequest, value);
  return {
    ...mail,
    to: typeof to === 'string' ? [to] : to,
    contentType: contentType === 'HTML' ? 'HTML' : 'Text',
  };
}

export const SendMailAccepted = z
  .strictObject({ status: z.literal('accepted'), recipients: z.int().min(1) })
  .meta({ id: 'SendMailAccepted' });

export const MyAcsToken = z
  .strictObject({
    communicationUserId: CommunicationUserId,
    token: Jwt,
    expiresOn: isoDateTime,
    identityCreated: z
      .boolean()
      .meta({ description: 'True when this call created your ACS identity.' }),
  })
  .meta({ id: 'MyAcsToken' });

export const MyAcsRevoked = z
  .strictObject({
    communicationUserId: CommunicationUserId,
    revoked: z.literal(true),
    note: z.string(),
  })
  .meta({ id: 'MyAcsRevoked' });

export const GraphResource = z.looseObject({}).meta({
  id: 'GraphResource',
  description: 'Microsoft Graph JSON, relayed as Graph answered it.',
});
