import crypto from 'node:crypto';
import type http from 'node:http';
import { isRecord, parseJsonBody, queryOf, readBody, sendEmpty, sendJson } from '../common/http';
import {
  decodeJwt,
  numberClaim,
  stringClaim,
  verifySignature,
  type SigningKey,
} from '../common/jwt';

/**
 * A small stand-in for Microsoft Graph v1.0 (`me`, `me/messages`, `me/sendMail`), reached through the sidecar
 * emulator's `graph` downstream API. It accepts only access tokens the sidecar emulator minted for Graph, and
 * answers errors in Graph's `{"error":{"code","message","innerError"}}` shape.
 */

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export interface SentMail {
  id: string;
  from: string;
  subject: string;
  to: string[];
  bodyContentType: string;
  body: string;
  sentDateTime: string;
  saveToSentItems: boolean;
}

interface MailMessage {
  id: string;
  subject: string;
  body: { contentType: string; content: string };
  from: { emailAddress: { name: string; address: string } };
  toRecipients: { emailAddress: { name: string; address: string } }[];
  receivedDateTime: string;
  isRead: boolean;
}

export interface FakeGraph {
  handle(req: http.IncomingMessage, res: http.ServerResponse, subPath: string): Promise<void>;
  sent(): SentMail[];
  reset(): void;
}

function graphError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  now: () => number,
): void {
  const requestId = crypto.randomUUID();
  sendJson(res, status, {
    error: {
      code,
      message,
      innerError: {
        date: new Date(now()).toISOString().replace(/\.\d{3}Z$/, ''),
        'request-id': requestId,
        'client-request-id': requestId,
      },
    },
  });
}

const READ_USER = [
  'User.Read',
  'User.ReadWrite',
  'User.ReadBasic.All',
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
];
const READ_MAIL = ['Mail.Read', 'Mail.ReadBasic', 'Mail.ReadWrite'];
const SEND_MAIL = ['Mail.Send'];

/** The default sign-in name of an emulated user without one: the whole object id, so no two users share it. */
export function defaultUserPrincipalName(oid: string, kind: 'user' | 'agent' = 'user'): string {
  return `${kind}-${oid}@emulator.onmicrosoft.com`;
}

function addressOf(claims: Record<string, unknown>): string {
  const upn =
    stringClaim(claims, 'upn') ??
    stringClaim(claims, 'unique_name') ??
    stringClaim(claims, 'preferred_username');
  return upn ?? defaultUserPrincipalName(stringClaim(claims, 'oid') ?? 'unknown');
}

/**
 * Whose mailbox a token opens: the user's object id within its tenant, as in Graph. Names and addresses are
 * not identities (two users may share a display name, and the default address is only derived from the oid).
 */
function ownerOf(claims: Record<string, unknown>): string {
  return `${stringClaim(claims, 'tid') ?? 'unknown'}/${stringClaim(claims, 'oid') ?? 'unknown'}`;
}

