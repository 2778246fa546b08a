import crypto from 'node:crypto';
import type http from 'node:http';
import {
  ANSWERED,
  defaultLog,
  type EmulatorServerOptions,
  isRecord,
  listen,
  parseJsonBody,
  pathOf,
  queryOf,
  readBody,
  readJsonOr400,
  controlApi,
  jsonControlRoute,
  sendEmpty,
  sendJson,
  sendProblem,
  wrapHandler,
} from '../common/http';
import {
  decodeJwt,
  generateSigningKeyAsync,
  GUID,
  numberClaim,
  publicJwk,
  sha256Base64Url,
  signJwt,
  stringClaim,
  verifySignature,
} from '../common/jwt';
import type { LocalCertificate } from '../common/tls';
import {
  createAcsEmailService,
  type AcsEmailApi,
  type AcsEmailOptions,
} from '../acs-email/service';
import { createAcsSmsService, type AcsSmsApi, type AcsSmsOptions } from '../acs-sms/service';
import { AcsError, createAcsRequestAuth, failAcs as fail, sendAcsError } from '../common/acs-wire';

export { ACS_DATA_PLANE_AUDIENCE } from '../common/acs-wire';

/**
 * Emulator of the ACS Identity REST API (api-version 2023-10-01) as `@azure/communication-identity` 1.3.x
 * calls it: HMAC-SHA256 request signing (connection string) or Entra bearer tokens (endpoint + credential,
 * over https: the SDK sends bearer tokens over TLS only), exact success codes, ACS error bodies
 * `{"error":{"code","message","target?"}}`, RS256 tokens with ACS's claims.
 */

export const DEFAULT_ACS_ACCESS_KEY = 'bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0';
export const DEFAULT_ACS_RESOURCE_ID = '00000000-0000-4000-8000-00000000ac50';
export const ACS_TEAMS_AUDIENCE = 'https://auth.msft.communication.azure.com';
/** App id of the "Azure Communication Services" first-party app; v2 Entra tokens may carry it as `aud`. */
export const ACS_TEAMS_AUDIENCE_APP_ID = '1fd5118e-2576-4263-8130-9503064c837a';

export interface AcsIdentityEmulatorOptions extends EmulatorServerOptions {
  /** Base64 access key of the emulated resource. */
  accessKey?: string;
  /** Immutable resource GUID used in identity ids and tokens. */
  resourceId?: string;
  /** Clock (ms since epoch) for token times and `x-ms-date` skew; defaults to Date.now. */
  now?: () => number;
  /**
   * Clock (ms since epoch) of the SMS and Email sends: their outbox times and the email operation's delivery.
   * The local runtime passes its own (as for Twilio's lifecycle), so its dashboard can link a send to the
   * activity that made it; defaults to `now`.
   */
  deliveryNow?: () => number;
  /** Allowed distance between `x-ms-date` and the emulator clock. Default 15 minutes. */
  maxClockSkewMs?: number;
  /**
   * Public keys trusted to sign Entra tokens presented to the Teams exchange. When empty (the default)
   * any well-formed JWT with the right claims is accepted and its signature is not checked; `startEmulators`
   * trusts the AgentID emulator's key, so only tokens it minted are accepted there.
   */
  trustedEntraKeys?: crypto.KeyObject[];
  /**
   * Public keys trusted to sign bearer tokens for the API itself (a managed identity's tokens). Empty (the
   * default): every bearer request is refused, as for an identity without a role on the resource.
   */
  trustedBearerKeys?: crypto.KeyObject[];
  /** Also serve the API over https with this certificate (`httpsUrl`), which the bearer path needs. */
  tls?: LocalCertificate;
  /** The resource's SMS API (`POST /sms`). */
  sms?: AcsSmsOptions;
  /** The resource's Email API (`POST /emails:send` and its operations). */
  email?: AcsEmailOptions;
  /** Also log `SMS to <to> (ACS): <message>` and `Email to <to>: <subject>` lines (used by `npm start`). */
  printMessages?: boolean;
}

export type AcsOperationName = 'create' | 'issue' | 'revoke' | 'delete' | 'exchange';

/** Makes the next `count` matching API calls (after authentication) fail with this ACS error. */
export interface AcsFault {
  count?: number;
  status: number;
  code?: string;
  message?: string;
  /** Adds `Retry-After` (seconds): the SDK retries 429/503 only when it is present. */
  retryAfterSeconds?: number;
  /** Only these operations fail; default all. */
  operations?: AcsOperationName[];
}

