import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  ANONYMOUS,
  FUNCTION_KEY,
  functionRoute,
  registerOperation,
  type ApiTag,
  type ErrorStatus,
  type Example,
  type Operation,
  type Security,
} from '../http/openapi';
import { INSTANCE_ID_PATTERN } from './durable-client';
import { MAX_ANSWER_BYTES } from './link-handlers';
import { LINK_TOKEN_PARAM } from './links';
import { EVENT, HTTP_STARTABLE_ORCHESTRATIONS, VERIFICATION_FUNCTIONS } from './names';
import {
  EventAnswer,
  StartVerificationRequest,
  SubmitCodeAccepted,
  SubmitCodeRequest,
  TrustedStart,
  Verification,
  VerificationAction,
  VerificationLinks,
  VerificationStatus,
} from './schemas';

/** The verification routes in the OpenAPI document: the schemas of `schemas.ts`, and the prose. */

const TAG: ApiTag = {
  name: 'Verification',
  description:
    'Anonymous: the first thing an unknown user does. The start answers capability links; the other routes take their `token`. Trusted back ends start with the function key.',
};

const LINK: Security = [{ linkToken: [] }];

/** Issue 22: an ALTCHA v2 challenge as `altcha-lib` creates it. */
const ProofOfWorkChallenge = z
  .looseObject({
    parameters: z.looseObject({
      algorithm: z.literal('SHA-256'),
      nonce: z.string(),
      salt: z.string(),
      cost: z.number().int(),
      keyLength: z.number().int(),
      keyPrefix: z.string(),
      expiresAt: z.number().int().optional(),
    }),
    signature: z.string(),
  })
  .meta({ id: 'ProofOfWorkChallenge' });

/** Issue 22: `GET /api/verifications/guard/report`. */
const FraudGuardReport = z
  .strictObject({
    mode: z.enum(['off', 'dry-run', 'on']),
    rows: z.array(
      z.strictObject({
        kind: z.enum(['prefix', 'country']),
        subject: z.string(),
        sends: z.number().int().min(0),
        completions: z.number().int().min(0),
        conversionPercent: z.number().nullable(),
        blocked: z.boolean(),
        blockMode: z.enum(['on', 'dry-run']).nullable(),
        blockedUntil: z.string().nullable(),
        dryRunRefusals: z.number().int().min(0),
      }),
    ),
  })
  .meta({ id: 'FraudGuardReport' });

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
const LINK_ERROR_DESCRIPTIONS: Partial<Record<ErrorStatus, string>> = { 404: LINK_NOT_FOUND };
const ANSWER_ERROR_DESCRIPTIONS: Partial<Record<ErrorStatus, string>> = {
  404: LINK_NOT_FOUND,
  409: 'The code has not been sent yet; try again in a moment.',
  410: 'The verification has finished or passed its deadline; start a new one.',
  413: `The body is larger than ${MAX_ANSWER_BYTES} bytes.`,
};

const VerificationId = z.object({ id: z.string().regex(INSTANCE_ID_PATTERN) });
const StartParams = z.object({
  orchestratorName: z.string().meta({ examples: [...HTTP_STARTABLE_ORCHESTRATIONS] }),
});

const VERIFICATION_ID_EXAMPLE = 'c2b6a8f4e1d94b1f9a3c7e5d2b8f6a41';
const LINK_TOKEN_EXAMPLE = 'Zm9yLWRvY3VtZW50YXRpb24tb25seS1ub3QtYS10b2tlbg';
const link = (route: string): string =>
  `http://localhost:7071/api/${route.replace('{id}', VERIFICATION_ID_EXAMPLE)}?${LINK_TOKEN_PARAM}=${LINK_TOKEN_EXAMPLE}`;
