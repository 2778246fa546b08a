/**
 * The OpenAPI 3.1 document of the app, composed from the features: each one registers its routes
 * and the zod schemas its handlers parse with (`register<Feature>OpenApi`), so the document cannot
 * describe a body the code does not accept. This module adds what belongs to the whole app: the
 * description, the function key, the problem schema and the document's own routes. The contract
 * test fails until every registered HTTP function is documented and its real answers match.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { registerAcsOpenApi } from '../acs/openapi';
import {
  ANONYMOUS,
  FUNCTION_KEY_SCHEMES,
  problemSchema,
  registerOperation,
  type ApiTag,
  type RegisterOpenApi,
} from '../http/openapi';
import { registerDeliveryOpenApi } from '../delivery/openapi';
import { registerMeOpenApi } from '../me/openapi';
import { registerVerifyApiOpenApi } from '../verify/schemas';
import { GUARD_REASONS } from '../verification/guard/errors';
import { registerVerificationOpenApi } from '../verification/openapi';

/** Every feature's routes, in the order the document lists them. */
const FEATURES: readonly RegisterOpenApi[] = [
  // The headline: Twilio Verify v2, self-hosted.
  registerVerifyApiOpenApi,
  registerVerificationOpenApi,
  registerAcsOpenApi,
  registerMeOpenApi,
  registerDeliveryOpenApi,
  registerApiDescriptionOpenApi,
];

export const DOCUMENT_ROUTE = 'openapi.json';
export const DOCS_ROUTE = 'docs';

/** The document's own two routes. */
function registerApiDescriptionOpenApi(registry: OpenAPIRegistry): ApiTag {
  const tag = { name: 'API description' };
  const common = { method: 'get', tag: tag.name, security: ANONYMOUS, errors: [] } as const;
  registerOperation(registry, {
    ...common,
    operationId: 'getOpenApiDocument',
    route: DOCUMENT_ROUTE,
    summary: 'This document',
    responses: { 200: { description: 'The OpenAPI 3.1 document.', schema: z.looseObject({}) } },
  });
  registerOperation(registry, {
    ...common,
    operationId: 'getApiReference',
    route: DOCS_ROUTE,
    summary: 'This document as a readable page',
    responses: { 200: { description: 'HTML.', contentType: 'text/html', schema: z.string() } },
  });
  return tag;
}

export function buildOpenApiDocument(serverUrl = '/'): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  for (const [name, scheme] of Object.entries(FUNCTION_KEY_SCHEMES)) {
    registry.registerComponent('securitySchemes', name, scheme);
  }
  const tags = FEATURES.flatMap((register) => register(registry) ?? []);
  const definitions = [
    // The routes' error answers refer to it by name.
    { type: 'schema', schema: problemSchema(Object.values(GUARD_REASONS)) } as const,
    ...registry.definitions,
  ];
  const generator = new OpenApiGeneratorV31(definitions, { unionPreferredType: 'oneOf' });
  const document = generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'SMS verification and ACS token API',
      version: '0.1.0',
      description:
        'Phone verification over SMS (Twilio), Azure Communication Services identities and tokens, and self-service routes for signed-in users (Microsoft Entra ID through the auth sidecar). Errors are RFC 9457 `application/problem+json`.',
    },
    servers: [{ url: serverUrl }],
    tags,
  });
  return { ...document };
}
