import crypto from 'node:crypto';

/** An RS256 signing key generated at emulator start; never persisted. */
export interface SigningKey {
  readonly privateKey: crypto.KeyObject;
  readonly publicKey: crypto.KeyObject;
  /** SHA-1 thumbprint of the public key, upper-case hex (ACS-style `kid`). */
  readonly kid: string;
  /** SHA-1 thumbprint, base64url (`x5t`). */
  readonly x5t: string;
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return toSigningKey(privateKey, publicKey);
}

/** Same as generateSigningKey, on the libuv thread pool: emulators starting together do not block each other. */
export function generateSigningKeyAsync(): Promise<SigningKey> {
  return new Promise((resolve, reject) => {
    crypto.generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => {
      if (err !== null) reject(err);
      else resolve(toSigningKey(privateKey, publicKey));
    });
  });
}

function toSigningKey(privateKey: crypto.KeyObject, publicKey: crypto.KeyObject): SigningKey {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const sha1 = crypto.createHash('sha1').update(der).digest();
  return {
    privateKey,
    publicKey,
    kid: sha1.toString('hex').toUpperCase(),
    x5t: sha1.toString('base64url'),
  };
}

export function publicJwk(key: SigningKey): Record<string, unknown> {
  return {
    ...key.publicKey.export({ format: 'jwk' }),
    kid: key.kid,
    x5t: key.x5t,
    use: 'sig',
    alg: 'RS256',
  };
}

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function signJwt(
  key: SigningKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const head = b64urlJson({ alg: 'RS256', kid: key.kid, x5t: key.x5t, typ: 'JWT', ...header });
  const body = b64urlJson(payload);
  const signature = crypto
    .sign('sha256', Buffer.from(`${head}.${body}`), key.privateKey)
    .toString('base64url');
  return `${head}.${body}.${signature}`;
}

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function decodePart(part: string): Record<string, unknown> | undefined {
  if (part.length === 0 || !B64URL.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes without verifying. Returns undefined for anything that is not a three-part JWS with JSON objects. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = decodePart(h);
  const payload = decodePart(p);
  if (header === undefined || payload === undefined || !B64URL.test(s)) return undefined;
  return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

/** True when the token is RS256 and its signature verifies against one of the keys. */
export function verifySignature(decoded: DecodedJwt, keys: readonly crypto.KeyObject[]): boolean {
  if (decoded.header['alg'] !== 'RS256') return false;
  return keys.some((k) => {
    try {
      return crypto.verify('sha256', Buffer.from(decoded.signingInput), k, decoded.signature);
    } catch {
      return false;
    }
  });
}

export function numberClaim(payload: Record<string, unknown>, name: string): number | undefined {
  const v = payload[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function stringClaim(payload: Record<string, unknown>, name: string): string | undefined {
  const v = payload[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function sha256Base64Url(text: string): string {
  return crypto.createHash('sha256').update(text).digest('base64url');
}
