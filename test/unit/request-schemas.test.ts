/**
 * The request schemas answer as the hand-written parsers they replaced did: the same accepted values,
 * and for bad input the same field problems, word for word (the `detail` of the 400 joins them). The
 * expectations were recorded from the parsers before the zod rewrite. Also: every example in the
 * OpenAPI document passes the schema it illustrates.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ValidationError } from '../../src/errors';
import {
  parseCommunicationUserId,
  parseCreateIdentityRequest,
  parseTeamsTokenRequest,
  parseTokenRequest,
} from '../../src/acs/schemas';
import { parseSendMail } from '../../src/me/schemas';
import { buildOpenApiDocument } from '../../src/openapi/document';
import {
  parseCodeSubmission,
  parseEventAnswer,
  parseStartRequest,
} from '../../src/verification/schemas';

type Json = Record<string, unknown>;

/** `{ ok: value }`, or the ValidationError's message (`field: message; field: message`). */
function outcome(parse: (value: unknown) => unknown, input: unknown): unknown {
  try {
    return { ok: parse(input) };
  } catch (error) {
    if (error instanceof ValidationError) return error.message;
    throw error;
  }
}

const NOT_OBJECT = 'body: must be a JSON object';

describe('the start request', () => {
  const SMS_ONLY = { channel: 'sms', fallback: [], email: undefined };
  const LOCALE = 'locale: must be a BCP 47 language tag such as "ko" or "pt-BR"';
  it.each<[unknown, unknown]>([
    ['+14255550100', { ok: { phoneNumber: '+14255550100', locale: undefined, ...SMS_ONLY } }],
    // Anything but an object is the number itself: the guard's phone policy judges it.
    [14255550100, { ok: { phoneNumber: 14255550100, locale: undefined, ...SMS_ONLY } }],
    [{}, { ok: { phoneNumber: undefined, locale: undefined, ...SMS_ONLY } }],
    [
      { phoneNumber: 'x', locale: 'ko-kr' },
      { ok: { phoneNumber: 'x', locale: 'ko-KR', ...SMS_ONLY } },
    ],
    [
      { phoneNumber: 1, locale: 'ZH-hant-tw' },
      { ok: { phoneNumber: 1, locale: 'zh-Hant-TW', ...SMS_ONLY } },
    ],
    [
      { phoneNumber: '+1', locale: null },
      { ok: { phoneNumber: '+1', locale: undefined, ...SMS_ONLY } },
    ],
    [{ phoneNumber: '+1', locale: '' }, LOCALE],
    [{ phoneNumber: '+1', locale: 5 }, LOCALE],
    [{ phoneNumber: '+1', locale: 'x'.repeat(36) }, LOCALE],
    [{ phoneNumber: '+1', locale: 'not a tag!' }, LOCALE],
    [{ locale: 'i-klingon' }, LOCALE],
    [{ phoneNumber: '+1', lang: 'ko' }, 'lang: is not a known property'],
    [{ lang: 'ko', pad: 1 }, 'lang: is not a known property; pad: is not a known property'],
    [
      {
        phoneNumber: '+1',
        fallback: [{ channel: 'whatsapp' }, { channel: 'email', afterSeconds: 30 }],
        email: 'a@b.io',
      },
      {
        ok: {
          phoneNumber: '+1',
          locale: undefined,
          channel: 'whatsapp',
          fallback: [{ channel: 'email', afterSeconds: 30 }],
          email: 'a@b.io',
        },
      },
    ],
    [
      { phoneNumber: '+1', channel: 'fax' },
      'channel: must be one of sms, call, whatsapp, email, auto',
    ],
    [{ phoneNumber: '+1', channel: 'email' }, 'email: required for the email channel'],
  ])('%j → %j', (input, expected) => {
    expect(outcome(parseStartRequest, input)).toEqual(expected);
  });
});

describe('the code, in an object and bare', () => {
  const CODE = 'must be a string of 4-10 digits or a non-negative integer';
  it.each<[unknown, unknown]>([
    [{ code: '012345' }, { ok: '012345' }],
    [{ code: 12345 }, { ok: 12345 }],
    [{ code: 9999999999 }, { ok: 9999999999 }],
    [null, NOT_OBJECT],
    [[], NOT_OBJECT],
    [{}, 'code: required'],
    [{ code: null }, 'code: required'],
    [{ code: -1 }, `code: ${CODE}`],
    [{ code: 1.5 }, `code: ${CODE}`],
    [{ code: '123' }, `code: ${CODE}`],
    [{ code: 1e10 }, `code: ${CODE}`],
    [{ code: true }, `code: ${CODE}`],
    [{ code: ' 1234' }, `code: ${CODE}`],
    [{ code: '0123', extra: 1 }, 'extra: is not a known property'],
    [{ extra: 1 }, 'extra: is not a known property; code: required'],
    [
      { code: 'x', a: 1, b: 2 },
      `a: is not a known property; b: is not a known property; code: ${CODE}`,
    ],
  ])('submitted %j → %j', (input, expected) => {
    expect(outcome(parseCodeSubmission, input)).toEqual(expected);
  });

  it.each<[unknown, unknown]>([
    ['012345', { ok: '012345' }],
    [2168, { ok: 2168 }],
    ['0000', { ok: '0000' }],
    [null, `body: ${CODE}`],
    [{ code: '1234' }, `body: ${CODE}`],
    ['12345678901', `body: ${CODE}`],
    [1e300, `body: ${CODE}`],
    ['１２３４', `body: ${CODE}`],
  ])('raised %j → %j', (input, expected) => {
    expect(outcome(parseEventAnswer, input)).toEqual(expected);
  });
});

