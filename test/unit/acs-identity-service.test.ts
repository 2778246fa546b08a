import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  CommunicationIdentityService,
  createCommunicationIdentityClient,
  mapAcsError,
} from '../../src/acs/identity-service';
import { loadSettings } from '../../src/composition';
import { NotFoundError, RateLimitedError, UpstreamError, ValidationError } from '../../src/errors';
import { validEnv } from './helpers/env';
import { StubServer } from './helpers/stub-server';

const USER = '8:acs:11111111-2222-3333-4444-555555555555_00000001-0000-0000-0000-000000000001';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3OTUwMDAwMDB9.c2ln';

describe('CommunicationIdentityService (official ACS SDK against a local server)', () => {
  let stub: StubServer;
  let service: CommunicationIdentityService;
  beforeEach(async () => {
    stub = await new StubServer().start();
    const config = loadSettings(
      validEnv({
        COMMUNICATION_SERVICES_CONNECTION_STRING: `endpoint=${stub.url}/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0`,
      }),
    );
    // No SDK retries, so failure cases answer at once.
    service = new CommunicationIdentityService(
      createCommunicationIdentityClient(config.acs, { retryOptions: { maxRetries: 0 } }),
    );
  });
  afterEach(() => stub.close());

  it('creates an identity with a token over plain http to loopback, signed with the access key', async () => {
    stub.replies.push({
      status: 201,
      body: {
        identity: { id: USER },
        accessToken: { token: JWT, expiresOn: '2026-11-23T10:00:00.0000000+00:00' },
      },
    });
    const created = await service.createIdentity({
      scopes: ['chat', 'voip'],
      expiresInMinutes: 60,
    });
    expect(created).toEqual({
      communicationUserId: USER,
      token: JWT,
      expiresOn: '2026-11-23T10:00:00.000Z',
    });
    const [req] = stub.requests;
    expect(req?.url).toBe('/identities?api-version=2023-10-01');
    expect(JSON.parse(req!.body)).toEqual({
      createTokenWithScopes: ['chat', 'voip'],
      expiresInMinutes: 60,
    });
    expect(req?.headers.authorization).toMatch(
      /^HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=/,
    );
  });

  it('issues, revokes and deletes with the encoded identity id', async () => {
    stub.replies.push(
      { status: 200, body: { token: JWT, expiresOn: '2026-11-23T10:00:00Z' } },
      { status: 204 },
      { status: 204 },
    );
    expect(await service.issueToken(USER, ['chat'])).toEqual({
      token: JWT,
      expiresOn: '2026-11-23T10:00:00.000Z',
    });
    await service.revokeTokens(USER);
    await service.deleteIdentity(USER);
    const encoded = encodeURIComponent(USER);
    expect(stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST /identities/${encoded}/:issueAccessToken?api-version=2023-10-01`,
      `POST /identities/${encoded}/:revokeAccessTokens?api-version=2023-10-01`,
      `DELETE /identities/${encoded}?api-version=2023-10-01`,
    ]);
  });

  it('maps IdentityNotOwned (401) to 404', async () => {
    stub.replies.push({
      status: 401,
      body: {
        error: {
          code: 'IdentityNotOwned',
          message: "Provided identity doesn't belong to the resource.",
        },
      },
    });
    await expect(service.issueToken(USER, ['chat'])).rejects.toBeInstanceOf(NotFoundError);
  });

  it('maps throttling to 429 with the upstream Retry-After', async () => {
    stub.replies.push({
      status: 429,
      headers: { 'Retry-After': '17' },
      body: { error: { code: 'TooManyRequests', message: 'slow down' } },
    });
    const error = await service.revokeTokens(USER).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).headers).toEqual({ 'Retry-After': '17' });
  });

  it('maps outages to 502 without copying the upstream message', async () => {
    stub.replies.push({
      status: 503,
      body: { error: { code: 'ServiceUnavailable', message: `token ${JWT}` } },
    });
    const error = await service.deleteIdentity(USER).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(502);
    expect((error as Error).message).not.toContain(JWT);
  });

  it('maps a refused connection to 503, like the other clients', async () => {
    await stub.close();
    const error = await service.createIdentity({}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(503);
    expect((error as UpstreamError).cause).toBeUndefined();
  });

  it('gives up on a hung ACS after the timeout with 504', async () => {
    const hung = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = hung.address() as AddressInfo;
      const config = loadSettings(
        validEnv({
          COMMUNICATION_SERVICES_CONNECTION_STRING: `endpoint=http://127.0.0.1:${port}/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0`,
        }),
      );
      const slow = new CommunicationIdentityService(
        createCommunicationIdentityClient(config.acs, {
          retryOptions: { maxRetries: 0 },
          timeoutMs: 100,
        }),
      );
      const error = await slow.revokeTokens(USER).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).status).toBe(504);
      expect((error as UpstreamError).code).toBe('upstream_timeout');
    } finally {
      hung.closeAllConnections();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });

  it('maps Teams exchange rejections to 400 on the offending input', async () => {
    stub.replies.push({
      status: 401,
      body: {
        error: { code: 'InvalidAccessToken', message: 'Provided access token is not valid.' },
      },
    });
    const request = {
      teamsUserAadToken: JWT,
      clientId: '00000000-0000-0000-0000-000000000001',
      userObjectId: '00000000-0000-0000-0000-000000000002',
    };
    const error = await service.exchangeTeamsToken(request).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems[0]?.field).toBe('teamsUserAadToken');
    expect(JSON.parse(stub.requests[0]!.body)).toEqual({
      token: JWT,
      appId: request.clientId,
      userId: request.userObjectId,
    });
  });

  it('treats credential failures other than IdentityNotOwned as an upstream problem', () => {
    const error = mapAcsError({ name: 'RestError', statusCode: 401, code: 'Denied' }, 'issue');
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toContain('credentials');
  });
});
