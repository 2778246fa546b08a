import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from './key-derivation';

/**
 * What the app's code link raises into the orchestration: the code and the moment the app
 * received it, encrypted and authenticated (AES-256-GCM, instance id as additional data). History
 * then holds no raw code, and the orchestrator judges the answer by its receipt time, which a
 * caller cannot forge, instead of by when a (possibly delayed) episode happens to run.
 */
export interface SealedAnswerPayload {
  /** base64url of iv (12 bytes) | ciphertext | tag (16 bytes). */
  readonly sealedAnswer: string;
}

export interface OpenedAnswer {
  /** The normalised code, 1-10 digits. */
  readonly code: string;
  readonly receivedAt: Date;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Its own HKDF label: this key differs from every other key taken from the same secret. */
const KEY_LABEL = 'sms-verification/sealed-answer/aes-256-gcm/v1';
/** Longest plaintext is about 60 bytes; anything much longer is not ours and is not decrypted. */
const SEALED_PATTERN = /^[A-Za-z0-9_-]{40,200}$/;
const CODE_PATTERN = /^\d{1,10}$/;

interface Plaintext {
  readonly code: string;
  readonly receivedAt: string;
}

/**
 * Seals a normalised code with its receipt time for one instance. `iv` is injectable for tests
 * only; production uses a fresh random one per call.
 */
export function sealAnswer(
  secret: string,
  instanceId: string,
  answer: OpenedAnswer,
  iv: Buffer = randomBytes(IV_BYTES),
): SealedAnswerPayload {
  if (!CODE_PATTERN.test(answer.code)) throw new RangeError('the code must be 1-10 digits');
  if (Number.isNaN(answer.receivedAt.getTime())) throw new RangeError('receivedAt is invalid');
  if (iv.length !== IV_BYTES) throw new RangeError('the IV must be 12 bytes');
  const plaintext: Plaintext = { code: answer.code, receivedAt: answer.receivedAt.toISOString() };
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secret), iv);
  cipher.setAAD(Buffer.from(instanceId, 'utf8'));
  const ciphertext = Buffer.concat([
    cipher.update(JSON.stringify(plaintext), 'utf8'),
    cipher.final(),
  ]);
  return {
    sealedAnswer: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url'),
  };
}

/**
 * The answer inside a payload raised at `instanceId`, or undefined for anything that is not
 * exactly `{ sealedAnswer }` sealed under this secret for this instance. Never throws, and drops
 * the reason: every failure is a wrong answer. Deterministic, so safe inside an orchestrator.
 */
export function openAnswer(
  secret: string,
  instanceId: string,
  payload: unknown,
): OpenedAnswer | undefined {
  const sealed = readPayload(payload);
  if (sealed === undefined || !SEALED_PATTERN.test(sealed)) return undefined;
  try {
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    const decipher = createDecipheriv(
      'aes-256-gcm',
      sealingKey(secret),
      bytes.subarray(0, IV_BYTES),
      {
        authTagLength: TAG_BYTES,
      },
    );
    decipher.setAAD(Buffer.from(instanceId, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const text = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
    return toAnswer(JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function toAnswer(value: unknown): OpenedAnswer | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, receivedAt } = value as Record<string, unknown>;
  if (typeof code !== 'string' || !CODE_PATTERN.test(code) || typeof receivedAt !== 'string') {
    return undefined;
  }
  const at = new Date(receivedAt);
  return Number.isNaN(at.getTime()) ? undefined : { code, receivedAt: at };
}

function readPayload(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'sealedAnswer') return undefined;
  const { sealedAnswer } = value as Record<string, unknown>;
  return typeof sealedAnswer === 'string' ? sealedAnswer : undefined;
}

function sealingKey(secret: string): Buffer {
  return deriveKey(secret, KEY_LABEL);
}
