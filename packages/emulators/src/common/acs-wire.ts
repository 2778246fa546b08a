import crypto from 'node:crypto';
import type http from 'node:http';
import type { FaultSwitch } from './fault-switch';
import { isRecord, parseJsonBody, queryOf, sendJson } from './http';
import { decodeJwt, numberClaim, verifySignature } from './jwt';

/**
 * What every emulated ACS data-plane API shares (Identity, SMS, Email are one resource, one endpoint): the
 * access-key HMAC-SHA256 request signature or an Entra bearer token for the resource, and ACS's error body
 * `{"error":{"code","message","target?"}}`.
 */

/** The audience of Entra tokens for the ACS data plane (`https://communication.azure.com//.default`). */
export const ACS_DATA_PLANE_AUDIENCE = 'https://communication.azure.com';

export interface AcsErrorBody {
  status: number;
  code: string;
  message: string;
  target?: string;
}

export class AcsError extends Error {
  constructor(
    readonly body: AcsErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

export const failAcs = (status: number, code: string, message: string, target?: string): never => {
  throw new AcsError(
    target === undefined ? { status, code, message } : { status, code, message, target },
  );
};

export function sendAcsError(
  res: http.ServerResponse,
  e: AcsErrorBody,
  headers: Record<string, string> = {},
): void {
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.target !== undefined) error['target'] = e.target;
  // The Email API also names the code in a header, which its SDK maps (`x-ms-error-code`).
  sendJson(res, e.status, { error }, { 'x-ms-error-code': e.code, ...headers }, 'application/json');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

export interface AcsRequestAuthOptions {
  /** Base64 access key of the resource (the connection string's `accesskey`). */
  readonly accessKey: string;
  /** Signers of bearer tokens accepted for the resource (a managed identity's); read on every request. */
  readonly trustedBearerKeys: () => readonly crypto.KeyObject[];
  /** Clock (ms since epoch) for `x-ms-date` skew and token lifetimes. */
  readonly now: () => number;
  /** Allowed distance between `x-ms-date` and the clock. */
  readonly maxClockSkewMs: number;
}

/**
 * Authenticates one request as the ACS SDKs sign it (`createCommunicationAuthPolicy`): a bearer token for
 * the resource signed by a trusted identity, or the HMAC-SHA256 signature over verb, path and query, date,
 * host and content hash. Throws {@link AcsError} 401 `Denied` otherwise.
 */
export function createAcsRequestAuth(
  opts: AcsRequestAuthOptions,
): (req: http.IncomingMessage, body: Buffer) => void {
  const keyBytes = Buffer.from(opts.accessKey, 'base64');
  if (keyBytes.length === 0) throw new Error('accessKey must be non-empty base64');

  const verifyBearer = (token: string): void => {
    const denied = (): never =>
      failAcs(401, 'Denied', 'Denied because the bearer token is not valid for this resource.');
    const decoded = decodeJwt(token);
    if (decoded === undefined || !verifySignature(decoded, [...opts.trustedBearerKeys()])) {
      return denied();
    }
    const claims = decoded.payload;
    const aud = claims['aud'];
    if (aud !== ACS_DATA_PLANE_AUDIENCE && aud !== `${ACS_DATA_PLANE_AUDIENCE}/`) return denied();
    const exp = numberClaim(claims, 'exp');
    const nbf = numberClaim(claims, 'nbf');
    const nowS = opts.now() / 1000;
    if (exp === undefined || exp <= nowS || (nbf !== undefined && nbf > nowS + 300)) denied();
  };

  const verifyHmac = (req: http.IncomingMessage, body: Buffer): void => {
    const auth = req.headers.authorization;
    if (auth === undefined || auth === '')
      failAcs(401, 'Denied', 'Denied because the request is not authenticated.');
    const m = /^HMAC-SHA256 SignedHeaders=([^&]+)&Signature=(.+)$/.exec(auth ?? '');
    if (m === null || m[1] === undefined || m[2] === undefined) {
      return failAcs(
        401,
        'Denied',
        'Denied because the Authorization header is not a valid HMAC-SHA256 signature.',
      );
    }
    const signed = m[1].toLowerCase().split(';');
    if (signed.join(';') !== 'x-ms-date;host;x-ms-content-sha256') {
      failAcs(401, 'Denied', 'SignedHeaders must be x-ms-date;host;x-ms-content-sha256.');
    }
    const date = req.headers['x-ms-date'];
    const host = req.headers.host;
    const claimedHash = req.headers['x-ms-content-sha256'];
    if (typeof date !== 'string' || typeof host !== 'string' || typeof claimedHash !== 'string') {
      return failAcs(401, 'Denied', 'Denied because a signed header is missing.');
    }
    const dateMs = Date.parse(date);
    if (Number.isNaN(dateMs) || Math.abs(dateMs - opts.now()) > opts.maxClockSkewMs) {
      failAcs(401, 'Denied', "Request 'x-ms-date' is outside the allowed clock skew.");
    }
    const actualHash = crypto.createHash('sha256').update(body).digest('base64');
    if (!constantTimeEqual(claimedHash, actualHash)) {
      failAcs(401, 'Denied', "Request 'x-ms-content-sha256' differs from generated content hash.");
    }
    // The signature covers the raw (still percent-encoded) path and the re-serialised query, as the SDK computes it.
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1)).toString();
    const pathAndQuery = rawPath + (query === '' ? '' : `?${query}`);
    const stringToSign = `${(req.method ?? '').toUpperCase()}\n${pathAndQuery}\n${date};${host};${actualHash}`;
    const expected = crypto
      .createHmac('sha256', keyBytes)
      .update(stringToSign, 'utf8')
      .digest('base64');
    if (!constantTimeEqual(m[2], expected))
      failAcs(401, 'Denied', 'Denied because the request signature is invalid.');
  };

