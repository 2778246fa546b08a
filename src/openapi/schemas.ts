/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the bodies the app's routes send and accept.
 * Rules that exist in code are imported, not restated: the E.164 pattern, the ACS scopes and token
 * lifetimes, the verification states.
 */
import { GUARD_REASONS } from '../verification/guard/errors';
import { LINK_PURPOSES } from '../verification/links';
import {
  CODE_LENGTH_RANGE,
  E164_PATTERN,
  SMS_LOCALES,
  VERIFICATION_STATES,
} from '../verification/rules';
import { ACS_SCOPES, TOKEN_MINUTES_RANGE } from '../acs/model';
import type { AppErrorCode } from '../errors';

/** A JSON Schema object; kept open because OpenAPI allows every JSON Schema keyword. */
export type Schema = { readonly [keyword: string]: unknown };

/** A reference to one of `SCHEMAS` (the document validation in the tests catches a dangling one). */
export const ref = (name: string): Schema => ({
  $ref: `#/components/schemas/${name}`,
});

/** The app's machine-readable error codes (`code` member of problem documents). */
const APP_ERROR_CODES: readonly AppErrorCode[] = [
  'validation_failed',
  'unauthenticated',
  'forbidden',
  'not_found',
  'gone',
  'conflict',
  'payload_too_large',
  'rate_limited',
  'upstream_failed',
  'upstream_unavailable',
  'upstream_timeout',
];

/** A code as `isWellFormedCode` accepts it: a string of code-length digits, or a non-negative integer. */
const CODE: Schema = {
  oneOf: [
    { type: 'string', pattern: `^\\d{${CODE_LENGTH_RANGE.min},${CODE_LENGTH_RANGE.max}}$` },
    { type: 'integer', minimum: 0, maximum: 10 ** CODE_LENGTH_RANGE.max - 1 },
  ],
};

/** One capability link per purpose (`LINK_PURPOSES`); each carries its own `token`. */
const LINK: Schema = {
  type: 'string',
  format: 'uri',
  description: 'A capability link: opens one operation on this verification through its `token`.',
};

const ISO_DATE_TIME: Schema = { type: 'string', format: 'date-time' };
const ACS_USER_ID: Schema = {
  type: 'string',
  pattern: '^8:acs:[A-Za-z0-9-]{1,64}_[A-Za-z0-9-]{1,64}$',
  examples: ['8:acs:00000000-0000-4000-8000-00000000ac50_00000001-aaaa-bbbb-cccc-0123456789ab'],
};
const ACS_SCOPE_LIST: Schema = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', enum: [...ACS_SCOPES] },
};
const EXPIRES_IN_MINUTES: Schema = {
  type: 'integer',
  minimum: TOKEN_MINUTES_RANGE.min,
  maximum: TOKEN_MINUTES_RANGE.max,
};
const JWT: Schema = { type: 'string', pattern: '^[\\w-]+\\.[\\w-]+\\.[\\w-]*$' };

