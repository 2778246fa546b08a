/**
 * The OpenAPI 3.1 description of every route of the app. Each route is one `Operation` in `OPERATIONS`;
 * `buildOpenApiDocument` groups them into paths. To document a new route, add one entry (the contract
 * test fails until every registered HTTP function has one and its real answers match it).
 */
import { ACS_FUNCTIONS } from '../acs/names';
import { ME_FUNCTIONS } from '../me/names';
import { MAX_ANSWER_BYTES } from '../verification/link-handlers';
import { LINK_TOKEN_PARAM } from '../verification/links';
import { EVENT, FUNCTION, HTTP_STARTABLE_ORCHESTRATIONS, ROUTE } from '../verification/names';
import { ref, SCHEMAS, type Schema } from './schemas';

type Method = 'get' | 'post' | 'delete';
type Security = 'functionKey' | 'bearer' | 'link' | 'none';

interface Example {
  readonly summary: string;
  readonly value: unknown;
}

export interface Operation {
  readonly operationId: string;
  readonly method: Method;
  /** Below the host's route prefix, as registered (`verifications/{id}`). */
  readonly route: string;
  readonly tag: 'Verification' | 'ACS tokens' | 'Me' | 'API description';
  readonly summary: string;
  readonly description?: string;
  readonly security: Security;
  readonly requestBody?: {
    readonly schema: Schema;
    readonly examples: Record<string, Example>;
    /** The body may be left out (`POST /api/acs/identities`). */
    readonly optional?: true;
  };
  /** Success answers; the error answers come from `errors`. */
  readonly responses: Readonly<Record<number, SuccessResponse>>;
  readonly errors: readonly ErrorStatus[];
  /** What an error status means on this operation, where it says more than the generic text. */
  readonly errorDescriptions?: Partial<Record<ErrorStatus, string>>;
}

interface SuccessResponse {
  readonly description: string;
  readonly contentType?: string;
  readonly schema?: Schema;
  readonly example?: unknown;
  readonly headers?: Readonly<Record<string, { description: string; schema: Schema }>>;
}

type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 410 | 413 | 429 | 500 | 502 | 503 | 504;

const ERROR_DESCRIPTIONS: Readonly<Record<ErrorStatus, string>> = {
  400: 'The request is invalid; `errors` lists every bad field.',
  401: 'Authentication is missing or invalid (function key, or bearer token on /me routes).',
  403: 'Authenticated, but not allowed.',
  404: 'No such resource, or no route for this path.',
  405: 'The route exists but not for this method (`Allow` lists the methods).',
  409: 'The resource is not in a state that allows this yet.',
  410: 'The resource has finished and accepts nothing more.',
  413: 'The request body is too large.',
  429: 'Too many requests; `Retry-After` says when to try again.',
  500: 'Unexpected error; the answer carries no internals.',
  502: 'An upstream service (Twilio, ACS, Microsoft Graph) failed.',
  503: 'An upstream service could not be reached; see `Retry-After`.',
  504: 'An upstream service timed out.',
};

const PROBLEM_EXAMPLES: Partial<Record<ErrorStatus, unknown>> = {
  400: {
    type: 'urn:sms-verification:problem:validation-failed',
    title: 'Invalid request',
    status: 400,
    detail: 'phoneNumber: must be E.164: + and 8-15 digits',
    code: 'validation_failed',
    errors: [{ field: 'phoneNumber', message: 'must be E.164: + and 8-15 digits' }],
  },
  401: {
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: 'A valid key is required in the x-functions-key header or the code query parameter.',
  },
  404: {
    type: 'urn:sms-verification:problem:not-found',
    title: 'Not found',
    status: 404,
    detail: 'No such verification.',
    code: 'not_found',
  },
  500: {
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: 'An unexpected error occurred.',
  },
};

/** The fraud guard's answers (`reason` names the rule; nothing was sent or counted). */
const GUARD_ERROR_DESCRIPTIONS: Partial<Record<ErrorStatus, string>> = {
  400: 'The request is invalid; `errors` lists every bad field (`reason: phone_number_invalid` for a number that is not valid for its region).',
  403: 'The phone policy refuses this number (`reason`: `phone_number_type_blocked` or `phone_country_not_allowed`), its prefix or country is blocked for poor conversion (`conversion_blocked`, with `blocked` and `Retry-After`), or proof of work is on and the start has no valid solution (`proof_of_work_required`).',
  429: 'A velocity limit fired (`reason`: `number_cooldown`, `number_rate_limited`, `ip_rate_limited`, `unknown_client_rate_limited`, `prefix_rate_limited`, `country_rate_limited` or `global_rate_limited`); `Retry-After` says when to try again.',
  503: 'The limit store cannot be reached and the guard fails closed (`reason: guard_unavailable`); nothing was sent.',
};