describe('the ACS token requests', () => {
  const SCOPES =
    'must be a non-empty array of: chat, voip, chat.join, chat.join.limited, voip.join';
  const EACH_SCOPE =
    'each scope must be one of: chat, voip, chat.join, chat.join.limited, voip.join';
  const MINUTES = 'expiresInMinutes: must be an integer in 60..1440';
  const GUID_A = '00000000-0000-4000-8000-000000000001';
  const GUID_B = '00000000-0000-4000-8000-000000000002';
  it.each<[unknown, unknown]>([
    [{ scopes: ['chat'] }, { ok: { scopes: ['chat'], expiresInMinutes: undefined } }],
    [
      { scopes: ['chat', 'voip'], expiresInMinutes: 60 },
      { ok: { scopes: ['chat', 'voip'], expiresInMinutes: 60 } },
    ],
    [
      { scopes: ['chat'], expiresInMinutes: null },
      { ok: { scopes: ['chat'], expiresInMinutes: undefined } },
    ],
    ['x', NOT_OBJECT],
    [{}, 'scopes: required'],
    [{ scopes: null }, 'scopes: required'],
    [{ scopes: [] }, `scopes: ${SCOPES}`],
    [{ scopes: 'chat' }, `scopes: ${SCOPES}`],
    [{ scopes: ['nope'] }, `scopes: ${EACH_SCOPE}`],
    [{ scopes: ['chat', 5] }, `scopes: ${EACH_SCOPE}`],
    [{ scopes: ['chat', 'chat'] }, 'scopes: must not contain duplicates'],
    [{ scopes: ['chat'], expiresInMinutes: 59 }, MINUTES],
    [{ scopes: ['chat'], expiresInMinutes: 60.5 }, MINUTES],
    [{ scopes: ['chat'], expiresInMinutes: '60' }, MINUTES],
    [{ scopes: ['chat'], expiresInMinutes: 1e300 }, MINUTES],
    [
      { scope: ['chat'], expiresInMinutes: 1, other: true },
      `scope: is not a known property; other: is not a known property; scopes: required; ${MINUTES}`,
    ],
  ])('token %j → %j', (input, expected) => {
    expect(outcome(parseTokenRequest, input)).toEqual(expected);
  });

  it.each<[unknown, unknown]>([
    [undefined, { ok: {} }],
    [null, { ok: {} }],
    [
      { scopes: ['chat'], expiresInMinutes: 120 },
      { ok: { scopes: ['chat'], expiresInMinutes: 120 } },
    ],
    [{ scopes: null, expiresInMinutes: 120 }, { ok: { expiresInMinutes: 120 } }],
    [[], NOT_OBJECT],
    [{ expiresInMinutes: 120 }, 'expiresInMinutes: only applies together with scopes'],
    [{ expiresInMinutes: 5 }, MINUTES],
    [
      { scope: ['chat'], expiresInMinutes: 120 },
      'scope: is not a known property; expiresInMinutes: only applies together with scopes',
    ],
    [
      { scopes: ['voip', 'voip'], expiresInMinutes: 'x', z: 1 },
      `z: is not a known property; scopes: must not contain duplicates; ${MINUTES}`,
    ],
    [{ scopes: [], expiresInMinutes: 5 }, `scopes: ${SCOPES}; ${MINUTES}`],
  ])('identity %j → %j', (input, expected) => {
    expect(outcome(parseCreateIdentityRequest, input)).toEqual(expected);
  });

  it.each<[unknown, string | undefined, unknown]>([
    [
      { teamsUserAadToken: 'a.b.c', userObjectId: GUID_A },
      GUID_B,
      { ok: { teamsUserAadToken: 'a.b.c', clientId: GUID_B, userObjectId: GUID_A } },
    ],
    [{ teamsUserAadToken: 'a.b.c', userObjectId: GUID_A }, undefined, 'clientId: required'],
    [{}, undefined, 'teamsUserAadToken: required; clientId: required; userObjectId: required'],
    [{}, GUID_B, 'teamsUserAadToken: required; userObjectId: required'],
    [
      { teamsUserAadToken: '', clientId: 'nope', userObjectId: 5 },
      GUID_B,
      'teamsUserAadToken: must be a non-empty string; clientId: must be a GUID; userObjectId: must be a non-empty string',
    ],
    [
      { teamsUserAadToken: '   ', clientId: null, userObjectId: null },
      GUID_B,
      'teamsUserAadToken: must be a non-empty string; clientId: required; userObjectId: required',
    ],
    [
      { teamsUserAadToken: `a.b.${'c'.repeat(9000)}`, userObjectId: 'x' },
      undefined,
      'teamsUserAadToken: must be at most 8192 characters; clientId: required; userObjectId: must be a GUID',
    ],
    [
      { teamsUserAadToken: 'x', clientId: GUID_B, userObjectId: 'x'.repeat(5000) },
      undefined,
      'teamsUserAadToken: must be an Entra ID access token (JWT); userObjectId: must be at most 4096 characters',
    ],
  ])('teams %j (default client %s) → %j', (input, defaultClientId, expected) => {
    expect(outcome((v) => parseTeamsTokenRequest(v, defaultClientId), input)).toEqual(expected);
  });

  it.each<[string, unknown]>([
    ['8:acs:abc_def', { ok: '8:acs:abc_def' }],
    ['x', 'communicationUserId: must be an ACS identity id (8:acs:<resource>_<user>)'],
    [
      `8:acs:${'a'.repeat(65)}_b`,
      'communicationUserId: must be an ACS identity id (8:acs:<resource>_<user>)',
    ],
  ])('identity id %s → %j', (input, expected) => {
    expect(outcome((v) => parseCommunicationUserId(v as string), input)).toEqual(expected);
  });
});