/** An anonymous start answer: capability links only, no host key. */
const LINKS_EXAMPLE: z.infer<typeof VerificationLinks> = {
  id: VERIFICATION_ID_EXAMPLE,
  statusQueryGetUri: link(VERIFICATION_FUNCTIONS.verificationStatus.route),
  sendEventPostUri: link(VERIFICATION_FUNCTIONS.raiseVerificationEvent.route),
  terminatePostUri: link(VERIFICATION_FUNCTIONS.cancelVerification.route),
  purgeHistoryDeleteUri: link(VERIFICATION_FUNCTIONS.purgeVerification.route),
  resendPostUri: link(VERIFICATION_FUNCTIONS.resendVerificationCode.route),
};
const DURABLE_URL = `http://localhost:7071/runtime/webhooks/durabletask/instances/${VERIFICATION_ID_EXAMPLE}`;
const DURABLE_QUERY = 'taskHub=SmsVerificationHub&connection=Storage&code=SYSTEM_KEY';
const EXPIRES_EXAMPLE = '2026-12-02T10:00:00.000Z';
const START_REQUEST_EXAMPLES: Record<string, Example> = {
  string: { summary: 'The number as a JSON string', value: '+14255550100' },
  object: {
    summary: 'The number and the SMS language',
    value: { phoneNumber: '+14255550100', locale: 'ko' },
  },
};
const START_HEADERS = {
  Location: { description: 'The status link.' },
  'Retry-After': { description: 'Seconds to wait before polling.' },
};
const START_DESCRIPTION = `Checks the number against the fraud guard (phone policy, then velocity limits), then texts a one-time code. \`orchestratorName\` is ${HTTP_STARTABLE_ORCHESTRATIONS.map((n) => `\`${n}\``).join(', ')}; other names answer 404.`;

/** A 202 whose body names the verification and what is now under way. */
function accepted(
  description: string,
  schema: typeof SubmitCodeAccepted | typeof VerificationAction,
  status: 'submitted' | 'canceling' | 'resending',
): Operation['responses'] {
  return { 202: { description, schema, example: { id: VERIFICATION_ID_EXAMPLE, status } } };
}

export function registerVerificationOpenApi(registry: OpenAPIRegistry): ApiTag {
  registry.registerComponent('securitySchemes', 'linkToken', {
    type: 'apiKey',
    in: 'query',
    name: LINK_TOKEN_PARAM,
    description:
      'The per-verification link token: each link of the start answer carries one, which opens one operation (status, code, cancel, purge or resend) on that one verification. A wrong or missing token answers 404, like an unknown verification.',
  });
  const common = { tag: TAG.name, security: LINK, params: VerificationId } as const;
  const operations: readonly Operation[] = [
    {
      ...functionRoute('httpStart', VERIFICATION_FUNCTIONS.httpStart),
      tag: TAG.name,
      summary: 'Start a phone verification',
      description: `${START_DESCRIPTION} The answer has the Durable management payload's names, but each URI is a capability link for this one verification (its \`${LINK_TOKEN_PARAM}\` query parameter opens one operation) and none carries a host key.`,
      security: ANONYMOUS,
      params: StartParams,
      requestBody: { schema: StartVerificationRequest, examples: START_REQUEST_EXAMPLES },
      responses: {
        202: {
          description:
            'Started; the SMS is on its way. Keep the links: they are the only way back in.',
          schema: VerificationLinks,
          headers: START_HEADERS,
          example: LINKS_EXAMPLE,
        },
      },
      errors: [400, 403, 404, 413, 429, 500, 503],
      errorDescriptions: GUARD_ERROR_DESCRIPTIONS,
    },
    {
      ...functionRoute('trustedStart', VERIFICATION_FUNCTIONS.trustedStart),
      tag: TAG.name,
      summary: 'Start a phone verification (trusted back ends)',
      description: `${START_DESCRIPTION} Answers the Durable management payload (system key) and the capability links in \`links\`, through which codes are answered sealed.`,
      security: FUNCTION_KEY,
      params: StartParams,
      requestBody: { schema: StartVerificationRequest, examples: START_REQUEST_EXAMPLES },
      responses: {
        202: {
          description: 'Started; the SMS is on its way.',
          schema: TrustedStart,
          headers: START_HEADERS,
          example: {
            id: VERIFICATION_ID_EXAMPLE,
            statusQueryGetUri: `${DURABLE_URL}?${DURABLE_QUERY}`,
            sendEventPostUri: `${DURABLE_URL}/raiseEvent/{eventName}?${DURABLE_QUERY}`,
            terminatePostUri: `${DURABLE_URL}/terminate?reason={text}&${DURABLE_QUERY}`,
            purgeHistoryDeleteUri: `${DURABLE_URL}?${DURABLE_QUERY}`,
            links: LINKS_EXAMPLE,
          } satisfies z.infer<typeof TrustedStart>,
        },
      },
      errors: [400, 401, 403, 404, 413, 429, 500, 503],
      errorDescriptions: GUARD_ERROR_DESCRIPTIONS,
    },
    {
      ...common,
      ...functionRoute('verificationStatus', VERIFICATION_FUNCTIONS.verificationStatus),
      summary: 'The Durable-shaped status (`statusQueryGetUri`)',
      responses: {
        200: {
          description: 'Finished; `output` is true when verified.',
          schema: VerificationStatus,
          example: {
            name: 'SmsPhoneVerification',
            instanceId: VERIFICATION_ID_EXAMPLE,
            runtimeStatus: 'Completed',
            input: '+1******0100',
            customStatus: { state: 'verified' },
            output: true,
            createdTime: EXPIRES_EXAMPLE,
            lastUpdatedTime: EXPIRES_EXAMPLE,
          } satisfies z.infer<typeof VerificationStatus>,
        },
        202: { description: 'Still running.', schema: VerificationStatus },
      },
      errors: [404, 429, 500],
      errorDescriptions: LINK_ERROR_DESCRIPTIONS,
    },
    {
      ...common,
      ...functionRoute('getVerification', VERIFICATION_FUNCTIONS.getVerification),
      summary: 'Read the state of a verification (the status link’s token)',
      responses: {
        200: {
          description: 'The verification.',
          schema: Verification,
          example: {
            id: VERIFICATION_ID_EXAMPLE,
            state: 'awaiting_code',
            attemptsRemaining: 4,
            expiresAt: EXPIRES_EXAMPLE,
          } satisfies z.infer<typeof Verification>,
        },
      },
      errors: [404, 429, 500],
      errorDescriptions: LINK_ERROR_DESCRIPTIONS,
    },
    {
      ...common,
      ...functionRoute('raiseVerificationEvent', VERIFICATION_FUNCTIONS.raiseVerificationEvent),
      params: VerificationId.extend({
        eventName: z.string().meta({ examples: [EVENT.SmsChallengeResponse] }),
      }),
      summary: 'Answer with the code (`sendEventPostUri`)',
      description: `\`eventName\` is \`${EVENT.SmsChallengeResponse}\` (other names answer 404); the body is the bare code. It is sealed before it is raised, so it never appears in the instance history.`,
      requestBody: {
        schema: EventAnswer,
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
      ...common,
      ...functionRoute('submitVerificationCode', VERIFICATION_FUNCTIONS.submitVerificationCode),
      summary: 'Submit the code from the SMS (the code link’s token)',
      description:
        'The code is sealed before it is raised, so it never appears in the instance history. Poll the status link for the outcome.',
      requestBody: {
        schema: SubmitCodeRequest,
        examples: { code: { summary: 'A six-digit code', value: { code: '012345' } } },
      },
      responses: accepted(
        'Submitted; the verification checks it.',
        SubmitCodeAccepted,
        'submitted',
      ),
      errors: [400, 404, 409, 410, 413, 429, 500],
      errorDescriptions: ANSWER_ERROR_DESCRIPTIONS,
    },
    {
      ...common,
      ...functionRoute('cancelVerification', VERIFICATION_FUNCTIONS.cancelVerification),
      summary: 'Cancel a verification (`terminatePostUri`)',
      description: 'The verification ends with `false` and the state `canceled`.',
      responses: accepted('Canceling.', VerificationAction, 'canceling'),
      errors: [404, 410, 429, 500],
      errorDescriptions: { 404: LINK_NOT_FOUND, 410: 'The verification has already finished.' },
    },
    {
      ...common,
      ...functionRoute('purgeVerification', VERIFICATION_FUNCTIONS.purgeVerification),
      summary: 'Erase a finished verification (`purgeHistoryDeleteUri`)',
      description:
        'Erases the user’s own data now; finished verifications are also purged by a timer once the retention has passed (not an HTTP route).',
      responses: { 204: { description: 'Erased.' } },
      errors: [404, 409, 429, 500],
      errorDescriptions: {
        404: LINK_NOT_FOUND,
        409: 'The verification is still running; cancel it first.',
      },
    },
    {
      ...common,
      ...functionRoute('resendVerificationCode', VERIFICATION_FUNCTIONS.resendVerificationCode),
      summary: 'Text a new code (`resendPostUri`)',
      description:
        'The old code stops working; attempts and deadline are unchanged. Subject to the fraud guard like a start.',
      responses: accepted('Resending.', VerificationAction, 'resending'),
      errors: [403, 404, 409, 410, 429, 500, 503],
      errorDescriptions: { ...GUARD_ERROR_DESCRIPTIONS, ...ANSWER_ERROR_DESCRIPTIONS },
    },
    {
      ...functionRoute('proofOfWorkChallenge', VERIFICATION_FUNCTIONS.proofOfWorkChallenge),
      tag: TAG.name,
      summary: 'Get a proof-of-work challenge for the next start',
      description:
        'When `VERIFICATION_PROOF_OF_WORK` is on, an anonymous start needs a solved challenge: `base64(JSON {challenge, solution})` in its `x-altcha` header (ALTCHA v2, SHA-256, self-hosted; each solution is accepted once). The cost is `VERIFICATION_PROOF_OF_WORK_COST`.',
      security: ANONYMOUS,
      responses: {
        200: { description: 'A signed ALTCHA challenge.', schema: ProofOfWorkChallenge },
      },
      errors: [404, 500],
      errorDescriptions: { 404: 'Proof of work is off (the default).' },
    },
    {
      ...functionRoute('fraudGuardReport', VERIFICATION_FUNCTIONS.fraudGuardReport),
      tag: TAG.name,
      summary: "The fraud guard's conversion counters and blocks",
      description:
        'Codes sent and verifications completed per number prefix and per country over the sliding window, with the blocks (mode `on`) and would-be blocks (mode `dry-run`), blocked ones first.',
      security: FUNCTION_KEY,
      responses: { 200: { description: 'The report.', schema: FraudGuardReport } },
      errors: [401, 500, 503],
    },
  ];
  for (const operation of operations) registerOperation(registry, operation);
  return TAG;
}
