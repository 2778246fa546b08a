import './helpers/quiet-test-mode';
import { createAcsIdentityHandler } from '../../src/acs/handlers';
import { deleteAcsIdentityHandler } from '../../src/acs/handlers';
import { issueAcsTokenHandler } from '../../src/acs/handlers';
import { revokeAcsTokensHandler } from '../../src/acs/handlers';
import { exchangeTeamsTokenHandler } from '../../src/acs/handlers';
import { NotFoundError, RateLimitedError, UpstreamError, ValidationError } from '../../src/errors';
import { withErrors } from '../../src/http/respond';
import { FakeAcsIdentityService, bodyOf, headerOf, invocation, request } from './helpers/fakes';

const USER = '8:acs:11111111-2222-3333-4444-555555555555_00000001-0000-0000-0000-000000000001';
const CLIENT_ID = '00000000-0000-0000-0000-000000000001';
const OID = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const AAD_TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJvaWQiOiJ4In0.c2lnbmF0dXJl';

function setup(defaultClientId?: string) {
  const acs = new FakeAcsIdentityService();
  const deps = { acs: () => acs };
  return {
    acs,
    create: withErrors(createAcsIdentityHandler(deps)),
    issue: withErrors(issueAcsTokenHandler(deps)),
    revoke: withErrors(revokeAcsTokensHandler(deps)),
    remove: withErrors(deleteAcsIdentityHandler(deps)),
    teams: withErrors(
      exchangeTeamsTokenHandler({ ...deps, defaultClientId: () => defaultClientId }),
    ),
  };
}

const problemOf = async (response: Parameters<typeof bodyOf>[0]) => {
  expect(headerOf(response, 'content-type')).toBe('application/problem+json');
  return (await bodyOf(response)) as Record<string, unknown>;
};

describe('POST /api/acs/identities', () => {
  it('creates an identity without a token when no scopes are given (empty body)', async () => {
    const { acs, create } = setup();
    const response = await create(request({}), invocation());
    expect(response.status).toBe(201);
    expect(await bodyOf(response)).toEqual({ communicationUserId: USER });
    expect(acs.calls).toEqual([{ op: 'createIdentity', args: [{}] }]);
  });

  it('creates an identity and a token in one call when scopes are given', async () => {
    const { acs, create } = setup();
    const response = await create(
      request({ body: { scopes: ['chat', 'voip'], expiresInMinutes: 60 } }),
      invocation(),
    );
    expect(response.status).toBe(201);
    expect(await bodyOf(response)).toEqual({ communicationUserId: USER, ...acs.token });
    expect(acs.calls).toEqual([
      { op: 'createIdentity', args: [{ scopes: ['chat', 'voip'], expiresInMinutes: 60 }] },
    ]);
  });

  it.each([
    ['an empty scope list', { scopes: [] }, 'scopes'],
    ['an unknown scope', { scopes: ['chat', 'admin'] }, 'scopes'],
    ['duplicate scopes', { scopes: ['chat', 'chat'] }, 'scopes'],
    ['scopes that are not an array', { scopes: 'chat' }, 'scopes'],
    ['expiresInMinutes below 60', { scopes: ['chat'], expiresInMinutes: 59 }, 'expiresInMinutes'],
    [
      'expiresInMinutes above 1440',
      { scopes: ['chat'], expiresInMinutes: 1441 },
      'expiresInMinutes',
    ],
    [
      'a fractional expiresInMinutes',
      { scopes: ['chat'], expiresInMinutes: 90.5 },
      'expiresInMinutes',
    ],
    ['expiresInMinutes without scopes', { expiresInMinutes: 120 }, 'expiresInMinutes'],
    ['an unknown property', { scope: ['chat'] }, 'scope'],
  ])('answers 400 for %s without calling ACS', async (_label, body, field) => {
    const { acs, create } = setup();
    const response = await create(request({ body }), invocation());
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field })]),
    );
    expect(acs.calls).toEqual([]);
  });

  it('answers 429 with Retry-After when ACS throttles', async () => {
    const { acs, create } = setup();
    acs.failure = new RateLimitedError(
      'Azure Communication Services is throttling requests; retry later.',
      7,
    );
    const response = await create(request({ body: { scopes: ['chat'] } }), invocation());
    expect(response.status).toBe(429);
    expect(headerOf(response, 'retry-after')).toBe('7');
  });

  it('answers 502 when ACS fails', async () => {
    const { acs, create } = setup();
    acs.failure = new UpstreamError(
      'acs-identity',
      'Azure Communication Services failed with HTTP 503.',
      503,
    );
    const response = await create(request({}), invocation());
    expect(response.status).toBe(502);
    expect(await problemOf(response)).toMatchObject({
      code: 'upstream_failed',
      service: 'acs-identity',
    });
  });
});

