import type { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { AppErrorCode } from '../errors';
import { PROBLEM_CONTENT_TYPE } from './problem';

/**
 * What every feature needs to describe its routes in the OpenAPI document: one call per route
 * ({@link registerOperation}) with the zod schemas the handlers parse with, and the problem
 * answers each error status gives. Each feature exports one `register<Feature>OpenApi(registry)`
 * ({@link RegisterOpenApi}); `src/openapi/document.ts` composes them.
 */

/** A group of operations in the document (and a section of `/api/docs`). */
export interface ApiTag {
  readonly name: string;
  readonly description?: string;
}

/** A feature's contribution: its routes and schemas into `registry`, and the tag they use. */
export type RegisterOpenApi = (registry: OpenAPIRegistry) => ApiTag | void;

/** Security requirement alternatives: each one alone opens the operation. */
export type Security = readonly Record<string, string[]>[];

/** The Functions host's function key, as a header or as the `code` query parameter. */
export const FUNCTION_KEY_SCHEMES = {
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
} as const;
export const FUNCTION_KEY: Security = [{ functionKeyHeader: [] }, { functionKeyQuery: [] }];
export const ANONYMOUS: Security = [];

const METHODS = { GET: 'get', POST: 'post', DELETE: 'delete' } as const;

/** An operation's name, route and method from a feature's function table (`{ route, method }`). */
export function functionRoute(
  operationId: string,
  registered: { readonly route: string; readonly method: keyof typeof METHODS },
): Pick<Operation, 'operationId' | 'route' | 'method'> {
  return { operationId, route: registered.route, method: METHODS[registered.method] };
}

export type ErrorStatus =
  400 | 401 | 403 | 404 | 405 | 409 | 410 | 413 | 429 | 500 | 502 | 503 | 504;

/** The app's machine-readable error codes (`code` member of problem documents). */
const APP_ERROR_CODES = [
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
] as const satisfies readonly AppErrorCode[];

/**
 * RFC 9457 problem details as `http/problem.ts` writes them. `reasons` are the refusal reasons that
 * features put in the `reason` member (the composer passes the fraud guard's).
 */
export function problemSchema(reasons: readonly string[]) {
  return z
    .object({
      type: z.string().meta({ examples: ['urn:sms-verification:problem:not-found'] }),
      title: z.string(),
      status: z.int().min(400).max(599),
      detail: z.string().optional(),
      code: z.enum(APP_ERROR_CODES).optional(),
      reason: z.enum(reasons).optional().meta({
        description:
          'The fraud guard rule that refused (with `validation_failed`, `forbidden`, `rate_limited` or `upstream_unavailable`).',
      }),
      instance: z.string().optional(),
      errors: z
        .array(z.object({ field: z.string(), message: z.string() }))
        .optional()
        .meta({ description: 'One entry per invalid field (validation_failed).' }),
      blocked: z
        .enum(['prefix', 'country'])
        .optional()
        .meta({ description: 'With `reason: conversion_blocked`: what the fraud guard blocked.' }),
      service: z
        .string()
        .optional()
        .meta({ description: 'The upstream service that failed (5xx).' }),
      invocationId: z
        .string()
        .optional()
        .meta({ description: 'Correlates a 500 with the host log.' }),
    })
    .meta({
      id: PROBLEM,
      description:
        'RFC 9457 problem details. Errors of the app carry a stable `code`; the host (missing key, unknown route, body too large, overload) answers with `type: about:blank` and no `code`.',
    });
}
const PROBLEM = 'Problem';

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

export interface Example {
  readonly summary: string;
  readonly value: unknown;
}

export interface SuccessResponse {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Default `application/json`. */
  readonly contentType?: string;
  readonly example?: unknown;
  readonly headers?: Readonly<Record<string, { readonly description: string }>>;
}

/** One route as the document describes it; the schemas are the ones its handler parses with. */
export interface Operation {
  /** The registered function's name. */
  readonly operationId: string;
  readonly method: 'get' | 'post' | 'delete';
  /** Below the host's route prefix, as registered (`verifications/{id}`). */
  readonly route: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  readonly security: Security;
  /** One schema per `{parameter}` of the route (checked at registration). */
  readonly params?: z.ZodObject;
  readonly requestBody?: {
    readonly schema: z.ZodType;
    readonly examples: Readonly<Record<string, Example>>;
    /** The body may be left out (`POST /api/acs/identities`). */
    readonly optional?: true;
    /** Default `application/json` (a form-encoded API says `application/x-www-form-urlencoded`). */
    readonly contentType?: string;
  };
  /** Success answers; the error answers come from `errors`. */
  readonly responses: Readonly<Record<number, SuccessResponse>>;
  readonly errors: readonly ErrorStatus[];
  /** What an error status means on this operation, where it says more than the generic text. */
  readonly errorDescriptions?: Partial<Record<ErrorStatus, string>>;
  /** The error body, where it is not RFC 9457 problem+json (Twilio's error shape, say). */
  readonly errorBody?: { readonly contentType: string; readonly schema: z.ZodType };
}

/** A route parameter with its constraints, `?`, default or catch-all stars: `{id:int}`, `{*rest}`. */
const ROUTE_PARAM = /\{\*{0,2}(\w+)[^}]*\}/g;

