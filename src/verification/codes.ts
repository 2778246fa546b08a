import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';
import { CODE_LENGTH_RANGE, isCodeLength } from './rules';

const WELL_FORMED_CODE = new RegExp(`^\\d{${CODE_LENGTH_RANGE.min},${CODE_LENGTH_RANGE.max}}$`);
/** At most the longest code: anything longer cannot match and is not worth hashing. */
const DIGITS = new RegExp(`^\\d{1,${CODE_LENGTH_RANGE.max}}$`);

/** Returns an integer in [min, max). `crypto.randomInt` in production, a fixed sequence in tests. */
export type RandomInt = (min: number, max: number) => number;

/** Uniformly random decimal code of `length` digits, leading zeros allowed. */
export function generateCode(length: number, random: RandomInt = randomInt): string {
  assertCodeLength(length);
  let code = '';
  // One draw per digit: randomInt's range is limited to 2^48, which 10^10 would approach.
  for (let i = 0; i < length; i++) code += String(random(0, 10));
  return code;
}

export function renderMessage(template: string, code: string): string {
  return template.split('{code}').join(code);
}

/**
 * Keyed hash of a code, bound to the instance: a hash from one verification is useless for
 * another, and without the secret it cannot be brute-forced from history.
 */
export function hashCode(secret: string, instanceId: string, code: string): string {
  return createHmac('sha256', secret).update(`${instanceId}\n${code}`, 'utf8').digest('hex');
}

declare const wellFormed: unique symbol;
/** A submitted code that passed {@link isWellFormedCode}: normalising it cannot fail. */
export type WellFormedCode = (string | number) & { readonly [wellFormed]: true };

/**
 * Normalises a submitted code: a string of digits is taken as is, a non-negative integer is
 * left-padded with zeros to the code length (the seed sends `2168` as a JSON number). Anything
 * else is not a code.
 */
export function normalizeCode(submitted: WellFormedCode, codeLength: number): string;
export function normalizeCode(submitted: unknown, codeLength: number): string | undefined;
export function normalizeCode(submitted: unknown, codeLength: number): string | undefined {
  if (typeof submitted === 'string') {
    const trimmed = submitted.trim();
    return DIGITS.test(trimmed) ? trimmed : undefined;
  }
  if (typeof submitted === 'number' && Number.isSafeInteger(submitted) && submitted >= 0) {
    const digits = String(submitted);
    return digits.length > codeLength ? digits : digits.padStart(codeLength, '0');
  }
  return undefined;
}

/**
 * What the app's own code endpoint raises instead of the code: the durable extension stores every
 * event payload in history, so the endpoint encrypts the code first. Raising the code's HMAC
 * instead would not do: the expected HMAC is itself in history and could be raised back.
 */
export interface SealedCodePayload {
  /** base64url of iv (12 bytes) | AES-256-GCM ciphertext | tag (16 bytes). */
  readonly sealedCode: string;
}

const SEAL_IV_BYTES = 12;
const SEAL_TAG_BYTES = 16;
/** HKDF info: the sealing key must differ from the HMAC key, although both come from one secret. */
const SEAL_KEY_LABEL = 'sms-verification/sealed-code/aes-256-gcm/v1';
/** iv + tag + at most 10 digits, base64url; anything longer is not ours and is not decrypted. */
const SEALED_CODE_PATTERN = /^[A-Za-z0-9_-]{39,51}$/;

function sealingKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), SEAL_KEY_LABEL, 32));
}

/**
 * Encrypts a normalised code for one instance. The instance id is the additional authenticated
 * data, so a sealed code raised at another instance fails to open. `iv` is injectable for tests
 * only; production must use a fresh random one per call.
 */
export function sealCode(
  secret: string,
  instanceId: string,
  code: string,
  iv: Buffer = randomBytes(SEAL_IV_BYTES),
): string {
  if (iv.length !== SEAL_IV_BYTES) throw new RangeError('the IV must be 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secret), iv);
  cipher.setAAD(Buffer.from(instanceId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(code, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url');
}

/**
 * The code inside a sealed value, or undefined for anything that does not authenticate under this
 * secret and instance. Never throws: the caller treats every failure as a wrong answer, and the
 * reason (which could hint at the key or the plaintext) is deliberately dropped.
 */
export function unsealCode(
  secret: string,
  instanceId: string,
  sealed: unknown,
): string | undefined {
  if (typeof sealed !== 'string' || !SEALED_CODE_PATTERN.test(sealed)) return undefined;
  try {
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length <= SEAL_IV_BYTES + SEAL_TAG_BYTES) return undefined;
    const iv = bytes.subarray(0, SEAL_IV_BYTES);
    const tag = bytes.subarray(bytes.length - SEAL_TAG_BYTES);
    const ciphertext = bytes.subarray(SEAL_IV_BYTES, bytes.length - SEAL_TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(secret), iv, {
      authTagLength: SEAL_TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(instanceId, 'utf8'));
    decipher.setAuthTag(tag);
    const code = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    return DIGITS.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Exactly `{ sealedCode: string }`; any other object is a malformed answer. */
function readSealedPayload(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'sealedCode') return undefined;
  const { sealedCode } = value as Record<string, unknown>;
  return typeof sealedCode === 'string' ? sealedCode : undefined;
}

/**
 * Constant-time check of a submitted answer against the stored hash. The answer is either a raw
 * code (the seed's sendEventPostUri path) or a {@link SealedCodePayload} from the app's endpoint;
 * decryption is deterministic, so this stays replay-safe inside the orchestrator.
 */
export function codeMatches(
  secret: string,
  instanceId: string,
  expectedHash: string,
  submitted: unknown,
  codeLength: number,
): boolean {
  const code =
    typeof submitted === 'object' && submitted !== null
      ? unsealCode(secret, instanceId, readSealedPayload(submitted))
      : normalizeCode(submitted, codeLength);
  if (code === undefined || code.length !== codeLength) return false;
  const actual = Buffer.from(hashCode(secret, instanceId, code), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Syntactic check for the HTTP endpoint: a string of code-length digits, or a non-negative integer
 * of at most as many digits (leading zeros are restored by {@link normalizeCode}).
 */
export function isWellFormedCode(value: unknown): value is WellFormedCode {
  if (typeof value === 'string') return WELL_FORMED_CODE.test(value);
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 0 &&
    value < 10 ** CODE_LENGTH_RANGE.max
  );
}

function assertCodeLength(length: number): void {
  if (!isCodeLength(length)) {
    throw new RangeError(
      `code length must be an integer in ${CODE_LENGTH_RANGE.min}..${CODE_LENGTH_RANGE.max}`,
    );
  }
}