export function createFakeGraph(key: SigningKey, now: () => number): FakeGraph {
  /** Mailboxes by owner (`tid/oid`). */
  let mailboxes = new Map<string, MailMessage[]>();
  /** Which owner an address belongs to, learned from the tokens that used it. */
  let owners = new Map<string, string>();
  /** Mail delivered to an address no token has used yet; its owner takes it over on first use. */
  let undelivered = new Map<string, MailMessage[]>();
  let sent: SentMail[] = [];

  /** The mailbox of the token's user (created, seeded, on first use). */
  const ownMailbox = (claims: Record<string, unknown>): MailMessage[] => {
    const owner = ownerOf(claims);
    const address = addressOf(claims);
    const addressKey = address.toLowerCase();
    if (!owners.has(addressKey)) owners.set(addressKey, owner);
    let box = mailboxes.get(owner);
    if (box === undefined) {
      // Every mailbox starts with a few messages so `me/messages` has something to page through.
      const base = now();
      box = [1, 2, 3].map((n) => ({
        id: `AAMkAGemu${crypto.randomBytes(12).toString('base64url')}`,
        subject: `Welcome message ${n}`,
        body: {
          contentType: 'text',
          content: `This is seeded message ${n} in the emulated mailbox.`,
        },
        from: { emailAddress: { name: 'Emulator', address: 'noreply@emulator.onmicrosoft.com' } },
        toRecipients: [{ emailAddress: { name: address, address } }],
        receivedDateTime: new Date(base - n * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        isRead: n > 1,
      }));
      if (owners.get(addressKey) === owner) {
        box.push(...(undelivered.get(addressKey) ?? []));
        undelivered.delete(addressKey);
      }
      mailboxes.set(owner, box);
    }
    return box;
  };

  /** Where mail to `address` goes: its owner's mailbox, or held until a user with that address appears. */
  const deliveryBox = (address: string): MailMessage[] => {
    const key = address.toLowerCase();
    const owner = owners.get(key);
    const box = owner === undefined ? undefined : mailboxes.get(owner);
    if (box !== undefined) return box;
    let held = undelivered.get(key);
    if (held === undefined) {
      held = [];
      undelivered.set(key, held);
    }
    return held;
  };

  /** Returns the token claims, or answers 401 the way Graph does and returns undefined. */
  const authenticate = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Record<string, unknown> | undefined => {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/i.exec(auth);
    if (m === null || m[1] === undefined) {
      graphError(res, 401, 'InvalidAuthenticationToken', 'Access token is empty.', now);
      return undefined;
    }
    const decoded = decodeJwt(m[1]);
    if (decoded === undefined) {
      graphError(res, 401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed.', now);
      return undefined;
    }
    if (!verifySignature(decoded, [key.publicKey])) {
      graphError(
        res,
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid signature.',
        now,
      );
      return undefined;
    }
    const claims = decoded.payload;
    const aud = claims['aud'];
    if (aud !== GRAPH_RESOURCE && aud !== `${GRAPH_RESOURCE}/` && aud !== GRAPH_APP_ID) {
      graphError(
        res,
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
        now,
      );
      return undefined;
    }
    const exp = numberClaim(claims, 'exp');
    if (exp === undefined || exp * 1000 <= now()) {
      graphError(
        res,
        401,
        'InvalidAuthenticationToken',
        'Lifetime validation failed, the token is expired.',
        now,
      );
      return undefined;
    }
    return claims;
  };

  const scopesOf = (claims: Record<string, unknown>): string[] =>
    (stringClaim(claims, 'scp') ?? '').split(' ').filter((s) => s !== '');

  const requireDelegated = (
    claims: Record<string, unknown>,
    res: http.ServerResponse,
    accepted: readonly string[],
    code: string,
    message: string,
  ): boolean => {
    if (stringClaim(claims, 'scp') === undefined) {
      graphError(
        res,
        400,
        'BadRequest',
        '/me request is only valid with delegated authentication flow.',
        now,
      );
      return false;
    }
    if (!scopesOf(claims).some((s) => accepted.includes(s))) {
      graphError(res, 403, code, message, now);
      return false;
    }
    return true;
  };

  const me = (claims: Record<string, unknown>, res: http.ServerResponse): void => {
    const name = stringClaim(claims, 'name') ?? 'Emulated User';
    const [given, ...rest] = name.split(' ');
    const address = addressOf(claims);
    sendJson(res, 200, {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity',
      businessPhones: [],
      displayName: name,
      givenName: given ?? null,
      jobTitle: null,
      mail: address,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: rest.length > 0 ? rest.join(' ') : null,
      userPrincipalName: address,
      id: stringClaim(claims, 'oid') ?? null,
    });
  };

  const messages = (
    claims: Record<string, unknown>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): void => {
    const q = queryOf(req);
    const topRaw = q.get('$top') ?? q.get('top');
    let top = 10;
    if (topRaw !== null) {
      if (!/^\d+$/.test(topRaw) || Number(topRaw) < 1 || Number(topRaw) > 1000) {
        graphError(
          res,
          400,
          'BadRequest',
          `Invalid value '${topRaw.slice(0, 20)}' for query option $top; it must be an integer between 1 and 1000.`,
          now,
        );
        return;
      }
      top = Number(topRaw);
    }
    const box = [...ownMailbox(claims)].sort((a, b) =>
      b.receivedDateTime.localeCompare(a.receivedDateTime),
    );
    const page = box.slice(0, top);
    const body: Record<string, unknown> = {
      '@odata.context': "https://graph.microsoft.com/v1.0/$metadata#users('me')/messages",
      value: page.map((m) => ({
        '@odata.etag': `W/"${crypto.createHash('sha1').update(m.id).digest('base64').slice(0, 20)}"`,
        id: m.id,
        createdDateTime: m.receivedDateTime,
        receivedDateTime: m.receivedDateTime,
        subject: m.subject,
        bodyPreview: m.body.content.slice(0, 255),
        importance: 'normal',
        isRead: m.isRead,
        body: m.body,
        from: m.from,
        toRecipients: m.toRecipients,
      })),
    };
    if (box.length > top)
      body['@odata.nextLink'] =
        `https://graph.microsoft.com/v1.0/me/messages?$top=${top}&$skip=${top}`;
    sendJson(res, 200, body);
  };

  const sendMail = async (
    claims: Record<string, unknown>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(await readBody(req));
    } catch {
      graphError(
        res,
        400,
        'BadRequest',
        'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
        now,
      );
      return;
    }
    const message = isRecord(parsed) ? parsed['message'] : undefined;
    if (!isRecord(message)) {
      graphError(res, 400, 'ErrorInvalidRequest', "The 'message' property is required.", now);
      return;
    }
    const recipients = message['toRecipients'];
    const to = Array.isArray(recipients)
      ? recipients.map((r) =>
          isRecord(r) && isRecord(r['emailAddress']) ? r['emailAddress']['address'] : undefined,
        )
      : [];
    if (
      to.length === 0 ||
      !to.every((a): a is string => typeof a === 'string' && /^[^@\s]+@[^@\s]+$/.test(a))
    ) {
      graphError(
        res,
        400,
        'ErrorInvalidRecipients',
        "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
        now,
      );
      return;
    }
    const body = isRecord(message['body']) ? message['body'] : {};
    const from = addressOf(claims);
    const mail: SentMail = {
      id: crypto.randomUUID(),
      from,
      subject: typeof message['subject'] === 'string' ? message['subject'] : '',
      to,
      bodyContentType: typeof body['contentType'] === 'string' ? body['contentType'] : 'text',
      body: typeof body['content'] === 'string' ? body['content'] : '',
      sentDateTime: new Date(now()).toISOString(),
      saveToSentItems: isRecord(parsed) && parsed['saveToSentItems'] !== false,
    };
    sent.push(mail);
    // Mail to a mailbox this fake knows (including the sender's own) is delivered, so a send/read round trip works.
    ownMailbox(claims);
    for (const address of to) {
      deliveryBox(address).push({
        id: `AAMkAGemu${crypto.randomBytes(12).toString('base64url')}`,
        subject: mail.subject,
        body: { contentType: mail.bodyContentType, content: mail.body },
        from: { emailAddress: { name: stringClaim(claims, 'name') ?? from, address: from } },
        toRecipients: to.map((a) => ({ emailAddress: { name: a, address: a } })),
        receivedDateTime: new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        isRead: false,
      });
    }
    sendEmpty(res, 202);
  };

  /** The `/me` routes: the verb each answers, the delegated permissions it needs and Graph's refusal without them. */
  const accessDenied = [
    'ErrorAccessDenied',
    'Access is denied. Check credentials and try again.',
  ] as const;
  const routes: Readonly<
    Record<
      string,
      {
        method: string;
        permissions: readonly string[];
        denied: readonly [code: string, message: string];
        run: (
          claims: Record<string, unknown>,
          req: http.IncomingMessage,
          res: http.ServerResponse,
        ) => void | Promise<void>;
      }
    >
  > = {
    '/me': {
      method: 'GET',
      permissions: READ_USER,
      denied: ['Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'],
      run: (claims, _req, res) => me(claims, res),
    },
    '/me/messages': { method: 'GET', permissions: READ_MAIL, denied: accessDenied, run: messages },
    '/me/sendmail': { method: 'POST', permissions: SEND_MAIL, denied: accessDenied, run: sendMail },
  };

  return {
    handle: async (req, res, subPath) => {
      const claims = authenticate(req, res);
      if (claims === undefined) return;
      const method = req.method ?? 'GET';
      const path = subPath.replace(/\/+$/, '').toLowerCase();
      const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
      if (route !== undefined) {
        if (method !== route.method) {
          graphError(
            res,
            405,
            'Request_BadRequest',
            `Specified HTTP method is not allowed for the request uri.`,
            now,
          );
          return;
        }
        if (requireDelegated(claims, res, route.permissions, ...route.denied))
          await route.run(claims, req, res);
        return;
      }
      const segment =
        subPath
          .split('/')
          .filter((s) => s !== '')
          .pop() ?? '';
      graphError(
        res,
        400,
        'BadRequest',
        `Resource not found for the segment '${segment.slice(0, 60)}'.`,
        now,
      );
    },
    sent: () => sent.map((m) => ({ ...m, to: [...m.to] })),
    reset: () => {
      mailboxes = new Map();
      owners = new Map();
      undelivered = new Map();
      sent = [];
    },
  };
}
