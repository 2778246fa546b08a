import { hkdfSync } from 'node:crypto';

/**
 * One HKDF-SHA256 subkey of `VERIFICATION_CODE_SECRET` per purpose (link tokens, sealed answers,
 * sealed recipients, derived codes, counter row keys), so these purposes share no key material. The
 * one exception is the code hash (code-hash.ts), keyed with the secret itself since before subkeys
 * existed: the hashes of running instances are in their history, so its key stays as it is (a
 * different construction, HMAC over instance id and code, so no collision with any subkey's use).
 * Deriving costs about as much as the HMAC it keys, and every status poll checks a token, so each
 * subkey is derived once per process: holding it in memory exposes nothing the secret itself does
 * not.
 */
const derived = new Map<string, Buffer>();
/** A handful of labels and one secret in practice; the bound only guards against misuse. */
const MAX_KEYS = 32;

export function deriveKey(secret: string, label: string): Buffer {
  const id = `${label}\u0000${secret}`;
  let key = derived.get(id);
  if (key === undefined) {
    if (derived.size >= MAX_KEYS) derived.clear();
    key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), label, 32));
    derived.set(id, key);
  }
  return key;
}
