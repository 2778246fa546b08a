import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Handler } from '../http/respond';
import { authenticate, type AuthDeps, type Principal } from './auth';
import { VerifyApiError, invalidParameter, withVerifyErrors } from './errors';

/**
 * The Verify API as a route table: one entry per path, one operation per method. Each operation
 * gets an authenticated call with its parameters (the form body of a POST, the query of a GET or
 * DELETE) and returns its answer; routes are added by adding entries, nothing else changes.
 */
export type VerifyMethod = 'GET' | 'POST' | 'DELETE';

export interface VerifyCall {
  readonly request: HttpRequest;
  readonly context: InvocationContext;
  readonly principal: Principal;
  /** The form body (POST) or the query string (GET, DELETE): Twilio's parameters. */
  readonly params: URLSearchParams;
  /** A route parameter; '' when absent. */
  routeParam(name: string): string;
}

export type VerifyOperation = (call: VerifyCall) => Promise<HttpResponseInit>;

export interface VerifyRoute {
  /** The function's name, unique in the app. */
  readonly name: string;
  /** Below the host's route prefix, e.g. `verify/v2/Services/{Sid}`. */
  readonly route: string;
  readonly operations: Readonly<Partial<Record<VerifyMethod, VerifyOperation>>>;
}

/** Twilio's bodies are a few form fields; anything larger is refused before parsing. */
const MAX_FORM_BYTES = 16 * 1024;

export function createVerifyHandler(route: VerifyRoute, auth: AuthDeps): Handler {
  return withVerifyErrors(async (request, context) => {
    const principal = await authenticate(request, auth);
    const operation = route.operations[request.method.toUpperCase() as VerifyMethod];
    if (operation === undefined) {
      throw new VerifyApiError('methodNotAllowed', undefined, {
        Allow: Object.keys(route.operations).join(', '),
      });
    }
    const params =
      request.method.toUpperCase() === 'POST'
        ? await readForm(request)
        : new URL(request.url).searchParams;
    return operation({
      request,
      context,
      principal,
      params,
      routeParam: (name) => request.params[name] ?? '',
    });
  });
}

async function readForm(request: HttpRequest): Promise<URLSearchParams> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > MAX_FORM_BYTES) {
    throw invalidParameter('body', 'is too large');
  }
  const text = await request.text();
  if (Buffer.byteLength(text, 'utf8') > MAX_FORM_BYTES)
    throw invalidParameter('body', 'is too large');
  return new URLSearchParams(text);
}
