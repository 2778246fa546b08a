import { createHmac, timingSafeEqual } from 'node:crypto';
import type { JudgedAnswer } from '../rules';
import { openAnswer } from './sealed-answer';

/**
 * Keyed hash of a code, bound to the instance: a hash from one verification is useless for
 * another, and without the secret it cannot be brute-forced from history. Keyed with the secret
 * itself rather than an HKDF subkey (see key-derivation.ts): the hashes of running instances are in
 * their history, so the key cannot change without failing them.
 */
export function hashCode(secret: string, instanceId: string, code: string): string {
  return createHmac('sha256', secret).update(`${instanceId}\n${code}`, 'utf8').digest('hex');
}

/**
 * Opens a sealed answer raised at `instanceId` (see sealed-answer.ts) and compares its code with
 * the challenge hash in constant time. Undefined for anything that is not an answer the app's
 * links sealed for this instance (a raw code raised with a host key included): it carries no
 * trustworthy receipt time. Deterministic for a given secret, so safe inside the orchestrator.
 */
export function judgeAnswer(
  secret: string,
  instanceId: string,
  expectedHash: string,
  payload: unknown,
  codeLength: number,
): JudgedAnswer | undefined {
  const opened = openAnswer(secret, instanceId, payload);
  if (opened === undefined) return undefined;
  const { code, receivedAt } = opened;
  if (code.length !== codeLength) return { correct: false, receivedAt };
  const actual = Buffer.from(hashCode(secret, instanceId, code), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return {
    correct: actual.length === expected.length && timingSafeEqual(actual, expected),
    receivedAt,
  };
}
