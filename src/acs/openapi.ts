import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import {
  FUNCTION_KEY,
  functionRoute,
  registerOperation,
  type ApiTag,
  type ErrorStatus,
  type Operation,
} from '../http/openapi';
import { ACS_FUNCTIONS } from './names';
import {
  AcsIdentity,
  AcsIdentityParams,
  AcsToken,
  CreateAcsIdentityRequest,
  IssueAcsTokenRequest,
  TeamsTokenRequest,
} from './schemas';

/** The `/api/acs` routes in the OpenAPI document: the schemas of `schemas.ts`, and the prose. */

const TAG: ApiTag = { name: 'ACS tokens', description: 'For trusted back ends: function key.' };

export const TOKEN_EXAMPLE = 'eyJhbGciOiJSUzI1NiJ9.eyJza3lwZWlkIjoiYWNzOi4uLiJ9.c2lnbmF0dXJl';
export const EXPIRES_EXAMPLE = '2026-12-02T10:00:00.000Z';
export const USER_EXAMPLE =
  '8:acs:00000000-0000-4000-8000-00000000ac50_00000001-aaaa-bbbb-cccc-0123456789ab';
export const ACS_TOKEN_EXAMPLE: z.infer<typeof AcsToken> = {
  token: TOKEN_EXAMPLE,
  expiresOn: EXPIRES_EXAMPLE,
};
/** Function-key routes: the host refuses a missing key (401), a large body (413) or overload (429). */
const FUNCTION_ERRORS: readonly ErrorStatus[] = [401, 413, 429, 500];
export const UPSTREAM_ERRORS: readonly ErrorStatus[] = [502, 503, 504];

const acsFunction = (operationId: keyof typeof ACS_FUNCTIONS) => ({
  ...functionRoute(operationId, ACS_FUNCTIONS[operationId]),
  tag: TAG.name,
  security: FUNCTION_KEY,
});

export function registerAcsOpenApi(registry: OpenAPIRegistry): ApiTag {
  const operations: readonly Operation[] = [
    {
      ...acsFunction('createAcsIdentity'),
      summary: 'Create an ACS identity, optionally with a token',
      requestBody: {
        schema: CreateAcsIdentityRequest,
        optional: true,
        examples: {
          plain: { summary: 'Identity only', value: {} },
          token: {
            summary: 'With a chat token',
            value: { scopes: ['chat'], expiresInMinutes: 60 },
          },
        },
      },
      responses: {
        201: {
          description: 'Created.',
          schema: AcsIdentity,
          example: { communicationUserId: USER_EXAMPLE, ...ACS_TOKEN_EXAMPLE },
        },
      },
      errors: [400, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
    },
    {
      ...acsFunction('issueAcsToken'),
      params: AcsIdentityParams,
      summary: 'Issue a token for an ACS identity',
      requestBody: {
        schema: IssueAcsTokenRequest,
        examples: { voip: { summary: 'A VoIP token', value: { scopes: ['voip'] } } },
      },
      responses: {
        200: { description: 'The token.', schema: AcsToken, example: ACS_TOKEN_EXAMPLE },
      },
      errors: [400, 404, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
    },
    {
      ...acsFunction('revokeAcsTokens'),
      params: AcsIdentityParams,
      summary: "Revoke an ACS identity's tokens",
      description: 'ACS may take up to 15 minutes to stop accepting tokens everywhere.',
      responses: { 204: { description: 'Revoked.' } },
      errors: [400, 404, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
    },
    {
      ...acsFunction('deleteAcsIdentity'),
      params: AcsIdentityParams,
      summary: 'Delete an ACS identity (and revoke its tokens)',
      responses: { 204: { description: 'Deleted.' } },
      errors: [400, 404, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
    },
    {
      ...acsFunction('exchangeTeamsToken'),
      summary: 'Exchange a Teams user’s Entra ID token for an ACS token',
      requestBody: {
        schema: TeamsTokenRequest,
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
          schema: AcsToken,
          example: ACS_TOKEN_EXAMPLE,
        },
      },
      errors: [400, ...FUNCTION_ERRORS, ...UPSTREAM_ERRORS],
    },
  ];
  for (const operation of operations) registerOperation(registry, operation);
  return TAG;
}
