import crypto from 'node:crypto';
import type http from 'node:http';
import {
  defaultLog,
  type EmulatorServerOptions,
  listen,
  pathOf,
  queryOf,
  sendCommonEmulatorRoute,
  sendJson,
  wrapHandler,
} from '../common/http';
import { generateSigningKeyAsync, signJwt } from '../common/jwt';

/**
 * The App Service managed-identity endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), as `@azure/identity`'s
 * `ManagedIdentityCredential` (and so `DefaultAzureCredential`) calls it through MSAL:
 * `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<scope without /.default>` with
 * `X-IDENTITY-HEADER: <IDENTITY_HEADER>`, answered `{access_token, expires_on, resource, token_type, client_id}`.
 * Tokens are RS256 JWTs of the app's (system-assigned) identity for the requested resource; emulators that
 * trust this endpoint's public key accept them (the ACS Identity emulator does, for its bearer path).
 */

export const MANAGED_IDENTITY_API_VERSION = '2019-08-01';
/** The emulated identity: a service principal of the emulated tenant. */
export const DEFAULT_MANAGED_IDENTITY_CLIENT_ID = '00000000-0000-4000-8000-0000000000a1';
export const DEFAULT_MANAGED_IDENTITY_OBJECT_ID = '00000000-0000-4000-8000-0000000000a2';
export const DEFAULT_MANAGED_IDENTITY_TENANT_ID = '72f988bf-0000-4000-8000-000000000011';
const TOKEN_PATH = '/msi/token';
const TOKEN_LIFETIME_S = 24 * 3600;
/** How many issued resources `issuedFor` remembers. */
const MAX_REMEMBERED = 1000;

export interface ManagedIdentityEmulatorOptions extends EmulatorServerOptions {
  /** The `IDENTITY_HEADER` secret; random when omitted. */
  identityHeader?: string;
  /** Wall clock (ms since epoch). MSAL compares `expires_on` with the real time, so keep it the real one. */
  now?: () => number;
}

export interface ManagedIdentityEmulator {
  url: string;
  port: number;
  /** The `IDENTITY_ENDPOINT` value. */
  identityEndpoint: string;
  /** The `IDENTITY_HEADER` value (a secret). */
  identityHeader: string;
  clientId: string;
  objectId: string;
  tenantId: string;
  /** Verifies the tokens this endpoint issues. */
  publicKey: crypto.KeyObject;
  /** Resources tokens were issued for, in order (for assertions). */
  issuedFor(): string[];
  /** Makes the endpoint refuse every token request (400), as when no identity is assigned. */
  setUnavailable(unavailable: boolean): void;
  /** `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`. */
  appSettings(): Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export async function startManagedIdentityEmulator(
  opts: ManagedIdentityEmulatorOptions = {},
): Promise<ManagedIdentityEmulator> {
  const identityHeader = opts.identityHeader ?? crypto.randomBytes(24).toString('base64url');
  const log = opts.log ?? defaultLog;
  const now = opts.now ?? Date.now;
  const signingKey = await generateSigningKeyAsync();
  let issued: string[] = [];
  let unavailable = false;

  const error = (
    res: http.ServerResponse,
    status: number,
    code: string,
    description: string,
  ): void =>
    sendJson(res, status, { error: code, error_description: description }, {}, 'application/json');

  const token = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const header = req.headers['x-identity-header'];
    if (typeof header !== 'string' || !sameSecret(header, identityHeader)) {
      return error(res, 401, 'unauthorized', 'The X-IDENTITY-HEADER is missing or wrong.');
    }
    const q = queryOf(req);
    if (q.get('api-version') !== MANAGED_IDENTITY_API_VERSION) {
      return error(
        res,
        400,
        'invalid_request',
        `api-version must be ${MANAGED_IDENTITY_API_VERSION}.`,
      );
    }
    const resource = q.get('resource') ?? '';
    if (resource === '') return error(res, 400, 'invalid_request', 'resource is required.');
    // Only the system-assigned identity exists here.
    for (const name of ['client_id', 'principal_id', 'object_id', 'mi_res_id']) {
      const value = q.get(name);
      if (value !== null && value !== clientId && value !== objectId) {
        return error(res, 400, 'invalid_request', `No user-assigned identity matches ${name}.`);
      }
    }
    // 400, not 5xx: MSAL retries 5xx, and an identity that is not there stays not there.
    if (unavailable) return error(res, 400, 'invalid_request', 'No managed identity is assigned.');
    const iat = Math.floor(now() / 1000);
    const exp = iat + TOKEN_LIFETIME_S;
    const accessToken = signJwt(signingKey, {
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat,
      nbf: iat,
      exp,
      appid: clientId,
      azp: clientId,
      idtyp: 'app',
      oid: objectId,
      sub: objectId,
      tid: tenantId,
      uti: crypto.randomBytes(16).toString('base64url'),
      ver: '1.0',
      xms_mirid: `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/local/providers/Microsoft.Web/sites/local-functions`,
    });
    issued.push(resource);
    if (issued.length > MAX_REMEMBERED) issued.splice(0, issued.length - MAX_REMEMBERED);
    sendJson(
      res,
      200,
      {
        access_token: accessToken,
        expires_on: String(exp),
        resource,
        token_type: 'Bearer',
        client_id: clientId,
      },
      {},
      'application/json',
    );
  };

  const clientId = DEFAULT_MANAGED_IDENTITY_CLIENT_ID;
  const objectId = DEFAULT_MANAGED_IDENTITY_OBJECT_ID;
  const tenantId = DEFAULT_MANAGED_IDENTITY_TENANT_ID;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (path === TOKEN_PATH && method === 'GET') {
      token(req, res);
      return Promise.resolve();
    }
    if (path.startsWith('/_emulator/')) {
      sendCommonEmulatorRoute(res, method, path, api);
      return Promise.resolve();
    }
    error(res, 404, 'not_found', `No endpoint ${method} ${path}.`);
    return Promise.resolve();
  };

  const listening = await listen(wrapHandler('managed-identity', handler, log), {
    port: opts.port,
    host: opts.host ?? '127.0.0.1',
  });
  const url = `http://${listening.urlHost}:${listening.port}`;
  const identityEndpoint = `${url}${TOKEN_PATH}`;
  const api: ManagedIdentityEmulator = {
    url,
    port: listening.port,
    identityEndpoint,
    identityHeader,
    clientId,
    objectId,
    tenantId,
    publicKey: signingKey.publicKey,
    issuedFor: () => [...issued],
    setUnavailable: (value) => {
      unavailable = value;
    },
    appSettings: () => ({ IDENTITY_ENDPOINT: identityEndpoint, IDENTITY_HEADER: identityHeader }),
    reset: () => {
      issued = [];
      unavailable = false;
    },
    close: () => listening.close(),
  };
  return api;
}