export const SCHEMAS = {
  Problem: {
    type: 'object',
    description:
      'RFC 9457 problem details. Errors of the app carry a stable `code`; the host (missing key, unknown route, body too large, overload) answers with `type: about:blank` and no `code`.',
    required: ['type', 'title', 'status'],
    properties: {
      type: { type: 'string', examples: ['urn:sms-verification:problem:not-found'] },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: { type: 'string', enum: [...APP_ERROR_CODES] },
      reason: {
        type: 'string',
        enum: Object.values(GUARD_REASONS),
        description:
          'The fraud guard rule that refused (with `validation_failed`, `forbidden`, `rate_limited` or `upstream_unavailable`).',
      },
      instance: { type: 'string' },
      errors: {
        type: 'array',
        description: 'One entry per invalid field (validation_failed).',
        items: {
          type: 'object',
          required: ['field', 'message'],
          properties: { field: { type: 'string' }, message: { type: 'string' } },
        },
      },
      blocked: {
        type: 'string',
        enum: ['prefix', 'country'],
        description: 'With `reason: conversion_blocked`: what the fraud guard blocked.',
      },
      service: { type: 'string', description: 'The upstream service that failed (5xx).' },
      invocationId: { type: 'string', description: 'Correlates a 500 with the host log.' },
    },
  },
  PhoneNumber: {
    type: 'string',
    pattern: E164_PATTERN.source,
    description: 'E.164: + and 8 to 15 digits.',
    examples: ['+14255550100'],
  },
  StartVerificationRequest: {
    description: 'The phone number as a JSON string, or an object with `phoneNumber`.',
    oneOf: [
      ref('PhoneNumber'),
      {
        type: 'object',
        required: ['phoneNumber'],
        additionalProperties: false,
        properties: {
          phoneNumber: ref('PhoneNumber'),
          locale: {
            type: 'string',
            minLength: 1,
            maxLength: 35,
            description: `A BCP 47 language tag for the SMS text; negotiated to one of ${SMS_LOCALES.join(', ')} (else en).`,
            examples: ['ko'],
          },
        },
      },
    ],
  },
  VerificationLinks: {
    type: 'object',
    description: `The anonymous start answer, in the Durable management payload's shape but with capability links instead of host URLs: each opens one operation (${LINK_PURPOSES.join(', ')}) on this one verification through its \`token\` query parameter, and none carries a host key. \`sendEventPostUri\` keeps a literal \`{eventName}\` (\`SmsChallengeResponse\`).`,
    required: [
      'id',
      'statusQueryGetUri',
      'sendEventPostUri',
      'terminatePostUri',
      'purgeHistoryDeleteUri',
      'resendPostUri',
    ],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      statusQueryGetUri: { ...LINK, description: 'GET: the Durable-shaped status.' },
      sendEventPostUri: {
        // No `format: uri`: the literal `{eventName}` is a template, not a valid URI yet.
        type: 'string',
        description:
          'A capability link: POST the bare code with `{eventName}` = `SmsChallengeResponse`.',
      },
      terminatePostUri: { ...LINK, description: 'POST: cancel the verification.' },
      purgeHistoryDeleteUri: { ...LINK, description: 'DELETE: erase a finished verification.' },
      resendPostUri: { ...LINK, description: 'POST: text a new code.' },
    },
  },
  TrustedStart: {
    description:
      'The Durable management payload (system key: for trusted callers only) plus the capability links.',
    allOf: [
      ref('CheckStatus'),
      {
        type: 'object',
        required: ['links'],
        properties: { links: ref('VerificationLinks') },
      },
    ],
  },
  VerificationStatus: {
    type: 'object',
    description:
      'The Durable status shape for the link holder: 202 while running, 200 once finished. `input` is the number the holder sent.',
    required: [
      'name',
      'instanceId',
      'runtimeStatus',
      'input',
      'customStatus',
      'output',
      'createdTime',
      'lastUpdatedTime',
    ],
    additionalProperties: false,
    properties: {
      name: { type: 'string' },
      instanceId: { type: 'string' },
      runtimeStatus: { type: 'string', examples: ['Running', 'Completed'] },
      input: ref('PhoneNumber'),
      customStatus: { description: 'The verification progress, or null.' },
      output: { description: 'true once verified, false otherwise; null while running.' },
      createdTime: { oneOf: [ISO_DATE_TIME, { type: 'null' }] },
      lastUpdatedTime: { oneOf: [ISO_DATE_TIME, { type: 'null' }] },
    },
  },
  EventAnswer: { ...CODE, description: 'The bare code from the SMS, as the sample sends it.' },
  VerificationAction: {
    type: 'object',
    required: ['id', 'status'],
    additionalProperties: false,
    properties: { id: { type: 'string' }, status: { enum: ['canceling', 'resending'] } },
  },
  CheckStatus: {
    type: 'object',
    description:
      'The Durable Functions management payload: URLs to query and control the instance. They carry the system key, so hand them only to trusted callers.',
    required: ['id', 'statusQueryGetUri', 'sendEventPostUri', 'terminatePostUri'],
    properties: {
      id: { type: 'string' },
      statusQueryGetUri: { type: 'string', format: 'uri' },
      sendEventPostUri: { type: 'string' },
      terminatePostUri: { type: 'string' },
      rewindPostUri: { type: 'string' },
      purgeHistoryDeleteUri: { type: 'string', format: 'uri' },
      restartPostUri: { type: 'string', format: 'uri' },
      suspendPostUri: { type: 'string' },
      resumePostUri: { type: 'string' },
    },
  },
  Verification: {
    type: 'object',
    description: 'What a caller may know of a verification: never the code, input or history.',
    required: ['id', 'state', 'attemptsRemaining', 'expiresAt'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      state: {
        type: 'string',
        enum: ['pending', ...VERIFICATION_STATES, 'failed', 'terminated'],
      },
      attemptsRemaining: { type: ['integer', 'null'], minimum: 0 },
      expiresAt: { oneOf: [ISO_DATE_TIME, { type: 'null' }] },
    },
  },
  SubmitCodeRequest: {
    type: 'object',
    required: ['code'],
    additionalProperties: false,
    properties: {
      code: CODE,
    },
  },
  SubmitCodeAccepted: {
    type: 'object',
    required: ['id', 'status'],
    additionalProperties: false,
    properties: { id: { type: 'string' }, status: { const: 'submitted' } },
  },
  CreateAcsIdentityRequest: {
    type: 'object',
    additionalProperties: false,
    properties: { scopes: ACS_SCOPE_LIST, expiresInMinutes: EXPIRES_IN_MINUTES },
  },
  AcsIdentity: {
    type: 'object',
    required: ['communicationUserId'],
    additionalProperties: false,
    properties: {
      communicationUserId: ACS_USER_ID,
      token: { ...JWT, description: 'Only when scopes were requested.' },
      expiresOn: ISO_DATE_TIME,
    },
  },
  IssueAcsTokenRequest: {
    type: 'object',
    required: ['scopes'],
    additionalProperties: false,
    properties: { scopes: ACS_SCOPE_LIST, expiresInMinutes: EXPIRES_IN_MINUTES },
  },
  AcsToken: {
    type: 'object',
    required: ['token', 'expiresOn'],
    additionalProperties: false,
    properties: { token: JWT, expiresOn: ISO_DATE_TIME },
  },
  TeamsTokenRequest: {
    type: 'object',
    required: ['teamsUserAadToken', 'userObjectId'],
    additionalProperties: false,
    properties: {
      teamsUserAadToken: { ...JWT, maxLength: 8192 },
      clientId: {
        type: 'string',
        format: 'uuid',
        description: 'Defaults to the ACS_TEAMS_CLIENT_ID setting.',
      },
      userObjectId: { type: 'string', format: 'uuid' },
    },
  },
  GraphResource: {
    type: 'object',
    description: 'Microsoft Graph JSON, relayed as Graph answered it.',
  },
  SendMailRequest: {
    type: 'object',
    required: ['to', 'subject', 'body'],
    additionalProperties: false,
    properties: {
      to: {
        oneOf: [
          { type: 'string', format: 'email' },
          {
            type: 'array',
            minItems: 1,
            maxItems: 100,
            items: { type: 'string', format: 'email' },
          },
        ],
      },
      subject: { type: 'string', minLength: 1, maxLength: 255 },
      body: { type: 'string', minLength: 1, maxLength: 10000 },
      contentType: { type: 'string', enum: ['Text', 'HTML'], default: 'Text' },
      saveToSentItems: { type: 'boolean', default: true },
    },
  },
  SendMailAccepted: {
    type: 'object',
    required: ['status', 'recipients'],
    additionalProperties: false,
    properties: { status: { const: 'accepted' }, recipients: { type: 'integer', minimum: 1 } },
  },
  MyAcsToken: {
    type: 'object',
    required: ['communicationUserId', 'token', 'expiresOn', 'identityCreated'],
    additionalProperties: false,
    properties: {
      communicationUserId: ACS_USER_ID,
      token: JWT,
      expiresOn: ISO_DATE_TIME,
      identityCreated: {
        type: 'boolean',
        description: 'True when this call created your ACS identity.',
      },
    },
  },
  ProofOfWorkChallenge: {
    type: 'object',
    description:
      'An ALTCHA v2 challenge (SHA-256, deterministic mode). Solve it (the ALTCHA widget or `altcha-lib` `solveChallenge`) and send `base64(JSON {challenge, solution})` in the `x-altcha` header of the start; each solution is accepted once.',
    required: ['parameters', 'signature'],
    properties: {
      parameters: {
        type: 'object',
        required: ['algorithm', 'nonce', 'salt', 'cost', 'keyLength', 'keyPrefix'],
        properties: {
          algorithm: { const: 'SHA-256' },
          nonce: { type: 'string' },
          salt: { type: 'string' },
          cost: { type: 'integer' },
          keyLength: { type: 'integer' },
          keyPrefix: { type: 'string' },
          keySignature: { type: 'string' },
          expiresAt: { type: 'integer', description: 'Unix seconds.' },
        },
      },
      signature: { type: 'string' },
    },
  },
  FraudGuardReport: {
    type: 'object',
    required: ['mode', 'rows'],
    additionalProperties: false,
    properties: {
      mode: { type: 'string', enum: ['off', 'dry-run', 'on'] },
      rows: {
        type: 'array',
        description: 'Every counted number prefix and country; blocked ones first.',
        items: {
          type: 'object',
          required: [
            'kind',
            'subject',
            'sends',
            'completions',
            'conversionPercent',
            'blocked',
            'blockMode',
            'blockedUntil',
            'dryRunRefusals',
          ],
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: ['prefix', 'country'] },
            subject: { type: 'string', examples: ['+142555', 'US'] },
            sends: { type: 'integer', minimum: 0 },
            completions: { type: 'integer', minimum: 0 },
            conversionPercent: { type: ['number', 'null'] },
            blocked: { type: 'boolean' },
            blockMode: { type: ['string', 'null'], enum: ['on', 'dry-run', null] },
            blockedUntil: { type: ['string', 'null'], format: 'date-time' },
            dryRunRefusals: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
  },
  MyAcsRevoked: {
    type: 'object',
    required: ['communicationUserId', 'revoked', 'note'],
    additionalProperties: false,
    properties: {
      communicationUserId: ACS_USER_ID,
      revoked: { const: true },
      note: { type: 'string' },
    },
  },
} as const satisfies Record<string, Schema>;