export interface AcsTokenValidation {
  valid: boolean;
  /** Why the token is invalid: malformed, bad_signature, unknown_token, expired, revoked, identity_deleted. */
  reason?: string;
  identity?: string;
  scopes?: string[];
  expiresOn?: string;
}

export interface AcsIdentityRecord {
  id: string;
  createdAt: string;
  deleted: boolean;
  tokensIssued: number;
  revokedAt: string | null;
}

export interface AcsIdentityEmulator {
  url: string;
  port: number;
  accessKey: string;
  resourceId: string;
  /** `endpoint=http://127.0.0.1:PORT/;accesskey=...` (use with `allowInsecureConnection: true`). */
  connectionString: string;
  /** `https://127.0.0.1:PORT` when started with `tls`: the endpoint for `new CommunicationIdentityClient(endpoint, credential)`. */
  httpsUrl: string | undefined;
  /** The RS256 public key that signs ACS tokens. */
  publicKey: crypto.KeyObject;
  validateToken(token: string): AcsTokenValidation;
  identities(): AcsIdentityRecord[];
  /** Trust an additional Entra token signer for the Teams exchange. */
  trustEntraKey(key: crypto.KeyObject): void;
  /** Trust an additional signer of bearer tokens for the API (the managed-identity endpoint's key). */
  trustBearerKey(key: crypto.KeyObject): void;
  failNext(fault: AcsFault): void;
  /** Number of authenticated API calls received (including failed ones), for retry assertions. */
  requestCount(): number;
  /** The same resource's SMS API: outbox, fault switch. */
  readonly sms: AcsSmsApi;
  /** The same resource's Email API: outbox, fault switch. */
  readonly email: AcsEmailApi;
  reset(): void;
  close(): Promise<void>;
}

export const ACS_SCOPES = ['chat', 'voip', 'chat.join', 'chat.join.limited', 'voip.join'] as const;
const SUPPORTED_API_VERSIONS = ['2021-03-07', '2022-06-01', '2022-10-01', '2023-10-01'];
/** Above this many remembered tokens, expired ones are forgotten (they validate as `unknown_token` afterwards). */
const MAX_TRACKED_TOKENS = 50_000;
const TEAMS_SCOPES: Readonly<Record<string, string>> = {
  'Teams.ManageCalls': 'voip',
  'Teams.ManageChats': 'chat',
};

interface Identity {
  readonly id: string;
  readonly createdAt: number;
  deleted: boolean;
  revokedAt: number | null;
  tokensIssued: number;
}

interface IssuedToken {
  readonly identity: string;
  readonly scopes: string[];
  readonly expMs: number;
  revoked: boolean;
}

/** ACS's `expiresOn` format: 7 fractional digits and an explicit `+00:00` offset. */
export function formatAcsExpiresOn(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000+00:00');
}