/** Every link answers 404 alike for a bad id, a missing or wrong token and an unknown verification. */
const LINK_NOT_FOUND =
  'No such verification, or the `token` is not this link’s (all answered alike).';
const ANSWER_TOO_LARGE = `The body is larger than ${MAX_ANSWER_BYTES} bytes.`;
const LINK_ERROR_DESCRIPTIONS: Partial<Record<ErrorStatus, string>> = { 404: LINK_NOT_FOUND };
const ANSWER_ERROR_DESCRIPTIONS: Partial<Record<ErrorStatus, string>> = {
  404: LINK_NOT_FOUND,
  409: 'The code has not been sent yet; try again in a moment.',
  410: 'The verification has finished or passed its deadline; start a new one.',
  413: ANSWER_TOO_LARGE,
};
const VERIFICATION_ID_EXAMPLE = 'c2b6a8f4e1d94b1f9a3c7e5d2b8f6a41';
const LINK_TOKEN_EXAMPLE = 'Zm9yLWRvY3VtZW50YXRpb24tb25seS1ub3QtYS10b2tlbg';
const link = (route: string): string =>
  `http://localhost:7071/api/${route.replace('{id}', VERIFICATION_ID_EXAMPLE)}?${LINK_TOKEN_PARAM}=${LINK_TOKEN_EXAMPLE}`;
