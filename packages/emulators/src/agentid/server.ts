import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  defaultLog,
  type EmulatorServerOptions,
  isRecord,
  listen,
  parseJsonBody,
  pathOf,
  queryOf,
  readBody,
  controlApi,
  sendEmpty,
  sendJson,
  sendProblem,
  sendText,
  wrapHandler,
} from '../common/http';
import {
  decodeJwt,
  generateSigningKeyAsync,
  GUID,
  numberClaim,
  publicJwk,
  signJwt,
  stringClaim,
  verifySignature,
} from '../common/jwt';
import {
  createFakeGraph,
  defaultUserPrincipalName,
  GRAPH_RESOURCE,
  type SentMail,
} from './fake-graph';

/**
 * Emulator of the Microsoft Entra SDK for AgentID (auth sidecar) 1.1.x, following the sidecar's code where its docs
 * differ: `/DownstreamApi*` is POST-only, unknown API names give 400 "No scopes found...", token-acquisition
 * failures give 401 with the MSAL message as `detail`, overrides are ignored on the `*Unauthenticated` routes
 * unless allowed, and the downstream result always comes back inside a 200.
 *
 * It is also the token issuer: inbound user tokens (`issueToken`, `POST /_emulator/token`) and every token it
 * "acquires" are RS256 JWTs signed with a key generated at start. Tokens for ACS Teams scopes are accepted by
 * the ACS emulator's Teams exchange; tokens for Graph are accepted by the fake Graph served under `/graph/v1.0`.
 */

export const DEFAULT_SIDECAR_CLIENT_ID = '00000000-0000-0000-0000-000000000001';
export const DEFAULT_SIDECAR_TENANT_ID = '00000000-0000-0000-0000-0000000000a1';
export const ACS_TEAMS_RESOURCE = 'https://auth.msft.communication.azure.com';

export interface DownstreamApiConfig {
  /** Missing BaseUrl makes `/DownstreamApi` fail (500) but `/AuthorizationHeader` still works, as in the sidecar. */
  baseUrl?: string;
  scopes: string[];
  relativePath?: string;
  /** Downstream verb, default GET. */
  httpMethod?: string;
  requestAppToken?: boolean;
  acceptHeader?: string;
  contentType?: string;
}

export interface AllowOverrides {
  getAuthorizationHeader?: boolean;
  getAuthorizationHeaderUnauthenticated?: boolean;
  callDownstreamApi?: boolean;
  callDownstreamApiUnauthenticated?: boolean;
}

export interface AgentIdEmulatorOptions extends EmulatorServerOptions {
  /** Default `localhost`: both 127.0.0.1 and ::1, like a sidecar reached as `http://localhost:5000`. */
  host?: string;
  /** Merged over the defaults (`graph`, `graph-app`, `acs-teams`); `graph` points at the fake Graph unless replaced. */
  downstreamApis?: Record<string, DownstreamApiConfig>;
  /** The sidecar's app (client) id: audience of inbound tokens and `appid` of tokens it acquires. */
  clientId?: string;
  /** Tenant of app-only tokens. Inbound user tokens may come from any tenant. */
  tenantId?: string;
  /** `AzureAd:Scopes`: when set, `/Validate` answers 403 unless the token's `scp` contains this one value. */
  requiredScope?: string;
  allowOverrides?: AllowOverrides;
  /** Clock (ms since epoch); defaults to Date.now. */
  now?: () => number;
  /** Downstream call timeout, default 30 s. */
  downstreamTimeoutMs?: number;
}

export interface InboundTokenClaims {
  oid: string;
  tid: string;
  name?: string;
  scp?: string;
  preferred_username?: string;
  /** Lifetime in seconds, default 3600; negative values give an already expired token (for tests). */
  expiresInSeconds?: number;
  /** Audience override, default the sidecar's client id. */
  aud?: string;
}

/** Makes the next `count` token acquisitions fail as MSAL would (401 with `detail`), or with 500. */
export interface TokenFault {
  count?: number;
  status?: 401 | 500;
  detail?: string;
}

