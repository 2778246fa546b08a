import { app, type HttpResponseInit } from '@azure/functions';
import { json } from '../http/respond';
import { buildOpenApiDocument, DOCS_ROUTE, DOCUMENT_ROUTE } from './document';
import { renderReferencePage } from './reference-page';

/** Built once: the document only depends on the code. */
let document: Record<string, unknown> | undefined;
let page: string | undefined;
const openApiDocument = (): Record<string, unknown> => (document ??= buildOpenApiDocument());

/** `GET /api/openapi.json`: the OpenAPI 3.1 description of every route. */
export async function getOpenApiDocument(): Promise<HttpResponseInit> {
  return Promise.resolve(json(200, openApiDocument()));
}

/** `GET /api/docs`: the same document as a readable page (server-rendered, no script). */
export async function getApiReference(): Promise<HttpResponseInit> {
  page ??= renderReferencePage(openApiDocument(), DOCUMENT_ROUTE);
  return Promise.resolve({
    status: 200,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // Nothing on the page runs or loads: a compromised description could not script it either.
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
    },
    body: page,
  });
}

app.http('getOpenApiDocument', {
  route: DOCUMENT_ROUTE,
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: getOpenApiDocument,
});

app.http('getApiReference', {
  route: DOCS_ROUTE,
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: getApiReference,
});
