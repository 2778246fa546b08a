/**
 * App-declared generated secrets: settings the app needs a random value for locally (its own API
 * credentials, say) and that nobody should have to invent by hand. The app declares them in its
 * `local.services.cjs` hook as `generatedSecrets` (`{ NAME: { prefix: 'AC', hexDigits: 32 } }`);
 * on first start the runtime draws each one, keeps it under the data folder (mode 0600, like the
 * host keys) and applies it to every setting that is unset or blank. The environment and the
 * settings file override them as any setting.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LocalServices } from './host/local-services';

export interface GeneratedSecretSpec {
  /** Literal text before the random part, e.g. `AC`. */
  readonly prefix: string;
  /** Lowercase hex digits of the random part (8..128). */
  readonly hexDigits: number;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{0,16}$/;

/**
 * The hook's `generatedSecrets`; malformed entries are ignored (none is required), since the hook is plain
 * JavaScript that the type only describes.
 */
export function readDeclaredSecrets(
  services: LocalServices,
): Readonly<Record<string, GeneratedSecretSpec>> {
  const declared: unknown = services.generatedSecrets;
  if (typeof declared !== 'object' || declared === null) return {};
  const specs: Record<string, GeneratedSecretSpec> = {};
  for (const [name, raw] of Object.entries(declared)) {
    const prefix = field(raw, 'prefix') ?? '';
    const hexDigits = field(raw, 'hexDigits');
    if (
      NAME_PATTERN.test(name) &&
      typeof prefix === 'string' &&
      PREFIX_PATTERN.test(prefix) &&
      typeof hexDigits === 'number' &&
      Number.isInteger(hexDigits) &&
      hexDigits >= 8 &&
      hexDigits <= 128
    ) {
      specs[name] = { prefix, hexDigits };
    }
  }
  return specs;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

function draw(spec: GeneratedSecretSpec): string {
  return `${spec.prefix}${randomBytes(Math.ceil(spec.hexDigits / 2))
    .toString('hex')
    .slice(0, spec.hexDigits)}`;
}

function fits(value: unknown, spec: GeneratedSecretSpec): value is string {
  return (
    typeof value === 'string' &&
    value.length === spec.prefix.length + spec.hexDigits &&
    value.startsWith(spec.prefix) &&
    /^[0-9a-f]*$/.test(value.slice(spec.prefix.length))
  );
}

/**
 * The values for the declared secrets that `settings` leaves blank: read from
 * `<dataDir>/generated-secrets.json`, drawn (and written back) when missing.
 */
export function generatedSecretsFor(
  dataDir: string,
  declared: Readonly<Record<string, GeneratedSecretSpec>>,
  settings: Readonly<Record<string, string>>,
): { readonly values: Readonly<Record<string, string>>; readonly file: string } {
  const file = path.join(dataDir, 'generated-secrets.json');
  const needed = Object.entries(declared).filter(([name]) => (settings[name] ?? '').trim() === '');
  if (needed.length === 0) return { values: {}, file };
  let stored: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null) stored = parsed as Record<string, unknown>;
  } catch {
    // Missing or damaged: local-only values, drawn again and reprinted at start.
  }
  const values: Record<string, string> = {};
  let changed = false;
  for (const [name, spec] of needed) {
    const existing = stored[name];
    if (fits(existing, spec)) {
      values[name] = existing;
    } else {
      values[name] = draw(spec);
      stored[name] = values[name];
      changed = true;
    }
  }
  if (changed) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return { values, file };
}