/** An anonymous start answer: capability links only, no host key. */
const LINKS_EXAMPLE = {
  id: VERIFICATION_ID_EXAMPLE,
  statusQueryGetUri: link(ROUTE.verificationStatus),
  sendEventPostUri: link(ROUTE.raiseEvent),
  terminatePostUri: link(ROUTE.cancelVerification),
  purgeHistoryDeleteUri: link(ROUTE.purgeVerification),
  resendPostUri: link(ROUTE.resendCode),
};
const DURABLE_URL = `http://localhost:7071/runtime/webhooks/durabletask/instances/${VERIFICATION_ID_EXAMPLE}`;
const DURABLE_QUERY = 'taskHub=SmsVerificationHub&connection=Storage&code=SYSTEM_KEY';
const START_REQUEST_EXAMPLES: Record<string, Example> = {
  string: { summary: 'The number as a JSON string', value: '+14255550100' },
  object: {
    summary: 'The number and the SMS language',
    value: { phoneNumber: '+14255550100', locale: 'ko' },
  },
};
const START_HEADERS = {
  Location: { description: 'The status link.', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before polling.', schema: { type: 'string' } },
};
const START_DESCRIPTION = `Checks the number against the fraud guard (phone policy, then velocity limits), then texts a one-time code. \`orchestratorName\` is ${HTTP_STARTABLE_ORCHESTRATIONS.map((n) => `\`${n}\``).join(', ')}; other names answer 404.`;

const FUNCTION_ERRORS: readonly ErrorStatus[] = [401, 413, 429, 500];
const UPSTREAM_ERRORS: readonly ErrorStatus[] = [502, 503, 504];
const JSON_TYPE = 'application/json';
const PROBLEM_TYPE = 'application/problem+json';

const idParam = 'id';
const TOKEN_EXAMPLE = 'eyJhbGciOiJSUzI1NiJ9.eyJza3lwZWlkIjoiYWNzOi4uLiJ9.c2lnbmF0dXJl';
const EXPIRES_EXAMPLE = '2026-12-02T10:00:00.000Z';
const USER_EXAMPLE =
  '8:acs:00000000-0000-4000-8000-00000000ac50_00000001-aaaa-bbbb-cccc-0123456789ab';

export const OPERATIONS: readonly Operation[] = [
  {
    operationId: FUNCTION.httpStart,
    method: 'post',
    route: ROUTE.httpStart,
    tag: 'Verification',
    summary: 'Start a phone verification',
    description: `${START_DESCRIPTION} The answer has the Durable management payload's names, but each URI is a capability link for this one verification (its \`${LINK_TOKEN_PARAM}\` query parameter opens one operation) and none carries a host key.`,
    security: 'none',
    requestBody: { schema: ref('StartVerificationRequest'), examples: START_REQUEST_EXAMPLES },
    responses: {
      202: {
        description:
          'Started; the SMS is on its way. Keep the links: they are the only way back in.',
        schema: ref('VerificationLinks'),
        headers: START_HEADERS,
        example: LINKS_EXAMPLE,
      },
    },
    errors: [400, 403, 404, 413, 429, 500, 503],
    errorDescriptions: GUARD_ERROR_DESCRIPTIONS,
  },
  {
    operationId: FUNCTION.trustedStart,
    method: 'post',
    route: ROUTE.trustedStart,
    tag: 'Verification',
    summary: 'Start a phone verification (trusted back ends)',
    description: `${START_DESCRIPTION} Answers the Durable management payload (system key) and the capability links in \`links\`, through which codes are answered sealed.`,
    security: 'functionKey',
    requestBody: { schema: ref('StartVerificationRequest'), examples: START_REQUEST_EXAMPLES },
    responses: {
      202: {
        description: 'Started; the SMS is on its way.',
        schema: ref('TrustedStart'),
        headers: START_HEADERS,
        example: {
          id: VERIFICATION_ID_EXAMPLE,
          statusQueryGetUri: `${DURABLE_URL}?${DURABLE_QUERY}`,
          sendEventPostUri: `${DURABLE_URL}/raiseEvent/{eventName}?${DURABLE_QUERY}`,
          terminatePostUri: `${DURABLE_URL}/terminate?reason={text}&${DURABLE_QUERY}`,
          purgeHistoryDeleteUri: `${DURABLE_URL}?${DURABLE_QUERY}`,
          links: LINKS_EXAMPLE,
        },
      },
    },
    errors: [400, 401, 403, 404, 413, 429, 500, 503],
    errorDescriptions: GUARD_ERROR_DESCRIPTIONS,
  },
  {
    operationId: FUNCTION.proofOfWorkChallenge,
    method: 'get',
    route: ROUTE.proofOfWorkChallenge,
    tag: 'Verification',
    summary: 'Get a proof-of-work challenge for the next start',
    description:
      'When `VERIFICATION_PROOF_OF_WORK` is on, an anonymous start needs a solved challenge in its `x-altcha` header (ALTCHA, self-hosted). The cost is `VERIFICATION_PROOF_OF_WORK_COST`.',
    security: 'none',
    responses: {
      200: {
        description: 'A signed challenge, valid for a few minutes.',
        schema: ref('ProofOfWorkChallenge'),
      },
    },
    errors: [404, 500],
    errorDescriptions: { 404: 'Proof of work is off (the default).' },
  },
  {
    operationId: FUNCTION.fraudGuardReport,
    method: 'get',
    route: ROUTE.fraudGuardReport,
    tag: 'Verification',
    summary: "The fraud guard's conversion counters and blocks",
    description:
      'Codes sent and verifications completed per number prefix and per country over the sliding window, with the blocks (mode `on`) and would-be blocks (mode `dry-run`) and how many sends a dry-run block would have refused.',
    security: 'functionKey',
    responses: { 200: { description: 'The report.', schema: ref('FraudGuardReport') } },
    errors: [401, 500, 503],
  },
  {
    operationId: FUNCTION.verificationStatus,
    method: 'get',
    route: ROUTE.verificationStatus,
    tag: 'Verification',
    summary: 'The Durable-shaped status (`statusQueryGetUri`)',
    security: 'link',
    responses: {
      200: {
        description: 'Finished; `output` is true when verified.',
        schema: ref('VerificationStatus'),
        example: {
          name: 'SmsPhoneVerification',
          instanceId: VERIFICATION_ID_EXAMPLE,
          runtimeStatus: 'Completed',
          input: '+14255550100',
          customStatus: { state: 'verified' },
          output: true,
          createdTime: EXPIRES_EXAMPLE,
          lastUpdatedTime: EXPIRES_EXAMPLE,
        },
      },
      202: { description: 'Still running.', schema: ref('VerificationStatus') },
    },
    errors: [404, 429, 500],
    errorDescriptions: LINK_ERROR_DESCRIPTIONS,
  },
  {
    operationId: FUNCTION.getVerification,
    method: 'get',
    route: ROUTE.getVerification,
    tag: 'Verification',
    summary: 'Read the state of a verification (the status link’s token)',
    security: 'link',
    responses: {
      200: {
        description: 'The verification.',
        schema: ref('Verification'),
        example: {
          id: VERIFICATION_ID_EXAMPLE,
          state: 'awaiting_code',
          attemptsRemaining: 4,
          expiresAt: EXPIRES_EXAMPLE,
        },
      },
    },
    errors: [404, 429, 500],
    errorDescriptions: LINK_ERROR_DESCRIPTIONS,
  },
  {
    operationId: FUNCTION.raiseVerificationEvent,
    method: 'post',
    route: ROUTE.raiseEvent,
    tag: 'Verification',
    summary: 'Answer with the code (`sendEventPostUri`)',
    description: `\`eventName\` is \`${EVENT.SmsChallengeResponse}\` (other names answer 404); the body is the bare code. It is sealed before it is raised, so it never appears in the instance history.`,
    security: 'link',
    requestBody: {
      schema: ref('EventAnswer'),
      examples: {
        string: { summary: 'The code as a string', value: '012345' },
        number: { summary: 'The code as a number', value: 2168 },
      },
    },
    responses: { 202: { description: 'Raised; the verification checks it.' } },
    errors: [400, 404, 409, 410, 413, 429, 500],
    errorDescriptions: ANSWER_ERROR_DESCRIPTIONS,
  },
  {
    operationId: FUNCTION.submitVerificationCode,
    method: 'post',
    route: ROUTE.submitVerificationCode,
    tag: 'Verification',
    summary: 'Submit the code from the SMS (the code link’s token)',
    description:
      'The code is sealed before it is raised, so it never appears in the instance history. Poll the status link for the outcome.',
    security: 'link',
    requestBody: {
      schema: ref('SubmitCodeRequest'),
      examples: { code: { summary: 'A six-digit code', value: { code: '012345' } } },
    },
    responses: {
      202: {
        description: 'Submitted; the verification checks it.',
        schema: ref('SubmitCodeAccepted'),
        example: { id: VERIFICATION_ID_EXAMPLE, status: 'submitted' },
      },
    },
    errors: [400, 404, 409, 410, 413, 429, 500],
    errorDescriptions: ANSWER_ERROR_DESCRIPTIONS,
  },
  {
    operationId: FUNCTION.cancelVerification,
    method: 'post',
    route: ROUTE.cancelVerification,
    tag: 'Verification',
    summary: 'Cancel a verification (`terminatePostUri`)',
    description: 'The verification ends with `false` and the state `canceled`.',
    security: 'link',
    responses: {
      202: {
        description: 'Canceling.',
        schema: ref('VerificationAction'),
        example: { id: VERIFICATION_ID_EXAMPLE, status: 'canceling' },
      },
    },
    errors: [404, 410, 429, 500],
    errorDescriptions: { 404: LINK_NOT_FOUND, 410: 'The verification has already finished.' },
  },
  {
    operationId: FUNCTION.purgeVerification,
    method: 'delete',
    route: ROUTE.purgeVerification,
    tag: 'Verification',
    summary: 'Erase a finished verification (`purgeHistoryDeleteUri`)',
    description:
      'Erases the user’s own data now; finished verifications are also purged by a timer once the retention has passed (not an HTTP route).',
    security: 'link',
    responses: { 204: { description: 'Erased.' } },
    errors: [404, 409, 429, 500],
    errorDescriptions: {
      404: LINK_NOT_FOUND,
      409: 'The verification is still running; cancel it first.',
    },
  },
  {
    operationId: FUNCTION.resendVerificationCode,
    method: 'post',
    route: ROUTE.resendCode,
    tag: 'Verification',
    summary: 'Text a new code (`resendPostUri`)',
    description:
      'The old code stops working; attempts and deadline are unchanged. Subject to the fraud guard like a start.',
    security: 'link',
    responses: {
      202: {
        description: 'Resending.',
        schema: ref('VerificationAction'),
        example: { id: VERIFICATION_ID_EXAMPLE, status: 'resending' },
      },
    },
    errors: [403, 404, 409, 410, 429, 500, 503],
    errorDescriptions: { ...GUARD_ERROR_DESCRIPTIONS, ...ANSWER_ERROR_DESCRIPTIONS },
  },
  {
    operationId: 'createAcsIdentity' satisfies keyof typeof ACS_FUNCTIONS,
    method: 'post',
    route: ACS_FUNCTIONS.createAcsIdentity.route,
    tag: 'ACS tokens',
    summary: 'Create an ACS identity, optionally with a token',
    security: 'functionKey',
    requestBody: {
      schema: ref('CreateAcsIdentityRequest'),
      optional: true,
      examples: {
        plain: { summary: 'Identity only', value: {} },
        token: { summary: 'With a chat token', value: { scopes: ['chat'], expiresInMinutes: 60 } },
      },
    },
    responses: {
      201: {
        description: 'Created.',
        schema: ref('AcsIdentity'),
        example: {
          communicationUserId: USER_EXAMPLE,
          token: TOKEN_EXAMPLE,
          expiresOn: EXPIRES_EXAMPLE,
        },
      },
    },
    errors: [400, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'issueAcsToken' satisfies keyof typeof ACS_FUNCTIONS,
    method: 'post',
    route: ACS_FUNCTIONS.issueAcsToken.route,
    tag: 'ACS tokens',
    summary: 'Issue a token for an ACS identity',
    security: 'functionKey',
    requestBody: {
      schema: ref('IssueAcsTokenRequest'),
      examples: { voip: { summary: 'A VoIP token', value: { scopes: ['voip'] } } },
    },
    responses: {
      200: {
        description: 'The token.',
        schema: ref('AcsToken'),
        example: { token: TOKEN_EXAMPLE, expiresOn: EXPIRES_EXAMPLE },
      },
    },
    errors: [400, 404, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'revokeAcsTokens' satisfies keyof typeof ACS_FUNCTIONS,
    method: 'post',
    route: ACS_FUNCTIONS.revokeAcsTokens.route,
    tag: 'ACS tokens',
    summary: "Revoke an ACS identity's tokens",
    description: 'ACS may take up to 15 minutes to stop accepting tokens everywhere.',
    security: 'functionKey',
    responses: { 204: { description: 'Revoked.' } },
    errors: [400, 404, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'deleteAcsIdentity' satisfies keyof typeof ACS_FUNCTIONS,
    method: 'delete',
    route: ACS_FUNCTIONS.deleteAcsIdentity.route,
    tag: 'ACS tokens',
    summary: 'Delete an ACS identity (and revoke its tokens)',
    security: 'functionKey',
    responses: { 204: { description: 'Deleted.' } },
    errors: [400, 404, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'exchangeTeamsToken' satisfies keyof typeof ACS_FUNCTIONS,
    method: 'post',
    route: ACS_FUNCTIONS.exchangeTeamsToken.route,
    tag: 'ACS tokens',
    summary: 'Exchange a Teams user’s Entra ID token for an ACS token',
    security: 'functionKey',
    requestBody: {
      schema: ref('TeamsTokenRequest'),
      examples: {
        exchange: {
          summary: 'Exchange',
          value: {
            teamsUserAadToken: TOKEN_EXAMPLE,
            userObjectId: '00000000-0000-4000-8000-000000000001',
          },
        },
      },
    },
    responses: {
      200: {
        description: 'The ACS token for the Teams user.',
        schema: ref('AcsToken'),
        example: { token: TOKEN_EXAMPLE, expiresOn: EXPIRES_EXAMPLE },
      },
    },
    errors: [400, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'getMe' satisfies keyof typeof ME_FUNCTIONS,
    method: 'get',
    route: ME_FUNCTIONS.getMe.route,
    tag: 'Me',
    summary: 'Your Microsoft Graph profile (on your behalf)',
    security: 'bearer',
    responses: {
      200: {
        description: 'Graph `/me`.',
        schema: ref('GraphResource'),
        example: { id: '00000000-0000-4000-8000-000000000001', displayName: 'Test User' },
      },
    },
    errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'listMyMessages' satisfies keyof typeof ME_FUNCTIONS,
    method: 'get',
    route: ME_FUNCTIONS.listMyMessages.route,
    tag: 'Me',
    summary: 'Your ten most recent mails (Graph)',
    security: 'bearer',
    responses: {
      200: {
        description: 'Graph `/me/messages?$top=10`.',
        schema: ref('GraphResource'),
        example: { value: [{ id: 'AAMk...', subject: 'Hello' }] },
      },
    },
    errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'sendMyMail' satisfies keyof typeof ME_FUNCTIONS,
    method: 'post',
    route: ME_FUNCTIONS.sendMyMail.route,
    tag: 'Me',
    summary: 'Send a mail as you (Graph)',
    security: 'bearer',
    requestBody: {
      schema: ref('SendMailRequest'),
      examples: {
        mail: {
          summary: 'A text mail',
          value: { to: 'someone@example.com', subject: 'Hi', body: 'Hello there' },
        },
      },
    },
    responses: {
      202: {
        description: 'Graph accepted the mail.',
        schema: ref('SendMailAccepted'),
        example: { status: 'accepted', recipients: 1 },
      },
    },
    errors: [400, 401, 403, 404, 413, 429, 500, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'issueMyAcsToken' satisfies keyof typeof ME_FUNCTIONS,
    method: 'post',
    route: ME_FUNCTIONS.issueMyAcsToken.route,
    tag: 'Me',
    summary: 'An ACS token for your own identity (created on first use)',
    security: 'bearer',
    requestBody: {
      schema: ref('IssueAcsTokenRequest'),
      examples: { chat: { summary: 'A chat token for one hour', value: { scopes: ['chat'] } } },
    },
    responses: {
      200: {
        description: 'The token (default lifetime 60 minutes).',
        schema: ref('MyAcsToken'),
        example: {
          communicationUserId: USER_EXAMPLE,
          token: TOKEN_EXAMPLE,
          expiresOn: EXPIRES_EXAMPLE,
          identityCreated: true,
        },
      },
    },
    errors: [400, 401, 403, 413, 429, 500, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'revokeMyAcsTokens' satisfies keyof typeof ME_FUNCTIONS,
    method: 'post',
    route: ME_FUNCTIONS.revokeMyAcsTokens.route,
    tag: 'Me',
    summary: "Revoke your ACS identity's tokens",
    security: 'bearer',
    responses: {
      200: {
        description: 'Revoked.',
        schema: ref('MyAcsRevoked'),
        example: {
          communicationUserId: USER_EXAMPLE,
          revoked: true,
          note: 'Existing tokens can stay usable for up to 15 minutes while revocation propagates.',
        },
      },
    },
    errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'deleteMyAcsIdentity' satisfies keyof typeof ME_FUNCTIONS,
    method: 'delete',
    route: ME_FUNCTIONS.deleteMyAcsIdentity.route,
    tag: 'Me',
    summary: 'Delete your ACS identity',
    security: 'bearer',
    responses: { 204: { description: 'Deleted.' } },
    errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'exchangeMyTeamsToken' satisfies keyof typeof ME_FUNCTIONS,
    method: 'post',
    route: ME_FUNCTIONS.exchangeMyTeamsToken.route,
    tag: 'Me',
    summary: 'An ACS token for you as a Teams user (on-behalf-of exchange)',
    security: 'bearer',
    responses: {
      200: {
        description: 'The ACS token.',
        schema: ref('AcsToken'),
        example: { token: TOKEN_EXAMPLE, expiresOn: EXPIRES_EXAMPLE },
      },
    },
    errors: [401, 403, 429, 500, ...UPSTREAM_ERRORS],
  },
  {
    operationId: 'getOpenApiDocument',
    method: 'get',
    route: 'openapi.json',
    tag: 'API description',
    summary: 'This document',
    security: 'none',
    responses: {
      200: { description: 'The OpenAPI 3.1 document.', schema: { type: 'object' } },
    },
    errors: [],
  },
  {
    operationId: 'getApiReference',
    method: 'get',
    route: 'docs',
    tag: 'API description',
    summary: 'This document as a readable page',
    security: 'none',
    responses: {
      200: { description: 'HTML.', contentType: 'text/html', schema: { type: 'string' } },
    },
    errors: [],
  },
];

const SECURITY: Readonly<Record<Security, readonly Record<string, string[]>[]>> = {
  // Either header or query parameter carries the function key, as the Functions host accepts both.
  functionKey: [{ functionKeyHeader: [] }, { functionKeyQuery: [] }],
  bearer: [{ bearer: [] }],
  link: [{ linkToken: [] }],
  none: [],
};

/** A route parameter with its constraints, `?`, default or catch-all stars: `{id:int}`, `{*rest}`. */
const ROUTE_PARAM = /\{\*{0,2}(\w+)[^}]*\}/g;

function pathParameters(route: string): Record<string, unknown>[] {
  return [...route.matchAll(ROUTE_PARAM)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema:
      name === 'communicationUserId'
        ? SCHEMAS.AcsIdentity.properties.communicationUserId
        : name === idParam
          ? { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' }
          : name === 'eventName'
            ? { type: 'string', examples: [EVENT.SmsChallengeResponse] }
            : name === 'orchestratorName'
              ? { type: 'string', examples: [...HTTP_STARTABLE_ORCHESTRATIONS] }
              : { type: 'string' },
  }));
}

const RETRY_AFTER_HEADER = {
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    schema: { type: 'string' },
  },
};

function errorResponse(status: ErrorStatus, description?: string): Record<string, unknown> {
  const example = PROBLEM_EXAMPLES[status];
  return {
    description: description ?? ERROR_DESCRIPTIONS[status],
    ...(status === 429 ? { headers: RETRY_AFTER_HEADER } : {}),
    content: {
      [PROBLEM_TYPE]: {
        schema: ref('Problem'),
        ...(example === undefined ? {} : { example }),
      },
    },
  };
}

function successResponse(r: SuccessResponse): Record<string, unknown> {
  return {
    description: r.description,
    ...(r.headers ? { headers: r.headers } : {}),
    ...(r.schema
      ? {
          content: {
            [r.contentType ?? JSON_TYPE]: {
              schema: r.schema,
              ...(r.example === undefined ? {} : { example: r.example }),
            },
          },
        }
      : {}),
  };
}

function operationObject(op: Operation): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(op.responses)) responses[status] = successResponse(r);
  for (const status of op.errors) {
    responses[String(status)] = errorResponse(status, op.errorDescriptions?.[status]);
  }
  const parameters = pathParameters(op.route);
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: SECURITY[op.security],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.requestBody
      ? {
          requestBody: {
            required: op.requestBody.optional !== true,
            content: {
              [JSON_TYPE]: { schema: op.requestBody.schema, examples: op.requestBody.examples },
            },
          },
        }
      : {}),
    responses,
  };
}