export async function startAcsIdentityEmulator(
  opts: AcsIdentityEmulatorOptions = {},
): Promise<AcsIdentityEmulator> {
  const accessKey = opts.accessKey ?? DEFAULT_ACS_ACCESS_KEY;
  const resourceId = opts.resourceId ?? DEFAULT_ACS_RESOURCE_ID;
  const log = opts.log ?? defaultLog;
  const now = opts.now ?? Date.now;
  const printMessages = opts.printMessages === true;
  const deliveryNow = opts.deliveryNow ?? now;
  const sms = createAcsSmsService({ ...opts.sms, log, printMessages, now: deliveryNow });
  const email = createAcsEmailService({ ...opts.email, log, printMessages, now: deliveryNow });
  const maxSkew = opts.maxClockSkewMs ?? 15 * 60_000;
  const trusted: crypto.KeyObject[] = [...(opts.trustedEntraKeys ?? [])];
  const trustedBearer: crypto.KeyObject[] = [...(opts.trustedBearerKeys ?? [])];
  if (!GUID.test(resourceId)) throw new Error('resourceId must be a GUID');
  const signingKey = await generateSigningKeyAsync();

  let identities = new Map<string, Identity>();
  let tokens = new Map<string, IssuedToken>();
  let sequence = 0;
  let faults: (AcsFault & { count: number })[] = [];
  let calls = 0;

  const authenticate = createAcsRequestAuth({
    accessKey,
    trustedBearerKeys: () => trustedBearer,
    now,
    maxClockSkewMs: maxSkew,
  });

  const newIdentityId = (): string => {
    sequence += 1;
    // Real suffixes start with a sequence-like group; exactly one underscore keeps communication-common parsing it as an ACS user.
    const r = crypto.randomBytes(12).toString('hex');
    const suffix = `${sequence.toString(16).padStart(8, '0')}-${r.slice(0, 4)}-${r.slice(4, 8)}-${r.slice(8, 12)}-${r.slice(12, 24)}`;
    return `8:acs:${resourceId}_${suffix}`;
  };

  /** Resolves an identity of this resource, or answers the way ACS does for foreign, unknown or deleted ids. */
  const ownedIdentity = (rawId: string): Identity => {
    const prefix = `8:acs:${resourceId}_`;
    if (!rawId.startsWith(prefix))
      return fail(401, 'IdentityNotOwned', "Provided identity doesn't belong to the resource.");
    const identity = identities.get(rawId);
    if (identity === undefined || identity.deleted)
      return fail(404, 'IdentityNotFound', 'Identity not found.');
    return identity;
  };

  const parseScopes = (value: unknown, target: string): string[] => {
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
      return fail(400, 'ValidationError', 'Invalid scopes - Scopes field is required.', target);
    }
    if (!Array.isArray(value) || !value.every((s): s is string => typeof s === 'string')) {
      return fail(
        400,
        'ValidationError',
        'Invalid scopes - Scopes must be a list of strings.',
        target,
      );
    }
    for (const s of value) {
      if (!(ACS_SCOPES as readonly string[]).includes(s)) {
        fail(
          400,
          'ValidationError',
          `Invalid scopes - '${s.slice(0, 40)}' is not a valid scope.`,
          target,
        );
      }
    }
    return [...new Set(value)];
  };

  const parseExpiry = (value: unknown): number => {
    if (value === undefined || value === null) return 1440;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 60 || value > 1440) {
      return fail(
        400,
        'ValidationError',
        'Invalid expiresInMinutes - The value must be between 60 and 1440 minutes.',
        'expiresInMinutes',
      );
    }
    return value;
  };

  const issueAcsToken = (
    identity: Identity,
    scopes: string[],
    minutes: number,
  ): { token: string; expiresOn: string } => {
    const nowMs = now();
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + minutes * 60;
    const token = signJwt(signingKey, {
      skypeid: identity.id.slice(2),
      scp: 1792,
      csi: String(iat),
      exp,
      rgn: 'amer',
      acsScope: scopes.join(','),
      resourceId,
      resourceLocation: 'unitedstates',
      iat,
    });
    identity.tokensIssued += 1;
    track(token, { identity: identity.id, scopes, expMs: exp * 1000, revoked: false });
    return { token, expiresOn: formatAcsExpiresOn(nowMs - (nowMs % 1000) + minutes * 60_000) };
  };

  const jsonBody = (raw: Buffer): Record<string, unknown> => {
    let parsed: unknown;
    try {
      parsed = parseJsonBody(raw);
    } catch {
      return fail(400, 'InvalidRequest', 'The request body is not valid JSON.');
    }
    if (parsed === undefined || parsed === null) return {};
    if (!isRecord(parsed))
      return fail(400, 'InvalidRequest', 'The request body must be a JSON object.');
    return parsed;
  };

  const invalidEntra = (): never =>
    fail(401, 'InvalidAccessToken', 'Provided access token is not valid.');

  const exchangeTeams = (body: Record<string, unknown>): { token: string; expiresOn: string } => {
    const { token, appId, userId } = body;
    if (typeof token !== 'string' || token === '') return invalidEntra();
    const decoded = decodeJwt(token);
    if (decoded === undefined) return invalidEntra();
    if (trusted.length > 0 && !verifySignature(decoded, trusted)) return invalidEntra();
    const claims = decoded.payload;
    const exp = numberClaim(claims, 'exp');
    const nbf = numberClaim(claims, 'nbf');
    const nowS = now() / 1000;
    if (exp === undefined || exp <= nowS || (nbf !== undefined && nbf > nowS + 300))
      return invalidEntra();
    const aud = claims['aud'];
    const audOk =
      aud === ACS_TEAMS_AUDIENCE ||
      aud === `${ACS_TEAMS_AUDIENCE}/` ||
      aud === ACS_TEAMS_AUDIENCE_APP_ID;
    const scp = (stringClaim(claims, 'scp') ?? '').split(' ');
    const acsScopes = scp.map((s) => TEAMS_SCOPES[s]).filter((s): s is string => s !== undefined);
    const oid = stringClaim(claims, 'oid');
    const tid = stringClaim(claims, 'tid');
    if (!audOk || acsScopes.length === 0 || oid === undefined || tid === undefined)
      return invalidEntra();
    if (typeof appId !== 'string' || !GUID.test(appId))
      return fail(400, 'ValidationError', 'Invalid appId - The value must be a GUID.', 'appId');
    const tokenApp = stringClaim(claims, 'appid') ?? stringClaim(claims, 'azp');
    if (tokenApp?.toLowerCase() !== appId.toLowerCase()) {
      return fail(
        400,
        'ValidationError',
        "Invalid appId - The value does not match the 'appid' claim of the access token.",
        'appId',
      );
    }
    if (typeof userId !== 'string' || !GUID.test(userId))
      return fail(400, 'ValidationError', 'Invalid userId - The value must be a GUID.', 'userId');
    if (oid.toLowerCase() !== userId.toLowerCase()) {
      return fail(
        400,
        'ValidationError',
        "Invalid userId - The value does not match the 'oid' claim of the access token.",
        'userId',
      );
    }
    const iat = Math.floor(now() / 1000);
    const expS = Math.floor(exp);
    const acsToken = signJwt(signingKey, {
      skypeid: `orgid:${oid}`,
      scp: 1024,
      csi: String(iat),
      exp: expS,
      rgn: 'amer',
      tid,
      acsScope: acsScopes.join(','),
      resourceId,
      aad_iat: String(numberClaim(claims, 'iat') ?? iat),
      aad_uti: stringClaim(claims, 'uti') ?? crypto.randomBytes(16).toString('base64url'),
      aad_appid: tokenApp,
      iat,
    });
    track(acsToken, {
      identity: `8:orgid:${oid}`,
      scopes: acsScopes,
      expMs: expS * 1000,
      revoked: false,
    });
    // The Teams token lives exactly as long as the Entra token it was exchanged for.
    return { token: acsToken, expiresOn: formatAcsExpiresOn(exp * 1000) };
  };

  const validateToken = (token: string): AcsTokenValidation => {
    const decoded = decodeJwt(token);
    if (decoded === undefined) return { valid: false, reason: 'malformed' };
    if (!verifySignature(decoded, [signingKey.publicKey]))
      return { valid: false, reason: 'bad_signature' };
    const issued = tokens.get(sha256Base64Url(token));
    if (issued === undefined) return { valid: false, reason: 'unknown_token' };
    const base = {
      identity: issued.identity,
      scopes: issued.scopes,
      expiresOn: formatAcsExpiresOn(issued.expMs),
    };
    const identity = identities.get(issued.identity);
    if (identity?.deleted === true) return { valid: false, reason: 'identity_deleted', ...base };
    if (issued.revoked) return { valid: false, reason: 'revoked', ...base };
    if (issued.expMs <= now()) return { valid: false, reason: 'expired', ...base };
    return { valid: true, ...base };
  };

  const track = (token: string, issued: IssuedToken): void => {
    tokens.set(sha256Base64Url(token), issued);
    if (tokens.size > MAX_TRACKED_TOKENS) {
      const t = now();
      for (const [k, v] of tokens) if (v.expMs <= t) tokens.delete(k);
    }
  };

  const revokeAll = (identityId: string): void => {
    for (const t of tokens.values()) if (t.identity === identityId) t.revoked = true;
  };

  const apiRoutes = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<void> => {
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const route =
      path === '/identities'
        ? { op: 'create' as const }
        : path === '/teamsUser/:exchangeAccessToken'
          ? { op: 'exchange' as const }
          : (() => {
              const m = /^\/identities\/([^/]+?)(\/:issueAccessToken|\/:revokeAccessTokens)?$/.exec(
                path,
              );
              if (m === null || m[1] === undefined) return undefined;
              const op =
                m[2] === '/:issueAccessToken'
                  ? ('issue' as const)
                  : m[2] === '/:revokeAccessTokens'
                    ? ('revoke' as const)
                    : ('delete' as const);
              return { op, encodedId: m[1] };
            })();
    const expectedMethod =
      route === undefined ? undefined : route.op === 'delete' ? 'DELETE' : 'POST';
    if (route === undefined)
      return fail(
        404,
        'NotFound',
        `No HTTP resource was found that matches the request URI '${path}'.`,
      );
    // A path to an identity also answers GET in the real API (getUserDetail, newer versions); this emulator implements 2023-10-01 only.
    if (method !== expectedMethod)
      return fail(
        405,
        'MethodNotAllowed',
        `The requested resource does not support http method '${method}'.`,
      );

    authenticate(req, raw);

    const apiVersion = queryOf(req).get('api-version');
    if (apiVersion === null || apiVersion === '') {
      return fail(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    }
    if (!SUPPORTED_API_VERSIONS.includes(apiVersion)) {
      return fail(
        400,
        'UnsupportedApiVersion',
        `The HTTP resource that matches the request URI '${path}' does not support the API version '${apiVersion.slice(0, 40)}'.`,
      );
    }

    calls += 1;
    const op: AcsOperationName = route.op;
    const fault = faults.find((f) => f.operations === undefined || f.operations.includes(op));
    if (fault !== undefined) {
      fault.count -= 1;
      if (fault.count <= 0) faults = faults.filter((f) => f !== fault);
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(fault.retryAfterSeconds) };
      throw new AcsError(
        {
          status: fault.status,
          code: fault.code ?? 'EmulatedFailure',
          message: fault.message ?? `Emulated failure (HTTP ${fault.status}).`,
        },
        headers,
      );
    }

    if (route.op === 'create') {
      const body = jsonBody(raw);
      const scopesRaw = body['createTokenWithScopes'];
      // Validate everything before creating, so a 400 leaves no orphan identity behind.
      const scopes =
        scopesRaw === undefined || scopesRaw === null
          ? undefined
          : parseScopes(scopesRaw, 'createTokenWithScopes');
      const minutes = parseExpiry(body['expiresInMinutes']);
      const identity: Identity = {
        id: newIdentityId(),
        createdAt: now(),
        deleted: false,
        revokedAt: null,
        tokensIssued: 0,
      };
      identities.set(identity.id, identity);
      const result: Record<string, unknown> = { identity: { id: identity.id } };
      if (scopes !== undefined) result['accessToken'] = issueAcsToken(identity, scopes, minutes);
      sendJson(res, 201, result);
      return;
    }
    if (route.op === 'exchange') {
      sendJson(res, 200, exchangeTeams(jsonBody(raw)));
      return;
    }
    let identityId: string;
    try {
      identityId = decodeURIComponent(route.encodedId);
    } catch {
      return fail(400, 'InvalidRequest', 'The identity id is not correctly percent-encoded.');
    }
    if (route.op === 'issue') {
      const identity = ownedIdentity(identityId);
      const body = jsonBody(raw);
      const scopes = parseScopes(body['scopes'], 'scopes');
      const minutes = parseExpiry(body['expiresInMinutes']);
      sendJson(res, 200, issueAcsToken(identity, scopes, minutes));
      return;
    }
    if (route.op === 'revoke') {
      const identity = ownedIdentity(identityId);
      identity.revokedAt = now();
      revokeAll(identity.id);
      sendEmpty(res, 204);
      return;
    }
    // Delete: a repeated delete of an identity this resource created is accepted (idempotent);
    // ids it never created are not found.
    const prefix = `8:acs:${resourceId}_`;
    if (!identityId.startsWith(prefix))
      return fail(401, 'IdentityNotOwned', "Provided identity doesn't belong to the resource.");
    const identity = identities.get(identityId);
    if (identity === undefined) return fail(404, 'IdentityNotFound', 'Identity not found.');
    identity.deleted = true;
    revokeAll(identity.id);
    sendEmpty(res, 204);
  };

  const validateTokenRoute = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> => {
    const parsed = await readJsonOr400(req, res);
    if (parsed === ANSWERED) return;
    if (!isRecord(parsed) || typeof parsed['token'] !== 'string' || parsed['token'] === '') {
      return sendProblem(
        res,
        400,
        'Bad Request',
        'Expected a JSON object {"token": "<ACS token>"}.',
        { errors: [{ field: 'token', message: 'required string' }] },
      );
    }
    sendJson(res, 200, validateToken(parsed['token']));
  };

  const controlRoutes = controlApi(
    {
      'POST /_emulator/tokens/validate': validateTokenRoute,
      'POST /_emulator/faults': jsonControlRoute(parseFault, (fault) => api.failNext(fault)),
      'GET /_emulator/identities': (_req, res) =>
        sendJson(res, 200, { identities: api.identities() }),
      'GET /_emulator/keys': (_req, res) => sendJson(res, 200, { keys: [publicJwk(signingKey)] }),
    },
    { reset: () => api.reset(), health: { resourceId } },
  );
  const emulatorRoutes = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<void> => {
    if ((await sms.emulatorRoute(req, res, path)) || (await email.emulatorRoute(req, res, path)))
      return;
    return controlRoutes(req, res, path);
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    if (path.startsWith('/_emulator/')) return emulatorRoutes(req, res, path);
    // Headers the real service sends on every answer; the SDK reads the request id echo for diagnostics.
    const clientRequestId = req.headers['x-ms-client-request-id'];
    if (typeof clientRequestId === 'string' && clientRequestId.length <= 128)
      res.setHeader('x-ms-client-request-id', clientRequestId);
    res.setHeader('ms-cv', crypto.randomBytes(16).toString('base64url').slice(0, 22) + '.0');
    res.setHeader('api-supported-versions', SUPPORTED_API_VERSIONS.join(', '));
    try {
      if (sms.handles(path) || email.handles(path)) {
        const raw = await readBody(req);
        authenticate(req, raw);
        if (sms.handles(path)) sms.send(req, res, raw);
        else email.handle(req, res, path, raw);
        return;
      }
      await apiRoutes(req, res, path);
    } catch (err) {
      if (err instanceof AcsError) return sendAcsError(res, err.body, err.headers);
      throw err;
    }
  };

  const listening = await listen(wrapHandler('acs', handler, log), {
    port: opts.port,
    host: opts.host ?? '127.0.0.1',
  });
  const url = `http://${listening.urlHost}:${listening.port}`;
  let secure: Awaited<ReturnType<typeof listen>> | undefined;
  if (opts.tls !== undefined) {
    try {
      secure = await listen(wrapHandler('acs', handler, log), {
        port: 0,
        host: opts.host ?? '127.0.0.1',
        tls: opts.tls,
      });
    } catch (e) {
      await listening.close();
      throw e;
    }
  }

  const api: AcsIdentityEmulator = {
    url,
    port: listening.port,
    accessKey,
    resourceId,
    connectionString: `endpoint=${url}/;accesskey=${accessKey}`,
    httpsUrl: secure === undefined ? undefined : `https://${secure.urlHost}:${secure.port}`,
    publicKey: signingKey.publicKey,
    validateToken,
    identities: () =>
      [...identities.values()].map((i) => ({
        id: i.id,
        createdAt: new Date(i.createdAt).toISOString(),
        deleted: i.deleted,
        tokensIssued: i.tokensIssued,
        revokedAt: i.revokedAt === null ? null : new Date(i.revokedAt).toISOString(),
      })),
    trustEntraKey: (key) => {
      trusted.push(key);
    },
    trustBearerKey: (key) => {
      trustedBearer.push(key);
    },
    failNext: (fault) => {
      faults.push({ ...fault, count: fault.count ?? 1 });
    },
    requestCount: () => calls,
    sms: sms.api,
    email: email.api,
    reset: () => {
      identities = new Map();
      tokens = new Map();
      sequence = 0;
      faults = [];
      calls = 0;
      sms.reset();
      email.reset();
    },
    close: async () => {
      await Promise.all([listening.close(), secure?.close()]);
    },
  };
  return api;
}