export interface AgentIdEmulator {
  url: string;
  port: number;
  clientId: string;
  tenantId: string;
  /** Public key that signs every token this emulator issues (trust it in the ACS emulator's Teams exchange). */
  publicKey: crypto.KeyObject;
  issueToken(claims: InboundTokenClaims): string;
  downstreamApis(): Record<string, DownstreamApiConfig>;
  failNextTokenAcquisition(fault?: TokenFault): void;
  /** Mail sent through the fake Graph's `me/sendMail`. */
  sentMail(): SentMail[];
  reset(): void;
  close(): Promise<void>;
}

const PROBLEM_TYPES: Readonly<Record<number, string>> = {
  400: 'https://tools.ietf.org/html/rfc9110#section-15.5.1',
  401: 'https://tools.ietf.org/html/rfc9110#section-15.5.2',
  500: 'https://tools.ietf.org/html/rfc9110#section-15.6.1',
};
const PROBLEM_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  500: 'An error occurred while processing your request.',
};

/** ASP.NET's `TypedResults.Problem`: RFC 9110 `type`, standard title and a W3C `traceId` extension. */
function aspnetProblem(res: http.ServerResponse, status: 400 | 401 | 500, detail: string): void {
  const traceId = `00-${crypto.randomBytes(16).toString('hex')}-${crypto.randomBytes(8).toString('hex')}-00`;
  sendProblem(
    res,
    status,
    PROBLEM_TITLES[status] ?? 'Error',
    detail,
    { traceId },
    PROBLEM_TYPES[status],
  );
}

