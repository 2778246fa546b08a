import { HttpRequest, InvocationContext } from '@azure/functions';

import { withAuthenticatedCaller } from '../../src/me/authenticated-caller';
import type { AuthenticatedCaller } from '../../src/me/authenticated-caller';
import { SidecarClientError, SidecarServerError } from '../../src/me/sidecar';
import type { SidecarApi, ValidatedToken } from '../../src/me/sidecar';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../../src/errors';

const TOKEN = 'eyJhbGciOiJub25lIn0.eyJvaWQiOiJ1c2VyIn0.c2lnbmF0dXJl';
const CLAIMS = {
  oid: '00000000-0000-0000-0000-00000000000a',
  tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  scp: 'access',
};

function fakeSidecar(
  validate: (token: string) => Promise<ValidatedToken>,
): SidecarApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    validate: (token) => {
      calls.push(token);
      return validate(token);
    },
    getAuthorizationHeader: () => Promise.reject(new Error('unused')),
    callDownstreamApi: () => Promise.reject(new Error('unused')),
  };
}

function request(authorization?: string): HttpRequest {
  return new HttpRequest({
    method: 'GET',
    url: 'http://localhost:7071/api/me',
    headers: authorization === undefined ? {} : { authorization },
  });
}

function context(): InvocationContext {
  return new InvocationContext({
    functionName: 'test',
    invocationId: 'inv-1',
    logHandler: () => undefined,
  });
}

async function run(
  sidecar: SidecarApi,
  authorization?: string,
): Promise<{
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  seen?: AuthenticatedCaller;
}> {
  let seen: AuthenticatedCaller | undefined;
  const handler = withAuthenticatedCaller(
    (_req, _ctx, caller) => {
      seen = caller;
      return Promise.resolve({ status: 200, jsonBody: { ok: true } });
    },
    () => sidecar,
  );
  const res = await handler(request(authorization), context());
  const init = res as { status?: number; jsonBody?: unknown; headers?: Record<string, string> };
  return {
    status: init.status ?? 200,
    body: (init.jsonBody ?? {}) as Record<string, unknown>,
    headers: init.headers ?? {},
    ...(seen === undefined ? {} : { seen }),
  };
}

describe('withAuthenticatedCaller', () => {
  it('hands the validated oid/tid and the caller header to the handler', async () => {
    const sidecar = fakeSidecar(() => Promise.resolve({ protocol: 'Bearer', claims: CLAIMS }));
    const result = await run(sidecar, `Bearer ${TOKEN}`);
    expect(result.status).toBe(200);
    expect(result.seen).toMatchObject({
      objectId: CLAIMS.oid,
      tenantId: CLAIMS.tid,
      authorization: `Bearer ${TOKEN}`,
      claims: CLAIMS,
    });
    expect(sidecar.calls).toEqual([`Bearer ${TOKEN}`]);
  });

  it('accepts the scheme in any case', async () => {
    const sidecar = fakeSidecar(() => Promise.resolve({ protocol: 'Bearer', claims: CLAIMS }));
    expect((await run(sidecar, `bearer ${TOKEN}`)).status).toBe(200);
    expect(sidecar.calls).toEqual([`Bearer ${TOKEN}`]);
  });

  it('answers 401 problem+json without calling the sidecar when the header is missing', async () => {
    const sidecar = fakeSidecar(() => Promise.resolve({ protocol: 'Bearer', claims: CLAIMS }));
    const result = await run(sidecar);
    expect(result.status).toBe(401);
    expect(result.headers['Content-Type']).toBe('application/problem+json');
    expect(result.headers['WWW-Authenticate']).toBe('Bearer');
    expect(result.body).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(result.seen).toBeUndefined();
    expect(sidecar.calls).toEqual([]);
  });

  it.each(['Basic dXNlcjpwdw==', 'Bearer', 'Bearer a b', TOKEN, 'PoP abc'])(
    'answers 401 for a malformed header %j without calling the sidecar',
    async (header) => {
      const sidecar = fakeSidecar(() => Promise.resolve({ protocol: 'Bearer', claims: CLAIMS }));
      const result = await run(sidecar, header);
      expect(result.status).toBe(401);
      expect(sidecar.calls).toEqual([]);
    },
  );

  it('answers 401 when the sidecar rejects the token', async () => {
    const sidecar = fakeSidecar(() => Promise.reject(new SidecarClientError(401)));
    const result = await run(sidecar, `Bearer ${TOKEN}`);
    expect(result.status).toBe(401);
    expect(result.headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
    expect(JSON.stringify(result.body)).not.toContain(TOKEN);
    expect(result.seen).toBeUndefined();
  });

  it('answers 403 when the sidecar refuses the token for a missing scope', async () => {
    const sidecar = fakeSidecar(() => Promise.reject(new SidecarClientError(403)));
    expect((await run(sidecar, `Bearer ${TOKEN}`)).status).toBe(403);
  });

  it.each([
    ['unreachable', new UpstreamUnavailableError('auth-sidecar', 'down')],
    ['timing out', new UpstreamTimeoutError('auth-sidecar', 'slow')],
    ['failing', new SidecarServerError(500)],
    ['misconfigured', new SidecarClientError(400, 'Bad Request')],
  ])('answers 503 with Retry-After when the sidecar is %s', async (_what, error) => {
    const sidecar = fakeSidecar(() => Promise.reject(error));
    const result = await run(sidecar, `Bearer ${TOKEN}`);
    expect(result.status).toBe(503);
    expect(result.headers['Retry-After']).toBe('5');
    expect(result.body).toMatchObject({ code: 'upstream_unavailable', service: 'auth-sidecar' });
  });

  it.each([
    [{ tid: CLAIMS.tid }],
    [{ oid: CLAIMS.oid }],
    [{ oid: 'a/b', tid: CLAIMS.tid }],
    [{ oid: CLAIMS.oid, tid: 42 }],
  ])('answers 401 when the claims %j do not identify a user', async (claims) => {
    const sidecar = fakeSidecar(() => Promise.resolve({ protocol: 'Bearer', claims }));
    const result = await run(sidecar, `Bearer ${TOKEN}`);
    expect(result.status).toBe(401);
    expect(result.seen).toBeUndefined();
  });

  it('turns an unexpected failure into a generic 500 without internals', async () => {
    const sidecar = fakeSidecar(() => Promise.reject(new Error(`boom ${TOKEN}`)));
    const result = await run(sidecar, `Bearer ${TOKEN}`);
    expect(result.status).toBe(500);
    expect(JSON.stringify(result.body)).not.toContain('boom');
  });
});