describe('the mail request', () => {
  const RECIPIENTS = 'to: must be an e-mail address or an array of 1 to 100 addresses';
  const ADDRESSES = 'to: must contain only e-mail addresses';
  const addresses = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => `a${i}@example.com`);
  const mail = { subject: 'Hi', body: 'Hello' };
  it.each<[unknown, unknown]>([
    [
      { to: 'a@example.com', ...mail },
      {
        ok: { to: ['a@example.com'], ...mail, contentType: 'Text', saveToSentItems: true },
      },
    ],
    [
      { to: ['a@example.com'], ...mail, contentType: 'HTML', saveToSentItems: false },
      {
        ok: { to: ['a@example.com'], ...mail, contentType: 'HTML', saveToSentItems: false },
      },
    ],
    [{}, `${RECIPIENTS}; subject: required; body: required`],
    [{ to: [], ...mail }, RECIPIENTS],
    [{ to: addresses(101), ...mail }, RECIPIENTS],
    [{ to: 'nope', ...mail }, ADDRESSES],
    [{ to: ['a@example.com', 5], ...mail }, ADDRESSES],
    [{ to: ['a@example.com', null], ...mail }, ADDRESSES],
    [{ to: `${'x'.repeat(320)}@example.com`, ...mail }, ADDRESSES],
    [
      { to: 5, subject: '', body: '' },
      `${RECIPIENTS}; subject: must be a non-empty string; body: must be a non-empty string`,
    ],
    [
      { to: 'a@example.com', subject: 'x'.repeat(256), body: 'x'.repeat(10001) },
      'subject: must be at most 255 characters; body: must be at most 10000 characters',
    ],
    [{ to: 'a@example.com', ...mail, contentType: 'text' }, 'contentType: must be Text or HTML'],
    [
      { to: 'a@example.com', ...mail, contentType: '', saveToSentItems: 'yes' },
      'contentType: must be a non-empty string; saveToSentItems: must be a boolean',
    ],
    [{ to: 'a@example.com', ...mail, saveToSentItems: null }, 'saveToSentItems: must be a boolean'],
    [{ to: 'a@example.com', ...mail, cc: 'b@example.com' }, 'cc: is not a known property'],
  ])('%j → %j', (input, expected) => {
    expect(outcome(parseSendMail, input)).toEqual(expected);
  });

  it('reports one problem per field: the first rule a field breaks', () => {
    // The hand-written parser listed both problems of `to` here.
    expect(outcome(parseSendMail, { to: [...addresses(100), 'bad'], ...mail })).toBe(RECIPIENTS);
  });
});

describe('the OpenAPI document examples', () => {
  const doc = buildOpenApiDocument();
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  const media = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(
    ([path, item]) =>
      Object.entries(item).flatMap(([method, op]) => {
        const body = (op.requestBody as Json | undefined)?.content as
          Record<string, Json> | undefined;
        const responses = Object.values(op.responses as Record<string, Json>).map(
          (r) => (r.content ?? {}) as Record<string, Json>,
        );
        return [body ?? {}, ...responses].flatMap((content) =>
          Object.values(content).map((m) => ({ where: `${method} ${path}`, media: m })),
        );
      }),
  );

  it('match the schemas they illustrate', () => {
    let checked = 0;
    for (const { where, media: m } of media) {
      const examples = [
        ...(m.example === undefined ? [] : [m.example]),
        ...Object.values((m.examples ?? {}) as Record<string, { value: unknown }>).map(
          (e) => e.value,
        ),
      ];
      const validate = ajv.compile({ ...(m.schema as Json), components: doc.components });
      for (const example of examples) {
        checked += 1;
        expect({ where, example, valid: validate(example) }).toEqual({
          where,
          example,
          valid: true,
        });
      }
    }
    expect(checked).toBeGreaterThan(25);
  });
});