class ProblemError extends Error {
  constructor(
    readonly status: 400 | 401 | 500,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const NO_CACHE = {
  'cache-control': 'no-cache, no-store, must-revalidate',
  expires: '0',
  pragma: 'no-cache',
};

/** Permissions the emulated tenant has consented per resource: what `.default` expands to, and what may be requested. */
const CONSENTED: Readonly<Record<string, { delegated: string[]; application: string[] }>> = {
  [GRAPH_RESOURCE]: {
    delegated: ['User.Read', 'Mail.Read', 'Mail.Send', 'openid', 'profile', 'offline_access'],
    application: ['User.Read.All', 'Mail.Send'],
  },
  [ACS_TEAMS_RESOURCE]: { delegated: ['Teams.ManageCalls', 'Teams.ManageChats'], application: [] },
};
const OIDC_SCOPES = ['openid', 'profile', 'offline_access', 'email'];

/** Splits MSAL-style scopes into resource and permission; bare permissions (`User.Read`) are Graph's. */
function splitScope(scope: string): { resource: string; permission: string } {
  const i = scope.lastIndexOf('/');
  if (i <= 0 || !/^[a-z][a-z0-9+.-]*:\/\//i.test(scope)) {
    return { resource: GRAPH_RESOURCE, permission: scope };
  }
  return { resource: scope.slice(0, i).replace(/\/+$/, ''), permission: scope.slice(i + 1) };
}

function guidFrom(text: string): string {
  const h = crypto.createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface ResolvedOptions {
  scopes: string[];
  requestAppToken: boolean;
  baseUrl: string | undefined;
  relativePath: string;
  httpMethod: string;
  acceptHeader: string;
  contentType: string | undefined;
  tenant: string | undefined;
  extraHeaders: [string, string][];
  extraQuery: [string, string][];
}

interface AgentParams {
  agentIdentity?: string;
  agentUsername?: string;
  agentUserId?: string;
}

type RouteName =
  | 'getAuthorizationHeader'
  | 'getAuthorizationHeaderUnauthenticated'
  | 'callDownstreamApi'
  | 'callDownstreamApiUnauthenticated';

/** Reads `DownstreamApis__{name}__BaseUrl/Scopes/...` app settings, as the sidecar's configuration binder does. */
export function downstreamApisFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, DownstreamApiConfig> {
  const out: Record<string, DownstreamApiConfig> = {};
  const indexed = new Map<string, Map<number, string>>();
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const m =
      /^DownstreamApis(?:__|:)([^_:]+(?:[_-][^_:]+)*?)(?:__|:)(\w+?)(?:(?:__|:)(\d+))?$/i.exec(key);
    if (m === null || m[1] === undefined || m[2] === undefined) continue;
    const name = m[1];
    const field = m[2].toLowerCase();
    const api = (out[name] ??= { scopes: [] });
    if (field === 'scopes') {
      if (m[3] === undefined) {
        api.scopes = value.split(/[\s,]+/).filter((s) => s !== '');
      } else {
        const map = indexed.get(name) ?? new Map<number, string>();
        map.set(Number(m[3]), value);
        indexed.set(name, map);
      }
    } else if (field === 'baseurl') api.baseUrl = value;
    else if (field === 'relativepath') api.relativePath = value;
    else if (field === 'httpmethod') api.httpMethod = value;
    else if (field === 'requestapptoken') api.requestAppToken = value.toLowerCase() === 'true';
    else if (field === 'acceptheader') api.acceptHeader = value;
    else if (field === 'contenttype') api.contentType = value;
  }
  for (const [name, map] of indexed) {
    const api = out[name];
    if (api !== undefined)
      api.scopes = [...map.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
  return out;
}

export async function startAgentIdEmulator(
  opts: AgentIdEmulatorOptions = {},
): Promise<AgentIdEmulator> {
  const log = opts.log ?? defaultLog;
  const now = opts.now ?? Date.now;
  const clientId = opts.clientId ?? DEFAULT_SIDECAR_CLIENT_ID;
  const tenantId = opts.tenantId ?? DEFAULT_SIDECAR_TENANT_ID;
  const allow: Required<AllowOverrides> = {
    getAuthorizationHeader: true,
    getAuthorizationHeaderUnauthenticated: false,
    callDownstreamApi: true,
    callDownstreamApiUnauthenticated: false,
    ...opts.allowOverrides,
  };
  const timeoutMs = opts.downstreamTimeoutMs ?? 30_000;
  const key = await generateSigningKeyAsync();
  const graph = createFakeGraph(key, now);
  let faults: { count: number; status: 401 | 500; detail: string }[] = [];
  let apis: Record<string, DownstreamApiConfig> = {};

  const nowS = (): number => Math.floor(now() / 1000);

  const issueToken = (claims: InboundTokenClaims): string => {
    const iat = nowS();
    const payload: Record<string, unknown> = {
      aud: claims.aud ?? clientId,
      iss: `https://login.microsoftonline.com/${claims.tid}/v2.0`,
      iat,
      nbf: iat,
      exp: iat + (claims.expiresInSeconds ?? 3600),
      azp: '00000000-0000-0000-0000-00000000c11e',
      azpacr: '0',
      name: claims.name ?? 'Emulated User',
      oid: claims.oid,
      preferred_username: claims.preferred_username ?? defaultUserPrincipalName(claims.oid),
      scp: claims.scp ?? 'access_as_user',
      sub: guidFrom(`sub:${claims.oid}:${clientId}`).replace(/-/g, ''),
      tid: claims.tid,
      uti: crypto.randomBytes(16).toString('base64url'),
      ver: '2.0',
    };
    return signJwt(key, payload);
  };

  /** JwtBearer: RS256 by our key, audience = our client id, issuer matching the token's tenant, lifetime with 5 min skew. */
  const validateInbound = (
    req: http.IncomingMessage,
  ): { token: string; claims: Record<string, unknown> } | 'missing' | 'invalid' => {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') return 'missing';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null || m[1] === undefined) return 'missing';
    const decoded = decodeJwt(m[1]);
    if (decoded === undefined || !verifySignature(decoded, [key.publicKey])) return 'invalid';
    const c = decoded.payload;
    const skew = 300;
    const exp = numberClaim(c, 'exp');
    const nbf = numberClaim(c, 'nbf');
    if (exp === undefined || exp + skew <= nowS() || (nbf !== undefined && nbf - skew > nowS()))
      return 'invalid';
    const aud = c['aud'];
    if (aud !== clientId && aud !== `api://${clientId}`) return 'invalid';
    const tid = stringClaim(c, 'tid');
    const iss = c['iss'];
    if (
      tid === undefined ||
      (iss !== `https://login.microsoftonline.com/${tid}/v2.0` &&
        iss !== `https://sts.windows.net/${tid}/`)
    )
      return 'invalid';
    return { token: m[1], claims: c };
  };

  const unauthorized = (res: http.ServerResponse, kind: 'missing' | 'invalid'): void => {
    sendEmpty(res, 401, {
      'www-authenticate': kind === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"',
    });
  };

  /** Binds `optionsOverride.*` (case-insensitive keys) over the configured options, like BindableDownstreamApiOptions. */
  const resolveOptions = (
    apiName: string,
    q: URLSearchParams,
    overridesAllowed: boolean,
  ): ResolvedOptions => {
    const cfg = apis[apiName];
    const o: ResolvedOptions = {
      scopes: [...(cfg?.scopes ?? [])],
      requestAppToken: cfg?.requestAppToken ?? false,
      baseUrl: cfg?.baseUrl,
      relativePath: cfg?.relativePath ?? '',
      httpMethod: (cfg?.httpMethod ?? 'GET').toUpperCase(),
      acceptHeader: cfg?.acceptHeader ?? 'application/json',
      contentType: cfg?.contentType,
      tenant: undefined,
      extraHeaders: [],
      extraQuery: [],
    };
    const overrideScopes: string[] = [];
    let ignored = false;
    for (const [rawKey, value] of q) {
      const k = rawKey.toLowerCase();
      if (!k.startsWith('optionsoverride.')) continue;
      if (!overridesAllowed) {
        ignored = true;
        continue;
      }
      const name = k.slice('optionsoverride.'.length);
      if (name === 'scopes') overrideScopes.push(...value.split(' ').filter((s) => s !== ''));
      else if (name === 'requestapptoken' && value.toLowerCase() === 'true')
        o.requestAppToken = true;
      else if (name === 'relativepath') o.relativePath = value;
      else if (name === 'httpmethod') o.httpMethod = value.toUpperCase();
      else if (name === 'acceptheader') o.acceptHeader = value;
      else if (name === 'contenttype') o.contentType = value;
      else if (name === 'acquiretokenoptions.tenant') o.tenant = value;
      else if (name.startsWith('extraheaderparameters.'))
        o.extraHeaders.push([rawKey.slice('optionsOverride.ExtraHeaderParameters.'.length), value]);
      else if (name.startsWith('extraqueryparameters.'))
        o.extraQuery.push([rawKey.slice('optionsOverride.ExtraQueryParameters.'.length), value]);
      // BaseUrl is ignored since 1.1.0 (it comes only from configuration); the other AcquireTokenOptions keys have no effect on an emulator.
    }
    if (overrideScopes.length > 0) o.scopes = overrideScopes;
    if (ignored) log(`[agentid] overrides ignored on this route (Sidecar:AllowOverrides is off)`);
    return o;
  };

  const agentParams = (q: URLSearchParams, allowed: boolean): AgentParams => {
    const get = (name: string): string | undefined => {
      for (const [k, v] of q) if (k.toLowerCase() === name.toLowerCase() && v !== '') return v;
      return undefined;
    };
    const agentIdentity = get('AgentIdentity');
    if (!allowed || agentIdentity === undefined) return {};
    const agentUsername = get('AgentUsername');
    const agentUserId = get('AgentUserId');
    // UPN wins over OID; a non-GUID OID silently falls back to the autonomous agent, as the sidecar does.
    if (agentUsername !== undefined) return { agentIdentity, agentUsername };
    if (agentUserId !== undefined && GUID.test(agentUserId)) return { agentIdentity, agentUserId };
    return { agentIdentity };
  };

  const msal = (detail: string): never => {
    throw new ProblemError(401, detail);
  };

  /** "Acquires" a token the way Microsoft.Identity.Web would for these options, or throws the sidecar's error. */
  const acquireToken = (
    apiName: string,
    o: ResolvedOptions,
    user: Record<string, unknown> | undefined,
    agent: AgentParams,
  ): string => {
    if (o.scopes.length === 0) {
      throw new ProblemError(
        400,
        `No scopes found for the API '${apiName}' or in optionsOverride. 'scopes' needs to be either a single value or a list of values.`,
      );
    }
    const fault = faults[0];
    if (fault !== undefined) {
      fault.count -= 1;
      if (fault.count <= 0) faults.shift();
      throw new ProblemError(fault.status, fault.detail);
    }
    const appId = agent.agentIdentity ?? clientId;
    const iat = nowS();
    const base = {
      iat,
      nbf: iat,
      exp: iat + 3600,
      uti: crypto.randomBytes(16).toString('base64url'),
      ver: '1.0',
      appidacr: '2',
    };

    const agentUser = agent.agentUsername !== undefined || agent.agentUserId !== undefined;
    if (o.requestAppToken || (user === undefined && !agentUser)) {
      if (!o.requestAppToken) {
        return msal(
          'IDW10502: An MsalUiRequiredException was thrown due to a challenge for the user. See https://aka.ms/ms-id-web/ca_incremental-consent. No account or login hint was passed to the AcquireTokenSilent call.',
        );
      }
      const scope = o.scopes[0] ?? '';
      if (!scope.endsWith('/.default')) {
        // Microsoft.Identity.Web rejects this before MSAL (ArgumentException), which the sidecar maps to 500.
        throw new ProblemError(500, 'An unexpected error occurred.');
      }
      const resource = scope.slice(0, -'/.default'.length).replace(/\/+$/, '');
      const tid = o.tenant ?? tenantId;
      return signJwt(key, {
        aud: resource,
        iss: `https://sts.windows.net/${tid}/`,
        ...base,
        appid: appId,
        idtyp: 'app',
        oid: guidFrom(`sp:${appId}`),
        roles: CONSENTED[resource]?.application ?? [],
        sub: guidFrom(`sp:${appId}`),
        tid,
      });
    }

    const parts = o.scopes.filter((s) => !OIDC_SCOPES.includes(s)).map(splitScope);
    const resources = [...new Set(parts.map((p) => p.resource))];
    if (resources.length > 1) {
      return msal(
        `AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${o.scopes.join(' ')} is not valid.`,
      );
    }
    const resource = resources[0] ?? GRAPH_RESOURCE;
    const consented = CONSENTED[resource]?.delegated;
    let granted = parts.map((p) => p.permission);
    if (granted.includes('.default')) granted = consented ?? ['user_impersonation'];
    if (consented !== undefined) {
      const missing = granted.filter((p) => !consented.includes(p));
      if (missing.length > 0) {
        return msal(
          `AADSTS65001: The user or administrator has not consented to use the application with ID '${appId}'. Send an interactive authorization request for this user and resource.`,
        );
      }
    }
    let oid: string;
    let tid: string;
    let name: string;
    let upn: string;
    if (agentUser) {
      // Autonomous agent user: the agent's own user account, by UPN or object id.
      oid = agent.agentUserId ?? guidFrom(`agent-user:${agent.agentUsername ?? ''}`);
      upn = agent.agentUsername ?? defaultUserPrincipalName(oid, 'agent');
      tid = o.tenant ?? tenantId;
      name = upn;
    } else {
      const u = user ?? {};
      oid = stringClaim(u, 'oid') ?? guidFrom('anonymous');
      tid = o.tenant ?? stringClaim(u, 'tid') ?? tenantId;
      name = stringClaim(u, 'name') ?? 'Emulated User';
      upn = stringClaim(u, 'preferred_username') ?? defaultUserPrincipalName(oid);
    }
    return signJwt(key, {
      aud: resource,
      iss: `https://sts.windows.net/${tid}/`,
      ...base,
      acr: '1',
      amr: ['pwd'],
      appid: appId,
      idtyp: 'user',
      name,
      oid,
      scp: granted.join(' '),
      sub: guidFrom(`sub:${oid}:${resource}`).replace(/-/g, ''),
      tid,
      unique_name: upn,
      upn,
    });
  };

  const CONTENT_HEADERS: Readonly<Record<string, string>> = {
    'content-type': 'Content-Type',
    'content-length': 'Content-Length',
    'content-encoding': 'Content-Encoding',
    'content-language': 'Content-Language',
    'content-location': 'Content-Location',
    'content-md5': 'Content-MD5',
    'content-range': 'Content-Range',
    'content-disposition': 'Content-Disposition',
    expires: 'Expires',
    'last-modified': 'Last-Modified',
    allow: 'Allow',
  };

  const callDownstream = (
    o: ResolvedOptions,
    token: string,
    body: Buffer | undefined,
    inboundContentType: string | undefined,
  ): Promise<Record<string, unknown>> => {
    if (o.baseUrl === undefined || o.baseUrl === '')
      throw new ProblemError(500, 'An unexpected error occurred.');
    const joined =
      o.relativePath === ''
        ? o.baseUrl
        : `${o.baseUrl.replace(/\/+$/, '')}/${o.relativePath.replace(/^\/+/, '')}`;
    let target: URL;
    try {
      target = new URL(joined);
    } catch {
      throw new ProblemError(500, 'An unexpected error occurred.');
    }
    for (const [k, v] of o.extraQuery) target.searchParams.append(k, v);
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: o.acceptHeader,
    };
    for (const [k, v] of o.extraHeaders) headers[k] = v;
    let payload: Buffer | undefined;
    if (body !== undefined && inboundContentType !== undefined) {
      payload = body;
      const mediaType =
        (o.contentType ?? inboundContentType).split(';')[0]?.trim() ?? 'application/json';
      headers['content-type'] = `${mediaType}; charset=utf-8`;
      headers['content-length'] = String(body.length);
    }
    const transport = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        target,
        { method: o.httpMethod, headers, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', () => reject(new ProblemError(500, 'An unexpected error occurred.')));
          res.on('end', () => {
            const out: Record<string, string[]> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              const canonical = CONTENT_HEADERS[name];
              if (canonical === undefined || value === undefined) continue;
              out[canonical] = Array.isArray(value) ? value : [value];
            }
            const length = Number(res.headers['content-length'] ?? '0');
            const text = Buffer.concat(chunks).toString('utf8');
            // The sidecar returns content only when the downstream response declared a positive Content-Length.
            resolve({
              statusCode: res.statusCode ?? 0,
              headers: out,
              content: length > 0 ? text : null,
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => reject(new ProblemError(500, 'An unexpected error occurred.')));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  };

  const sidecarRoute = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    kind: 'header' | 'downstream',
    authenticated: boolean,
    apiName: string,
  ): Promise<void> => {
    const body = kind === 'downstream' ? await readBody(req) : undefined;
    let user: Record<string, unknown> | undefined;
    if (authenticated) {
      const inbound = validateInbound(req);
      if (inbound === 'missing' || inbound === 'invalid') return unauthorized(res, inbound);
      user = inbound.claims;
    }
    const route: RouteName =
      kind === 'header'
        ? authenticated
          ? 'getAuthorizationHeader'
          : 'getAuthorizationHeaderUnauthenticated'
        : authenticated
          ? 'callDownstreamApi'
          : 'callDownstreamApiUnauthenticated';
    const q = queryOf(req);
    const o = resolveOptions(apiName, q, allow[route]);
    const agent = agentParams(q, allow[route]);
    try {
      const token = acquireToken(apiName, o, user, agent);
      if (kind === 'header') {
        sendJson(res, 200, { authorizationHeader: `Bearer ${token}` }, NO_CACHE);
        return;
      }
      const ct = req.headers['content-type'];
      const result = await callDownstream(
        o,
        token,
        body,
        typeof ct === 'string' && ct !== '' ? ct : undefined,
      );
      sendJson(res, 200, result, NO_CACHE);
    } catch (err) {
      if (err instanceof ProblemError) return aspnetProblem(res, err.status, err.detail);
      throw err;
    }
  };

  /** The body as JSON, or a marker the parsers refuse with their own message. */
  const readJson = async (req: http.IncomingMessage): Promise<unknown> => {
    try {
      return parseJsonBody(await readBody(req));
    } catch {
      return Symbol.for('invalid-json');
    }
  };

  const emulatorRoutes = controlApi(
    {
      'POST /_emulator/token': async (req, res) => {
        const claims = parseTokenRequest(await readJson(req));
        if (typeof claims === 'string') return sendProblem(res, 400, 'Bad Request', claims);
        const token = issueToken(claims);
        const expiresIn = claims.expiresInSeconds ?? 3600;
        sendJson(
          res,
          200,
          { token, access_token: token, token_type: 'Bearer', expires_in: expiresIn },
          NO_CACHE,
        );
      },
      'POST /_emulator/faults': async (req, res) => {
        const fault = parseFault(await readJson(req));
        if (typeof fault === 'string') return sendProblem(res, 400, 'Bad Request', fault);
        api.failNextTokenAcquisition(fault);
        sendEmpty(res, 204);
      },
      'GET /_emulator/keys': (_req, res) => sendJson(res, 200, { keys: [publicJwk(key)] }),
      'GET /_emulator/downstream-apis': (_req, res) =>
        sendJson(res, 200, { downstreamApis: api.downstreamApis() }),
      'GET /_emulator/graph/sent': (_req, res) => sendJson(res, 200, { messages: graph.sent() }),
    },
    { reset: () => api.reset() },
  );

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (path.startsWith('/_emulator/')) return emulatorRoutes(req, res, path);
    if (path === '/graph/v1.0' || path.startsWith('/graph/v1.0/'))
      return graph.handle(req, res, path.slice('/graph/v1.0'.length));
    const lower = path.toLowerCase();
    // ASP.NET routing is case-insensitive for the literal segments; the API name is matched exactly.
    const m =
      /^\/(authorizationheader|authorizationheaderunauthenticated|downstreamapi|downstreamapiunauthenticated)\/([^/]+)\/?$/.exec(
        lower,
      );
    if (lower === '/healthz') {
      if (method !== 'GET' && method !== 'HEAD') return sendEmpty(res, 405, { allow: 'GET, HEAD' });
      return sendText(res, 200, 'Healthy', NO_CACHE);
    }
    if (lower === '/validate') {
      if (method !== 'GET') return sendEmpty(res, 405, { allow: 'GET' });
      const inbound = validateInbound(req);
      if (inbound === 'missing' || inbound === 'invalid') return unauthorized(res, inbound);
      if (opts.requiredScope !== undefined) {
        const scp = (stringClaim(inbound.claims, 'scp') ?? '').split(' ');
        if (!scp.includes(opts.requiredScope)) {
          return sendText(
            res,
            403,
            `IDW10203: The 'scope' or 'scp' claim does not contain scopes '${opts.requiredScope}' or was not found. `,
          );
        }
      }
      sendJson(
        res,
        200,
        { protocol: 'Bearer', token: inbound.token, claims: inbound.claims },
        NO_CACHE,
      );
      return;
    }
    if (m === null || m[1] === undefined) return sendEmpty(res, 404);
    let apiName: string;
    try {
      apiName = decodeURIComponent(path.split('/')[2] ?? '');
    } catch {
      return sendEmpty(res, 404);
    }
    const isHeader = m[1].startsWith('authorizationheader');
    if (isHeader && method !== 'GET') return sendEmpty(res, 405, { allow: 'GET' });
    if (!isHeader && method !== 'POST') return sendEmpty(res, 405, { allow: 'POST' });
    return sidecarRoute(
      req,
      res,
      isHeader ? 'header' : 'downstream',
      !m[1].endsWith('unauthenticated'),
      apiName,
    );
  };

  const listening = await listen(wrapHandler('agentid', handler, log), {
    port: opts.port,
    host: opts.host ?? 'localhost',
  });
  const hostForUrl = (opts.host ?? 'localhost') === 'localhost' ? 'localhost' : listening.urlHost;
  const url = `http://${hostForUrl}:${listening.port}`;
  const defaults = (): Record<string, DownstreamApiConfig> => ({
    graph: { baseUrl: `${url}/graph/v1.0`, scopes: ['User.Read', 'Mail.Read', 'Mail.Send'] },
    'graph-app': {
      baseUrl: `${url}/graph/v1.0`,
      scopes: ['https://graph.microsoft.com/.default'],
      requestAppToken: true,
    },
    'acs-teams': {
      scopes: [
        `${ACS_TEAMS_RESOURCE}/Teams.ManageCalls`,
        `${ACS_TEAMS_RESOURCE}/Teams.ManageChats`,
      ],
    },
  });
  const configured = opts.downstreamApis ?? {};
  apis = { ...defaults(), ...structuredClone(configured) };
  const graphApi = apis['graph'];
  if (graphApi !== undefined && graphApi.baseUrl === undefined)
    graphApi.baseUrl = `${url}/graph/v1.0`;

  const api: AgentIdEmulator = {
    url,
    port: listening.port,
    clientId,
    tenantId,
    publicKey: key.publicKey,
    issueToken,
    downstreamApis: () => structuredClone(apis),
    failNextTokenAcquisition: (fault = {}) => {
      faults.push({
        count: fault.count ?? 1,
        status: fault.status ?? 401,
        detail:
          fault.detail ??
          'AADSTS65001: The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.',
      });
    },
    sentMail: () => graph.sent(),
    reset: () => {
      faults = [];
      graph.reset();
    },
    close: () => listening.close(),
  };
  return api;
}

function parseTokenRequest(value: unknown): InboundTokenClaims | string {
  if (!isRecord(value))
    return 'Expected a JSON object {oid, tid, name?, scp?, preferred_username?, expiresInSeconds?}.';
  const { oid, tid, name, scp, preferred_username: upn, expiresInSeconds, aud } = value;
  if (typeof oid !== 'string' || !GUID.test(oid)) return '`oid` must be a GUID.';
  if (typeof tid !== 'string' || !GUID.test(tid)) return '`tid` must be a GUID.';
  if (name !== undefined && (typeof name !== 'string' || name.length > 256))
    return '`name` must be a string of at most 256 characters.';
  if (scp !== undefined && (typeof scp !== 'string' || scp.length > 1024))
    return '`scp` must be a space-separated string.';
  if (upn !== undefined && (typeof upn !== 'string' || upn.length > 256))
    return '`preferred_username` must be a string.';
  if (aud !== undefined && (typeof aud !== 'string' || aud.length > 256))
    return '`aud` must be a string.';
  if (
    expiresInSeconds !== undefined &&
    (typeof expiresInSeconds !== 'number' ||
      !Number.isInteger(expiresInSeconds) ||
      expiresInSeconds < -86400 ||
      expiresInSeconds > 86400)
  ) {
    return '`expiresInSeconds` must be an integer between -86400 and 86400.';
  }
  return {
    oid,
    tid,
    ...(name === undefined ? {} : { name }),
    ...(scp === undefined ? {} : { scp }),
    ...(upn === undefined ? {} : { preferred_username: upn }),
    ...(aud === undefined ? {} : { aud }),
    ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
  };
}

function parseFault(value: unknown): TokenFault | string {
  if (value === undefined) return {};
  if (!isRecord(value)) return 'Expected a JSON object {count?, status?: 401|500, detail?}.';
  const { count, status, detail } = value;
  if (
    count !== undefined &&
    (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000)
  )
    return '`count` must be an integer 1..1000.';
  if (status !== undefined && status !== 401 && status !== 500)
    return '`status` must be 401 or 500.';
  if (detail !== undefined && typeof detail !== 'string') return '`detail` must be a string.';
  return {
    ...(count === undefined ? {} : { count }),
    ...(status === undefined ? {} : { status }),
    ...(detail === undefined ? {} : { detail }),
  };
}