const OPERATIONS: readonly AcsOperationName[] = ['create', 'issue', 'revoke', 'delete', 'exchange'];

function parseFault(value: unknown): AcsFault | string {
  if (!isRecord(value))
    return 'Expected a JSON object {status, code?, message?, count?, retryAfterSeconds?, operations?}.';
  const { status, code, message, count, retryAfterSeconds, operations } = value;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
    return '`status` must be an integer 400..599.';
  if (code !== undefined && typeof code !== 'string') return '`code` must be a string.';
  if (message !== undefined && typeof message !== 'string') return '`message` must be a string.';
  if (
    count !== undefined &&
    (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000)
  )
    return '`count` must be an integer 1..1000.';
  if (
    retryAfterSeconds !== undefined &&
    (typeof retryAfterSeconds !== 'number' || retryAfterSeconds < 0)
  )
    return '`retryAfterSeconds` must be a non-negative number.';
  if (
    operations !== undefined &&
    (!Array.isArray(operations) ||
      !operations.every((o) => (OPERATIONS as readonly unknown[]).includes(o)))
  ) {
    return `\`operations\` must be a list of ${OPERATIONS.join(', ')}.`;
  }
  return {
    status,
    ...(code === undefined ? {} : { code }),
    ...(message === undefined ? {} : { message }),
    ...(count === undefined ? {} : { count }),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    ...(operations === undefined ? {} : { operations: operations as AcsOperationName[] }),
  };
}
