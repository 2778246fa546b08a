import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommunicationIdentityClient } from '@azure/communication-identity';
import { startAcsIdentityEmulator } from '../src/acs-identity/server';
import {
  DEFAULT_SIDECAR_CLIENT_ID,
  downstreamApisFromEnv,
  startAgentIdEmulator,
  type AgentIdEmulator,
} from '../src/agentid/server';
import { decodeJwt, generateSigningKey, signJwt } from '../src/common/jwt';

const OID = '6e8b3f0a-1111-4222-8333-944445555666';
const TID = '72f988bf-0000-4000-8000-000000000011';

function claimsOf(header: string): Record<string, unknown> {
  const token = header.replace(/^Bearer /, '');
  const d = decodeJwt(token);
  if (d === undefined) throw new Error('not a JWT');
  return d.payload;
}

interface Json {
  [k: string]: unknown;
}

describe('AgentID sidecar emulator (HTTP level)', () => {
  let emu: AgentIdEmulator;
  let echo: http.Server;
  let echoUrl: string;
  let lastEcho:
    { method: string; url: string; headers: http.IncomingHttpHeaders; body: string } | undefined;
  const lines: string[] = [];
  let userToken: string;

  const get = (path: string, token?: string): Promise<Response> =>
    fetch(`${emu.url}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
  const post = (
    path: string,
    token?: string,
    body?: string,
    contentType?: string,
  ): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (contentType !== undefined) headers['content-type'] = contentType;
    return fetch(`${emu.url}${path}`, {
      method: 'POST',
      headers,
      ...(body === undefined ? {} : { body }),
    });
  };

  beforeAll(async () => {
    echo = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        lastEcho = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        if (req.url?.includes('/chunked') === true) {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-request-id': 'abc' });
          res.write('part1');
          res.end('part2');
          return;
        }
        const text = JSON.stringify({ ok: true });
        res.writeHead(201, {
          'content-type': 'application/json',
          'content-length': String(text.length),
          'x-request-id': 'abc',
          location: '/x',
        });
        res.end(text);
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
    emu = await startAgentIdEmulator({
      port: 0,
      log: (l) => lines.push(l),
      downstreamApis: {
        echo: {
          baseUrl: `${echoUrl}/api`,
          scopes: ['api://echo-api/access_as_user'],
          relativePath: 'items',
        },
        dead: { baseUrl: 'http://127.0.0.1:1', scopes: ['User.Read'] },
      },
    });
    userToken = emu.issueToken({ oid: OID, tid: TID, name: 'Ada Lovelace', scp: 'access_as_user' });
  });
  afterAll(async () => {
    await emu.close();
    echo.closeAllConnections();
    await new Promise<void>((r) => echo.close(() => r()));
  });
  beforeEach(() => {
    emu.reset();
    lines.length = 0;
    lastEcho = undefined;
  });

  describe('/healthz', () => {
    it('answers Healthy without auth; other verbs 405', async () => {
      const res = await get('/healthz');
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Healthy');
      expect((await post('/healthz')).status).toBe(405);
    });
    it('listens on localhost over IPv4 and (when available) IPv6', () => {
      expect(emu.url).toBe(`http://localhost:${emu.port}`);
    });
  });

  describe('/Validate', () => {
    it('returns protocol, raw token and decoded claims for a valid token', async () => {
      const res = await get('/Validate', userToken);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache, no-store, must-revalidate');
      const body = (await res.json()) as Json;
      expect(body['protocol']).toBe('Bearer');
      expect(body['token']).toBe(userToken);
      expect(body['claims']).toMatchObject({
        oid: OID,
        tid: TID,
        name: 'Ada Lovelace',
        scp: 'access_as_user',
        aud: DEFAULT_SIDECAR_CLIENT_ID,
        ver: '2.0',
      });
    });
    it('routes case-insensitively like ASP.NET', async () => {
      expect((await get('/validate', userToken)).status).toBe(200);
    });
    it('answers 401 with WWW-Authenticate and no body when the token is missing', async () => {
      const res = await get('/Validate');
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).toBe('');
    });
    it.each([
      ['garbage', (): string => 'not-a-jwt'],
      ['signed by another key', (): string => signJwt(generateSigningKey(), claimsOf(userToken))],
      ['expired', (): string => emu.issueToken({ oid: OID, tid: TID, expiresInSeconds: -600 })],
      [
        'for another audience',
        (): string => emu.issueToken({ oid: OID, tid: TID, aud: 'https://graph.microsoft.com' }),
      ],
      ['unsigned', (): string => `${userToken.split('.').slice(0, 2).join('.')}.`],
    ])('answers 401 invalid_token for a token that is %s', async (_name, make) => {
      const res = await get('/Validate', make());
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });
    it('tolerates 5 minutes of clock skew on expiry', async () => {
      const res = await get(
        '/Validate',
        emu.issueToken({ oid: OID, tid: TID, expiresInSeconds: -60 }),
      );
      expect(res.status).toBe(200);
    });
    it('answers 403 in plain text when AzureAd:Scopes is not in scp', async () => {
      const strict = await startAgentIdEmulator({
        port: 0,
        log: () => undefined,
        requiredScope: 'Sidecar.Access',
      });
      try {
        const denied = await fetch(`${strict.url}/Validate`, {
          headers: { authorization: `Bearer ${strict.issueToken({ oid: OID, tid: TID })}` },
        });
        expect(denied.status).toBe(403);
        expect(denied.headers.get('content-type')).toContain('text/plain');
        const ok = await fetch(`${strict.url}/Validate`, {
          headers: {
            authorization: `Bearer ${strict.issueToken({ oid: OID, tid: TID, scp: 'Sidecar.Access other' })}`,
          },
        });
        expect(ok.status).toBe(200);
      } finally {
        await strict.close();
      }
    });
  });

  describe('/AuthorizationHeader/{api}', () => {
    it('acquires an OBO token for the configured Graph scopes', async () => {
      const res = await get('/AuthorizationHeader/graph', userToken);
      expect(res.status).toBe(200);
      const { authorizationHeader } = (await res.json()) as { authorizationHeader: string };
      expect(authorizationHeader).toMatch(/^Bearer ey/);
      expect(claimsOf(authorizationHeader)).toMatchObject({
        aud: 'https://graph.microsoft.com',
        scp: 'User.Read Mail.Read Mail.Send',
        oid: OID,
        tid: TID,
        appid: DEFAULT_SIDECAR_CLIENT_ID,
        idtyp: 'user',
        name: 'Ada Lovelace',
      });
    });
    it('replaces scopes with optionsOverride.Scopes (repeatable, case-insensitive key)', async () => {
      const res = await get(
        '/AuthorizationHeader/graph?optionsOverride.Scopes=User.Read&OPTIONSOVERRIDE.SCOPES=Mail.Read',
        userToken,
      );
      const { authorizationHeader } = (await res.json()) as { authorizationHeader: string };
      expect(claimsOf(authorizationHeader)['scp']).toBe('User.Read Mail.Read');
    });
    it('answers 400 problem+json "No scopes found" for an unknown API name', async () => {
      const res = await get('/AuthorizationHeader/nope', userToken);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = (await res.json()) as Json;
      expect(body).toMatchObject({
        type: 'https://tools.ietf.org/html/rfc9110#section-15.5.1',
        title: 'Bad Request',
        status: 400,
        detail:
          "No scopes found for the API 'nope' or in optionsOverride. 'scopes' needs to be either a single value or a list of values.",
      });
      expect(body['traceId']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    });
    it.each([
      [
        'with the MSAL message for scopes of more than one resource',
        'optionsOverride.Scopes=User.Read&optionsOverride.Scopes=api://other/x',
        /^AADSTS28000/,
      ],
      [
        'AADSTS65001 for a permission the tenant never consented',
        'optionsOverride.Scopes=Directory.ReadWrite.All',
        /^AADSTS65001/,
      ],
    ])('answers 401 %s', async (_case, query, detail) => {
      const res = await get(`/AuthorizationHeader/graph?${query}`, userToken);
      expect(res.status).toBe(401);
      expect(((await res.json()) as Json)['detail']).toMatch(detail);
    });
    it('answers 500 for an app token with a scope that does not end in /.default', async () => {
      const res = await get(
        '/AuthorizationHeader/graph?optionsOverride.RequestAppToken=true',
        userToken,
      );
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({
        status: 500,
        detail: 'An unexpected error occurred.',
      });
    });
    it('issues app tokens with roles for RequestAppToken APIs', async () => {
      const res = await get('/AuthorizationHeader/graph-app', userToken);
      const { authorizationHeader } = (await res.json()) as { authorizationHeader: string };
      const c = claimsOf(authorizationHeader);
      expect(c).toMatchObject({
        aud: 'https://graph.microsoft.com',
        idtyp: 'app',
        appid: DEFAULT_SIDECAR_CLIENT_ID,
        tid: emu.tenantId,
      });
      expect(c['scp']).toBeUndefined();
      expect(c['roles']).toEqual(['User.Read.All', 'Mail.Send']);
    });
    it('requires an inbound token (401) and GET (405)', async () => {
      expect((await get('/AuthorizationHeader/graph')).status).toBe(401);
      expect((await post('/AuthorizationHeader/graph', userToken)).status).toBe(405);
    });
    it('applies agent parameters: OBO via the agent, agent user by UPN (wins) or OID, bad OID falls back', async () => {
      const agent = '0a9e0a9e-0000-4000-8000-00000000a9e1';
      const claimsFor = async (query: string): Promise<Record<string, unknown>> => {
        const res = await get(`/AuthorizationHeader/graph?${query}`, userToken);
        expect(res.status).toBe(200);
        return claimsOf(
          ((await res.json()) as { authorizationHeader: string }).authorizationHeader,
        );
      };
      expect(await claimsFor(`AgentIdentity=${agent}`)).toMatchObject({ appid: agent, oid: OID });
      const byUpn = await claimsFor(
        `AgentIdentity=${agent}&AgentUsername=agent@contoso.com&AgentUserId=11111111-1111-1111-1111-111111111111`,
      );
      expect(byUpn).toMatchObject({ appid: agent, upn: 'agent@contoso.com' });
      expect(byUpn['oid']).not.toBe(OID);
      expect(
        await claimsFor(`AgentIdentity=${agent}&AgentUserId=11111111-1111-1111-1111-111111111111`),
      ).toMatchObject({ appid: agent, oid: '11111111-1111-1111-1111-111111111111' });
      expect(await claimsFor(`AgentIdentity=${agent}&AgentUserId=not-a-guid`)).toMatchObject({
        appid: agent,
        oid: OID,
      });
      // Without AgentIdentity the user parameters are ignored.
      expect(await claimsFor('AgentUsername=agent@contoso.com')).toMatchObject({
        appid: DEFAULT_SIDECAR_CLIENT_ID,
        oid: OID,
      });
    });
    it('injects MSAL failures for the next acquisitions', async () => {
      emu.failNextTokenAcquisition({ count: 1, detail: 'AADSTS50076: MFA required.' });
      const failed = await get('/AuthorizationHeader/graph', userToken);
      expect(failed.status).toBe(401);
      expect(((await failed.json()) as Json)['detail']).toBe('AADSTS50076: MFA required.');
      expect((await get('/AuthorizationHeader/graph', userToken)).status).toBe(200);
    });
  });

  describe('/AuthorizationHeaderUnauthenticated/{api}', () => {
    it('issues an app token without an inbound token', async () => {
      const res = await get('/AuthorizationHeaderUnauthenticated/graph-app');
      expect(res.status).toBe(200);
      expect(
        claimsOf(((await res.json()) as { authorizationHeader: string }).authorizationHeader),
      ).toMatchObject({ idtyp: 'app', appid: DEFAULT_SIDECAR_CLIENT_ID });
    });
    it('answers 401 (no user to act for) when the API is not app-only', async () => {
      const res = await get('/AuthorizationHeaderUnauthenticated/graph');
      expect(res.status).toBe(401);
      expect(((await res.json()) as Json)['detail']).toMatch(/^IDW10502/);
    });
    it('ignores overrides and agent parameters by default (Sidecar:AllowOverrides off)', async () => {
      const agent = '0a9e0a9e-0000-4000-8000-00000000a9e1';
      const res = await get(
        `/AuthorizationHeaderUnauthenticated/graph-app?AgentIdentity=${agent}&optionsOverride.AcquireTokenOptions.Tenant=${TID}`,
      );
      expect(
        claimsOf(((await res.json()) as { authorizationHeader: string }).authorizationHeader),
      ).toMatchObject({ appid: DEFAULT_SIDECAR_CLIENT_ID, tid: emu.tenantId });
      const stillUser = await get(
        '/AuthorizationHeaderUnauthenticated/graph?optionsOverride.RequestAppToken=true',
      );
      expect(stillUser.status).toBe(401);
    });
    it('honours overrides and agents when allowed', async () => {
      const open = await startAgentIdEmulator({
        port: 0,
        log: () => undefined,
        allowOverrides: { getAuthorizationHeaderUnauthenticated: true },
      });
      try {
        const agent = '0a9e0a9e-0000-4000-8000-00000000a9e1';
        const auto = await fetch(
          `${open.url}/AuthorizationHeaderUnauthenticated/graph-app?AgentIdentity=${agent}&optionsOverride.AcquireTokenOptions.Tenant=${TID}`,
        );
        expect(
          claimsOf(((await auto.json()) as { authorizationHeader: string }).authorizationHeader),
        ).toMatchObject({ appid: agent, idtyp: 'app', tid: TID });
        const agentUser = await fetch(
          `${open.url}/AuthorizationHeaderUnauthenticated/graph?AgentIdentity=${agent}&AgentUsername=bot@contoso.com`,
        );
        expect(
          claimsOf(
            ((await agentUser.json()) as { authorizationHeader: string }).authorizationHeader,
          ),
        ).toMatchObject({ appid: agent, idtyp: 'user', upn: 'bot@contoso.com' });
      } finally {
        await open.close();
      }
    });
  });

  describe('/DownstreamApi/{api} and the fake Graph', () => {
    /** A downstream call as the user: the sidecar answers 200 with the downstream status and body inside. */
    const downstream = async (path: string) =>
      (await (await post(path, userToken)).json()) as { statusCode: number; content: string };
    const graphErrorCode = (content: string) =>
      (JSON.parse(content) as { error: { code: string } }).error.code;

    it('calls Graph me: downstream result inside a 200, content headers as arrays, content as a string', async () => {
      const res = await post('/DownstreamApi/graph?optionsOverride.RelativePath=me', userToken);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        statusCode: number;
        headers: Record<string, string[]>;
        content: string;
      };
      expect(body.statusCode).toBe(200);
      expect(body.headers['Content-Type']).toEqual(['application/json; charset=utf-8']);
      expect(body.headers['Content-Length']).toHaveLength(1);
      const me = JSON.parse(body.content) as Json;
      expect(me).toMatchObject({
        id: OID,
        displayName: 'Ada Lovelace',
        givenName: 'Ada',
        surname: 'Lovelace',
      });
      expect(me['userPrincipalName']).toMatch(/@emulator\.onmicrosoft\.com$/);
    });
    it('pages me/messages with $top', async () => {
      const res = await post(
        '/DownstreamApi/graph?optionsOverride.RelativePath=me/messages&optionsOverride.ExtraQueryParameters.$top=2',
        userToken,
      );
      const body = (await res.json()) as { statusCode: number; content: string };
      const page = JSON.parse(body.content) as {
        value: { subject: string }[];
        '@odata.nextLink'?: string;
      };
      expect(body.statusCode).toBe(200);
      expect(page.value).toHaveLength(2);
      expect(page['@odata.nextLink']).toContain('$skip=2');
      const bad = await downstream(
        '/DownstreamApi/graph?optionsOverride.RelativePath=me/messages%3F%24top%3D0',
      );
      expect(bad.statusCode).toBe(400);
      expect(graphErrorCode(bad.content)).toBe('BadRequest');
    });
    it('sends mail (202, null content) and the message shows up in the mailbox', async () => {
      const mail = {
        message: {
          subject: 'Hello',
          body: { contentType: 'Text', content: 'Hi there' },
          toRecipients: [{ emailAddress: { address: 'ada@contoso.com' } }],
        },
        saveToSentItems: false,
      };
      const res = await post(
        '/DownstreamApi/graph?optionsOverride.RelativePath=me/sendMail&optionsOverride.HttpMethod=POST',
        userToken,
        JSON.stringify(mail),
        'application/json',
      );
      const body = (await res.json()) as { statusCode: number; content: string | null };
      expect(body.statusCode).toBe(202);
      expect(body.content).toBeNull();
      expect(emu.sentMail()).toEqual([
        expect.objectContaining({
          subject: 'Hello',
          to: ['ada@contoso.com'],
          body: 'Hi there',
          saveToSentItems: false,
        }),
      ]);
      const sent = (await (await fetch(`${emu.url}/_emulator/graph/sent`)).json()) as {
        messages: unknown[];
      };
      expect(sent.messages).toHaveLength(1);
    });
    it('keeps one mailbox per user (tid and whole oid), even when the ids share a prefix', async () => {
      // Same first 8 characters (and more) as OID: a prefix key would hand Ada's mailbox to Bob.
      const bobOid = `${OID.slice(0, 24)}777777777777`;
      const bobToken = emu.issueToken({
        oid: bobOid,
        tid: TID,
        name: 'Bob',
        scp: 'access_as_user',
      });
      const otherTenantToken = emu.issueToken({
        oid: OID,
        tid: '72f988bf-0000-4000-8000-000000000099',
        name: 'Ada Elsewhere',
        scp: 'access_as_user',
      });
      const graph = async (token: string, relativePath: string, body?: unknown): Promise<Json> => {
        const res = await post(
          `/DownstreamApi/graph?optionsOverride.RelativePath=${relativePath}` +
            (body === undefined ? '' : '&optionsOverride.HttpMethod=POST'),
          token,
          body === undefined ? undefined : JSON.stringify(body),
          body === undefined ? undefined : 'application/json',
        );
        const wrapped = (await res.json()) as { statusCode: number; content: string | null };
        expect(wrapped.statusCode).toBeLessThan(300);
        return wrapped.content === null ? {} : (JSON.parse(wrapped.content) as Json);
      };
      const subjects = async (token: string): Promise<string[]> =>
        ((await graph(token, 'me/messages')).value as { subject: string }[]).map((m) => m.subject);

      const mailFromBob = (to: string, subject: string, content: string) =>
        graph(bobToken, 'me/sendMail', {
          message: {
            subject,
            body: { contentType: 'Text', content },
            toRecipients: [{ emailAddress: { address: to } }],
          },
        });

      const adaAddress = String((await graph(userToken, 'me')).userPrincipalName);
      const bobAddress = String((await graph(bobToken, 'me')).userPrincipalName);
      expect(bobAddress).not.toBe(adaAddress);
      await mailFromBob(bobAddress, 'For Bob only', 'private');

      expect(await subjects(bobToken)).toContain('For Bob only');
      expect(await subjects(userToken)).not.toContain('For Bob only');
      expect(await subjects(otherTenantToken)).not.toContain('For Bob only');
      // Mail to Ada's address reaches Ada, not Bob.
      await mailFromBob(adaAddress, 'For Ada', 'hello');
      expect(await subjects(userToken)).toContain('For Ada');
      expect(await subjects(bobToken)).not.toContain('For Ada');
    });
    it('sends no body downstream when the request has no Content-Type', async () => {
      const res = await fetch(
        `${emu.url}/DownstreamApi/graph?optionsOverride.RelativePath=me/sendMail&optionsOverride.HttpMethod=POST`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${userToken}` },
          body: new Blob(['{"message":{}}']),
        },
      );
      const body = (await res.json()) as { statusCode: number; content: string };
      expect(body.statusCode).toBe(400);
      expect(emu.sentMail()).toHaveLength(0);
    });
    it('reports Graph errors inside the 200 (app token on /me, missing permission)', async () => {
      const app = await downstream('/DownstreamApi/graph-app?optionsOverride.RelativePath=me');
      expect(app.statusCode).toBe(400);
      expect(app.content).toContain('delegated authentication flow');
      const noMail = await downstream(
        '/DownstreamApi/graph?optionsOverride.RelativePath=me/messages&optionsOverride.Scopes=User.Read',
      );
      expect(noMail.statusCode).toBe(403);
      expect(graphErrorCode(noMail.content)).toBe('ErrorAccessDenied');
    });
    it('forwards method, auth, extra headers/query and the body; returns only content headers', async () => {
      const res = await post(
        '/DownstreamApi/echo?optionsOverride.HttpMethod=PUT&optionsOverride.ExtraHeaderParameters.X-Custom=yes&optionsOverride.ExtraQueryParameters.q=1&optionsOverride.BaseUrl=http://evil.example',
        userToken,
        '{"a":1}',
        'application/json',
      );
      const body = (await res.json()) as {
        statusCode: number;
        headers: Record<string, string[]>;
        content: string;
      };
      expect(lastEcho).toBeDefined();
      expect(lastEcho!.method).toBe('PUT');
      expect(lastEcho!.url).toBe('/api/items?q=1');
      expect(lastEcho!.headers['x-custom']).toBe('yes');
      expect(lastEcho!.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(lastEcho!.body).toBe('{"a":1}');
      expect(claimsOf(lastEcho!.headers.authorization ?? '')).toMatchObject({
        aud: 'api://echo-api',
        scp: 'access_as_user',
        oid: OID,
      });
      expect(body.statusCode).toBe(201);
      expect(Object.keys(body.headers).sort()).toEqual(['Content-Length', 'Content-Type']);
      expect(body.content).toBe('{"ok":true}');
    });
    it('returns null content for a chunked downstream response (no Content-Length)', async () => {
      const body = (await (
        await post('/DownstreamApi/echo?optionsOverride.RelativePath=/chunked', userToken)
      ).json()) as { statusCode: number; content: string | null };
      expect(body.statusCode).toBe(200);
      expect(body.content).toBeNull();
    });
    it('answers 500 when the downstream is unreachable or has no BaseUrl', async () => {
      const dead = await post('/DownstreamApi/dead', userToken);
      expect(dead.status).toBe(500);
      expect(dead.headers.get('content-type')).toContain('application/problem+json');
      const noBase = await post('/DownstreamApi/acs-teams', userToken);
      expect(noBase.status).toBe(500);
    });
    it('is POST-only (405 on GET), requires auth, and the unauthenticated twin works with app APIs', async () => {
      expect((await get('/DownstreamApi/graph', userToken)).status).toBe(405);
      expect((await post('/DownstreamApi/graph')).status).toBe(401);
      expect((await post('/DownstreamApi/nope', userToken)).status).toBe(400);
      const un = (await (
        await post('/DownstreamApiUnauthenticated/graph-app?optionsOverride.RelativePath=me')
      ).json()) as { statusCode: number };
      // RelativePath is an override, ignored on this route by default: the call goes to the bare base URL, which Graph refuses.
      expect(un.statusCode).toBe(400);
    });
    it('DownstreamApiUnauthenticated: 401 without a user for delegated APIs, 400 for unknown APIs', async () => {
      const res = await post('/DownstreamApiUnauthenticated/graph');
      expect(res.status).toBe(401);
      expect(((await res.json()) as Json)['detail']).toMatch(/^IDW10502/);
      const unknown = await post('/DownstreamApiUnauthenticated/nope');
      expect(unknown.status).toBe(400);
      expect(unknown.headers.get('content-type')).toContain('application/problem+json');
      expect((await get('/DownstreamApiUnauthenticated/graph-app')).status).toBe(405);
    });
    it('survives malformed API names and oversized bodies', async () => {
      expect((await get('/AuthorizationHeader/%E0%A4%A', userToken)).status).toBe(404);
      const big = await post(
        '/DownstreamApi/graph',
        userToken,
        'x'.repeat(1024 * 1024 + 1),
        'text/plain',
      );
      expect(big.status).toBe(413);
      expect((await get('/healthz')).status).toBe(200);
    });
    it('fake Graph rejects missing, foreign-audience and inbound tokens', async () => {
      const none = await fetch(`${emu.url}/graph/v1.0/me`);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe(
        'InvalidAuthenticationToken',
      );
      expect((await get('/graph/v1.0/me', userToken)).status).toBe(401);
      const acs = (
        (await (await get('/AuthorizationHeader/acs-teams', userToken)).json()) as {
          authorizationHeader: string;
        }
      ).authorizationHeader;
      expect(
        (await fetch(`${emu.url}/graph/v1.0/me`, { headers: { authorization: acs } })).status,
      ).toBe(401);
      const graphHeader = (
        (await (await get('/AuthorizationHeader/graph', userToken)).json()) as {
          authorizationHeader: string;
        }
      ).authorizationHeader;
      const unknown = await fetch(`${emu.url}/graph/v1.0/me/calendars`, {
        headers: { authorization: graphHeader },
      });
      expect(unknown.status).toBe(400);
    });
  });

  it('mints ACS Teams tokens that the ACS emulator exchanges (end to end)', async () => {
    const acs = await startAcsIdentityEmulator({
      port: 0,
      log: () => undefined,
      trustedEntraKeys: [emu.publicKey],
    });
    try {
      const header = (
        (await (await get('/AuthorizationHeader/acs-teams', userToken)).json()) as {
          authorizationHeader: string;
        }
      ).authorizationHeader;
      expect(claimsOf(header)).toMatchObject({
        aud: 'https://auth.msft.communication.azure.com',
        scp: 'Teams.ManageCalls Teams.ManageChats',
        appid: emu.clientId,
        oid: OID,
      });
      const client = new CommunicationIdentityClient(acs.connectionString, {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      });
      const result = await client.getTokenForTeamsUser({
        teamsUserAadToken: header.slice('Bearer '.length),
        clientId: emu.clientId,
        userObjectId: OID,
      });
      expect(acs.validateToken(result.token)).toMatchObject({
        valid: true,
        identity: `8:orgid:${OID}`,
      });
      // The user's inbound token is for the sidecar, not for ACS: the exchange refuses it.
      await expect(
        client.getTokenForTeamsUser({
          teamsUserAadToken: userToken,
          clientId: emu.clientId,
          userObjectId: OID,
        }),
      ).rejects.toMatchObject({ statusCode: 401 });
    } finally {
      await acs.close();
    }
  });

  describe('/_emulator endpoints', () => {
    it('issues inbound tokens over HTTP and validates the request', async () => {
      const res = await post(
        '/_emulator/token',
        undefined,
        JSON.stringify({ oid: OID, tid: TID, name: 'Grace', scp: 'access_as_user' }),
        'application/json',
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        token: string;
        access_token: string;
        token_type: string;
        expires_in: number;
      };
      expect(body.token_type).toBe('Bearer');
      expect(body.access_token).toBe(body.token);
      expect(body.expires_in).toBe(3600);
      expect((await get('/Validate', body.token)).status).toBe(200);
      for (const bad of [
        '{',
        JSON.stringify({ oid: 'x', tid: TID }),
        JSON.stringify({ oid: OID }),
        JSON.stringify({ oid: OID, tid: TID, expiresInSeconds: 1e9 }),
        '[]',
      ]) {
        const r = await post('/_emulator/token', undefined, bad, 'application/json');
        expect(r.status).toBe(400);
        expect(r.headers.get('content-type')).toContain('application/problem+json');
      }
    });
    it('configures faults, lists keys and downstream APIs, resets, 404s unknown', async () => {
      const armFault = async (fault: unknown): Promise<number> =>
        (await post('/_emulator/faults', undefined, JSON.stringify(fault), 'application/json'))
          .status;
      expect(await armFault({ status: 500 })).toBe(204);
      expect((await get('/AuthorizationHeader/graph', userToken)).status).toBe(500);
      expect(await armFault({ status: 418 })).toBe(400);
      const keys = (await (await get('/_emulator/keys')).json()) as { keys: { kty: string }[] };
      expect(keys.keys[0]?.kty).toBe('RSA');
      const apis = (await (await get('/_emulator/downstream-apis')).json()) as {
        downstreamApis: Record<string, { baseUrl?: string }>;
      };
      expect(apis.downstreamApis['graph']?.baseUrl).toBe(`${emu.url}/graph/v1.0`);
      emu.failNextTokenAcquisition();
      expect((await post('/_emulator/reset')).status).toBe(204);
      expect((await get('/AuthorizationHeader/graph', userToken)).status).toBe(200);
      expect((await get('/_emulator/nothing')).status).toBe(404);
      expect((await get('/nothing')).status).toBe(404);
    });
  });

  it('logs one line per request without tokens or query strings', async () => {
    await get('/AuthorizationHeader/graph?AgentUsername=secret-upn@contoso.com', userToken);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[agentid\] GET \/AuthorizationHeader\/graph 200 /);
    expect(lines.join('\n')).not.toContain(userToken.slice(0, 30));
    expect(lines.join('\n')).not.toContain('secret-upn');
  });

  it('reads DownstreamApis__* settings like the sidecar configuration binder', () => {
    expect(
      downstreamApisFromEnv({
        DownstreamApis__Graph__BaseUrl: 'https://graph.microsoft.com/v1.0',
        DownstreamApis__Graph__Scopes__1: 'Mail.Read',
        DownstreamApis__Graph__Scopes__0: 'User.Read',
        DownstreamApis__MyApi__Scopes: 'api://x/a api://x/b',
        DownstreamApis__MyApi__RequestAppToken: 'true',
        DownstreamApis__MyApi__HttpMethod: 'POST',
        Unrelated: 'x',
      }),
    ).toEqual({
      Graph: { baseUrl: 'https://graph.microsoft.com/v1.0', scopes: ['User.Read', 'Mail.Read'] },
      MyApi: { scopes: ['api://x/a', 'api://x/b'], requestAppToken: true, httpMethod: 'POST' },
    });
  });
});
