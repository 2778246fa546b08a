/**
 * Host keys, generated on first start and kept under the data folder (like the host's file secret storage):
 * the master key (admin level, accepted everywhere), the default function key (function level) and the system
 * key of the Durable extension (`durabletask_extension`), which the management API URLs carry.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HostKeys {
  readonly masterKey: string;
  readonly functionKey: string;
  readonly systemKey: string;
}

function newKey(): string {
  return randomBytes(32).toString('base64url');
}

function isKeys(value: unknown): value is HostKeys {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return [v.masterKey, v.functionKey, v.systemKey].every(
    (k) => typeof k === 'string' && k.length >= 16,
  );
}

/** Reads `<dataDir>/host-keys.json`, creating it (mode 0600) with fresh keys when missing or unreadable. */
export function loadOrCreateKeys(dataDir: string): {
  keys: HostKeys;
  file: string;
  created: boolean;
} {
  const file = path.join(dataDir, 'host-keys.json');
  if (fs.existsSync(file)) {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (isKeys(parsed)) {
        return {
          keys: {
            masterKey: parsed.masterKey,
            functionKey: parsed.functionKey,
            systemKey: parsed.systemKey,
          },
          file,
          created: false,
        };
      }
    } catch {
      // A damaged key file is replaced: keys are local-only and reprinted at start.
    }
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const keys: HostKeys = { masterKey: newKey(), functionKey: newKey(), systemKey: newKey() };
  fs.writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  return { keys, file, created: true };
}

/** Constant-time comparison, so response timing does not reveal how much of a key matched. */
export function keyEquals(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) {
    return false;
  }
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