/** `verifications/{id}` → `/api/verifications/{id}` (route constraints such as `{id:int}` dropped). */
export function openApiPath(route: string, routePrefix = 'api'): string {
  return `/${routePrefix}/${route}`.replace(ROUTE_PARAM, '{$1}');
}

export function buildOpenApiDocument(serverUrl = '/'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const path = openApiPath(op.route);
    paths[path] = { ...(paths[path] ?? {}), [op.method]: operationObject(op) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'SMS verification and ACS token API',
      version: '0.1.0',
      description:
        'Phone verification over SMS (Twilio), Azure Communication Services identities and tokens, and self-service routes for signed-in users (Microsoft Entra ID through the auth sidecar). Errors are RFC 9457 `application/problem+json`.',
    },
    servers: [{ url: serverUrl }],
    tags: [
      {
        name: 'Verification',
        description:
          'Anonymous: the first thing an unknown user does. The start answers capability links; the other routes take their `token`. Trusted back ends start with the function key.',
      },
      { name: 'ACS tokens', description: 'For trusted back ends: function key.' },
      { name: 'Me', description: 'For signed-in users: Entra ID bearer token.' },
      { name: 'API description' },
    ],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        functionKeyHeader: {
          type: 'apiKey',
          in: 'header',
          name: 'x-functions-key',
          description: 'The function key of the Functions host.',
        },
        functionKeyQuery: {
          type: 'apiKey',
          in: 'query',
          name: 'code',
          description: 'The function key as a query parameter.',
        },
        linkToken: {
          type: 'apiKey',
          in: 'query',
          name: LINK_TOKEN_PARAM,
          description:
            'The per-verification link token: each link of the start answer carries one, which opens one operation (status, code, cancel, purge or resend) on that one verification. A wrong or missing token answers 404, like an unknown verification.',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A Microsoft Entra ID access token for this API, validated by the auth sidecar.',
        },
      },
    },
  };
}