describe('POST /api/acs/identities/{communicationUserId}/token', () => {
  const issueRequest = (body: unknown, id = USER) =>
    request({ params: { communicationUserId: id }, body });

  it('issues a token for the identity (200)', async () => {
    const { acs, issue } = setup();
    const response = await issue(
      issueRequest({ scopes: ['voip.join'], expiresInMinutes: 1440 }),
      invocation(),
    );
    expect(response.status).toBe(200);
    expect(await bodyOf(response)).toEqual(acs.token);
    expect(acs.calls).toEqual([{ op: 'issueToken', args: [USER, ['voip.join'], 1440] }]);
  });

  it('decodes a percent-encoded identity id from the route', async () => {
    const { acs, issue } = setup();
    const response = await issue(
      issueRequest({ scopes: ['chat'] }, encodeURIComponent(USER)),
      invocation(),
    );
    expect(response.status).toBe(200);
    expect(acs.calls[0]?.args[0]).toBe(USER);
  });

  it('requires scopes', async () => {
    const { acs, issue } = setup();
    const response = await issue(issueRequest({ expiresInMinutes: 60 }), invocation());
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors).toEqual([{ field: 'scopes', message: 'required' }]);
    expect(acs.calls).toEqual([]);
  });

  it.each(['abc', '8:orgid:1234', '8:acs:no-underscore', `${USER}/x`])(
    'answers 400 for the identity id %s',
    async (id) => {
      const { acs, issue } = setup();
      const response = await issue(issueRequest({ scopes: ['chat'] }, id), invocation());
      expect(response.status).toBe(400);
      expect((await problemOf(response)).errors).toEqual([
        expect.objectContaining({ field: 'communicationUserId' }),
      ]);
      expect(acs.calls).toEqual([]);
    },
  );

  it('answers 404 for an unknown or foreign identity', async () => {
    const { acs, issue } = setup();
    acs.failure = new NotFoundError('No such communication identity.');
    const response = await issue(issueRequest({ scopes: ['chat'] }), invocation());
    expect(response.status).toBe(404);
  });
});

describe('POST /api/acs/identities/{id}/revoke and DELETE /api/acs/identities/{id}', () => {
  it('revokes tokens (204)', async () => {
    const { acs, revoke } = setup();
    const response = await revoke(request({ params: { communicationUserId: USER } }), invocation());
    expect(response.status).toBe(204);
    expect(acs.calls).toEqual([{ op: 'revokeTokens', args: [USER] }]);
  });

  it('deletes the identity (204)', async () => {
    const { acs, remove } = setup();
    const response = await remove(
      request({ method: 'DELETE', params: { communicationUserId: USER } }),
      invocation(),
    );
    expect(response.status).toBe(204);
    expect(acs.calls).toEqual([{ op: 'deleteIdentity', args: [USER] }]);
  });

  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    const { acs, revoke, remove } = setup();
    expect(
      (await revoke(request({ params: { communicationUserId: 'nope' } }), invocation())).status,
    ).toBe(400);
    expect(
      (
        await remove(
          request({ method: 'DELETE', params: { communicationUserId: 'nope' } }),
          invocation(),
        )
      ).status,
    ).toBe(400);
    acs.failure = new NotFoundError('No such communication identity.');
    expect(
      (await revoke(request({ params: { communicationUserId: USER } }), invocation())).status,
    ).toBe(404);
    expect(
      (
        await remove(
          request({ method: 'DELETE', params: { communicationUserId: USER } }),
          invocation(),
        )
      ).status,
    ).toBe(404);
  });
});

/** A Teams token exchange whose body has no clientId, with `ACS_TEAMS_CLIENT_ID` set to `teamsClientId`. */
async function exchangeWithoutClientId(teamsClientId: string | undefined) {
  const { acs, teams } = setup(teamsClientId);
  const response = await teams(
    request({ body: { teamsUserAadToken: AAD_TOKEN, userObjectId: OID } }),
    invocation(),
  );
  return { acs, response };
}

describe('POST /api/acs/teams-token', () => {
  const body = { teamsUserAadToken: AAD_TOKEN, clientId: CLIENT_ID, userObjectId: OID };

  it('exchanges a Teams user token (200)', async () => {
    const { acs, teams } = setup();
    const response = await teams(request({ body }), invocation());
    expect(response.status).toBe(200);
    expect(await bodyOf(response)).toEqual(acs.token);
    expect(acs.calls).toEqual([{ op: 'exchangeTeamsToken', args: [body] }]);
  });

  it('uses ACS_TEAMS_CLIENT_ID when the body has no clientId', async () => {
    const { acs, response } = await exchangeWithoutClientId(CLIENT_ID);
    expect(response.status).toBe(200);
    expect(acs.calls[0]?.args[0]).toEqual(body);
  });

  it('lists every invalid field at once and never echoes the token', async () => {
    const { acs, teams } = setup();
    const response = await teams(
      request({ body: { teamsUserAadToken: 'not a jwt', userObjectId: 'x' } }),
      invocation(),
    );
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect((problem.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([
      'clientId',
      'teamsUserAadToken',
      'userObjectId',
    ]);
    expect(JSON.stringify(problem)).not.toContain('not a jwt');
    expect(acs.calls).toEqual([]);
  });
});

describe('POST /api/acs/teams-token upstream failures', () => {
  const body = { teamsUserAadToken: AAD_TOKEN, clientId: CLIENT_ID, userObjectId: OID };

  it('passes on a rejection of the Teams token as 400 and ACS outages as 502', async () => {
    const { acs, teams } = setup();
    acs.failure = new ValidationError({
      field: 'teamsUserAadToken',
      message: 'was rejected by Azure Communication Services (invalid or expired)',
    });
    const rejected = await teams(request({ body }), invocation());
    expect(rejected.status).toBe(400);
    expect(JSON.stringify(await bodyOf(rejected))).not.toContain(AAD_TOKEN);
    acs.failure = new UpstreamError(
      'acs-identity',
      'Azure Communication Services failed with HTTP 500.',
      500,
    );
    expect((await teams(request({ body }), invocation())).status).toBe(502);
  });

  it('answers 400 when neither the body nor ACS_TEAMS_CLIENT_ID gives a clientId', async () => {
    const { acs, response } = await exchangeWithoutClientId(undefined);
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors).toEqual([
      { field: 'clientId', message: 'required' },
    ]);
    expect(acs.calls).toEqual([]);
  });
});
