import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { ACS_TOKEN_EXAMPLE, UPSTREAM_ERRORS, USER_EXAMPLE } from '../acs/openapi';
import { AcsToken, IssueAcsTokenRequest } from '../acs/schemas';
import {
  functionRoute,
  registerOperation,
  type ApiTag,
  type Operation,
  type Security,
} from '../http/openapi';
import { ME_FUNCTIONS } from './names';
import {
  GraphResource,
  MyAcsRevoked,
  MyAcsToken,
  SendMailAccepted,
  SendMailRequest,
} from './schemas';

/** The `/api/me` routes in the OpenAPI document: the schemas of `schemas.ts`, and the prose. */

const TAG: ApiTag = { name: 'Me', description: 'For signed-in users: Entra ID bearer token.' };
const BEARER: Security = [{ bearer: [] }];

const meFunction = (operationId: keyof typeof ME_FUNCTIONS) => ({
  ...functionRoute(operationId, ME_FUNCTIONS[operationId]),
  tag: TAG.name,
  security: BEARER,
});

export function registerMeOpenApi(registry: OpenAPIRegistry): ApiTag {
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A Microsoft Entra ID access token for this API, validated by the auth sidecar.',
  });
  const operations: readonly Operation[] = [
    {
      ...meFunction('getMe'),
      summary: 'Your Microsoft Graph profile (on your behalf)',
      responses: {
        200: {
          description: 'Graph `/me`.',
          schema: GraphResource,
          example: { id: '00000000-0000-4000-8000-000000000001', displayName: 'Test User' },
        },
      },
      errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
    },
    {
      ...meFunction('listMyMessages'),
      summary: 'Your ten most recent mails (Graph)',
      responses: {
        200: {
          description: 'Graph `/me/messages?$top=10`.',
          schema: GraphResource,
          example: { value: [{ id: 'AAMk...', subject: 'Hello' }] },
        },
      },
      errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
    },
    {
      ...meFunction('sendMyMail'),
      summary: 'Send a mail as you (Graph)',
      requestBody: {
        schema: SendMailRequest,
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
          schema: SendMailAccepted,
          example: { status: 'accepted', recipients: 1 } satisfies z.infer<typeof SendMailAccepted>,
        },
      },
      errors: [400, 401, 403, 404, 413, 429, 500, ...UPSTREAM_ERRORS],
    },
    {
      ...meFunction('issueMyAcsToken'),
      summary: 'An ACS token for your own identity (created on first use)',
      requestBody: {
        schema: IssueAcsTokenRequest,
        examples: { chat: { summary: 'A chat token for one hour', value: { scopes: ['chat'] } } },
      },
      responses: {
        200: {
          description: 'The token (default lifetime 60 minutes).',
          schema: MyAcsToken,
          example: {
            communicationUserId: USER_EXAMPLE,
            ...ACS_TOKEN_EXAMPLE,
            identityCreated: true,
          } satisfies z.infer<typeof MyAcsToken>,
        },
      },
      errors: [400, 401, 403, 413, 429, 500, ...UPSTREAM_ERRORS],
    },
    {
      ...meFunction('revokeMyAcsTokens'),
      summary: "Revoke your ACS identity's tokens",
      responses: {
        200: {
          description: 'Revoked.',
          schema: MyAcsRevoked,
          example: {
            communicationUserId: USER_EXAMPLE,
            revoked: true,
            note: 'Existing tokens can stay usable for up to 15 minutes while revocation propagates.',
          } satisfies z.infer<typeof MyAcsRevoked>,
        },
      },
      errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
    },
    {
      ...meFunction('deleteMyAcsIdentity'),
      summary: 'Delete your ACS identity',
      responses: { 204: { description: 'Deleted.' } },
      errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
    },
    {
      ...meFunction('exchangeMyTeamsToken'),
      summary: 'An ACS token for you as a Teams user (on-behalf-of exchange)',
      responses: {
        200: { description: 'The ACS token.', schema: AcsToken, example: ACS_TOKEN_EXAMPLE },
      },
      // 404: the exchange is not enabled on this deployment (no Teams client id set).
      errors: [401, 403, 404, 429, 500, ...UPSTREAM_ERRORS],
    },
  ];
  for (const operation of operations) registerOperation(registry, operation);
  return TAG;
}