/** `verifications/{id}` → `/api/verifications/{id}` (route constraints such as `{id:int}` dropped). */
export function openApiPath(route: string, routePrefix = 'api'): string {
  return `/${routePrefix}/${route}`.replace(ROUTE_PARAM, '{$1}');
}

const JSON_TYPE = 'application/json';
const STRING_HEADER = { type: 'string' } as const;
const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: STRING_HEADER },
};

export function registerOperation(registry: OpenAPIRegistry, op: Operation): void {
  const routeParams = [...op.route.matchAll(ROUTE_PARAM)].map(([, name]) => name);
  const declared = Object.keys(op.params?.shape ?? {});
  if (routeParams.join() !== declared.join()) {
    throw new Error(
      `${op.operationId}: route parameters ${routeParams.join()} but schemas for ${declared.join()}`,
    );
  }
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    responses[status] = successResponse(response);
  }
  for (const status of op.errors) {
    responses[String(status)] = errorResponse(status, op);
  }
  registry.registerPath({
    operationId: op.operationId,
    method: op.method,
    path: openApiPath(op.route),
    tags: [op.tag],
    summary: op.summary,
    ...(op.description === undefined ? {} : { description: op.description }),
    security: [...op.security],
    request: {
      ...(op.params === undefined ? {} : { params: op.params }),
      ...(op.requestBody === undefined
        ? {}
        : {
            body: {
              required: op.requestBody.optional !== true,
              content: {
                [op.requestBody.contentType ?? JSON_TYPE]: {
                  schema: op.requestBody.schema,
                  examples: op.requestBody.examples,
                },
              },
            },
          }),
    },
    responses,
  });
}

function successResponse(response: SuccessResponse): ResponseConfig {
  const headers: Record<string, { description: string; schema: typeof STRING_HEADER }> = {};
  for (const [name, { description }] of Object.entries(response.headers ?? {})) {
    headers[name] = { description, schema: STRING_HEADER };
  }
  return {
    description: response.description,
    ...(response.headers === undefined ? {} : { headers }),
    ...(response.schema === undefined
      ? {}
      : {
          content: {
            [response.contentType ?? JSON_TYPE]: {
              schema: response.schema,
              ...(response.example === undefined ? {} : { example: response.example }),
            },
          },
        }),
  };
}

function errorResponse(status: ErrorStatus, op: Operation): ResponseConfig {
  const example = PROBLEM_EXAMPLES[status];
  const content =
    op.errorBody === undefined
      ? {
          [PROBLEM_CONTENT_TYPE]: {
            schema: { $ref: `#/components/schemas/${PROBLEM}` },
            ...(example === undefined ? {} : { example }),
          },
        }
      : { [op.errorBody.contentType]: { schema: op.errorBody.schema } };
  return {
    description: op.errorDescriptions?.[status] ?? ERROR_DESCRIPTIONS[status],
    ...(status === 429 ? { headers: RETRY_AFTER_HEADER } : {}),
    content,
  };
}