  return (req, body) => {
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    if (bearer?.[1] !== undefined) verifyBearer(bearer[1]);
    else verifyHmac(req, body);
  };
}

/** The origin the client reached (http or https listener), for URLs the service hands back. */
export function requestOrigin(req: http.IncomingMessage): string {
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${secure ? 'https' : 'http'}://${req.headers.host ?? '127.0.0.1'}`;
}

/** The request's `api-version`, which must be one of `versions` (400 `UnsupportedApiVersion` otherwise). */
export function acsApiVersion(
  req: http.IncomingMessage,
  path: string,
  versions: readonly string[],
): string {
  const version = queryOf(req).get('api-version') ?? '';
  if (!versions.includes(version)) {
    failAcs(
      400,
      'UnsupportedApiVersion',
      `The HTTP resource that matches the request URI '${path}' does not support the API version '${version.slice(0, 40)}'.`,
    );
  }
  return version;
}

/**
 * Takes the send's next armed fault: throws it as an {@link AcsError}, or holds the response open and
 * answers true for a hang; false when no fault is armed.
 */
export function takeAcsFault(faults: FaultSwitch, res: http.ServerResponse): boolean {
  const fault = faults.take();
  if (fault?.hang === true) {
    faults.hang(res);
    return true;
  }
  if (fault === undefined) return false;
  throw new AcsError(
    {
      status: fault.status,
      code: typeof fault.code === 'string' ? fault.code : 'ServiceUnavailable',
      message: fault.message ?? `Emulated failure (HTTP ${fault.status}).`,
    },
    fault.headers,
  );
}

/** The JSON object of a request body (400 `InvalidRequest` otherwise). */
export function parseAcsBody(raw: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = parseJsonBody(raw);
  } catch {
    return failAcs(400, 'InvalidRequest', 'The request body is not valid JSON.');
  }
  if (!isRecord(body)) return failAcs(400, 'InvalidRequest', 'The request body is required.');
  return body;
}
