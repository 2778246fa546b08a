/**
 * What the host does to a binding's options and values before an extension sees them: `%Setting%` in an
 * option is replaced by the app setting, `{name}` in a path by the trigger's binding data, and the worker's
 * typed data becomes a value.
 */
import { randomUUID } from 'node:crypto';
import type { RpcTypedData } from '../host/rpc-types';

export type AppSettings = Readonly<Record<string, string | undefined>>;

/** A binding's configuration is wrong (a missing setting, an unresolvable expression, a bad value). */
export class BindingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BindingError';
  }
}

/** Replaces every `%Name%` with the app setting `Name`, as the host's name resolver does; unknown names fail. */
export function resolveSettingReferences(text: string, settings: AppSettings): string {
  return text.replace(/%([^%]+)%/g, (_, name: string) => {
    const value = settings[name];
    if (value === undefined) {
      throw new BindingError(`The app setting '${name}' (referenced as %${name}%) is not set.`);
    }
    return value;
  });
}

/** A string option of a binding, with `%...%` resolved; undefined when the option is absent. */
export function stringOption(
  binding: Readonly<Record<string, unknown>>,
  name: string,
  settings: AppSettings,
): string | undefined {
  const raw = binding[name];
  return typeof raw === 'string' && raw.length > 0
    ? resolveSettingReferences(raw, settings)
    : undefined;
}

/**
 * Expands `{name}` binding expressions in a path (durable-functions' activity input properties, HTTP route
 * and query parameters, `rand-guid`, `DateTime`), matching names case-insensitively as the host does.
 */
export function expandPath(
  template: string,
  bindingData: Readonly<Record<string, unknown>>,
  now: Date,
): string {
  const lower = new Map(Object.entries(bindingData).map(([k, v]) => [k.toLowerCase(), v]));
  return template.replace(/\{([^{}]+)\}/g, (_, expression: string) => {
    const name = expression.trim().toLowerCase();
    if (name === 'rand-guid' || name === 'sys.randguid') return randomUUID();
    if (name === 'datetime' || name === 'sys.utcnow') return now.toISOString();
    const value = lower.get(name);
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    throw new BindingError(`No value for named parameter '${expression}'.`);
  });
}

/** Binding data from an activity input: the properties of a JSON object input (what `{backupPath}` reads). */
export function bindingDataFromJson(text: string | null | undefined): Record<string, unknown> {
  if (typeof text !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? { ...(parsed as Record<string, unknown>) }
      : {};
  } catch {
    return {};
  }
}

/** The bytes an output binding receives: strings as UTF-8, objects as their JSON text, bytes as they are. */
export function typedDataToBytes(data: RpcTypedData): Buffer | undefined {
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (typeof data.string === 'string') return Buffer.from(data.string, 'utf8');
  if (typeof data.json === 'string') return Buffer.from(data.json, 'utf8');
  if (typeof data.int === 'number' || typeof data.double === 'number') {
    return Buffer.from(String(data.int ?? data.double), 'utf8');
  }
  return undefined;
}

/** A JSON value from typed data (`json`, or a `string` that holds JSON); undefined when it is neither. */
export function typedDataToJson(data: RpcTypedData): unknown {
  const text = typeof data.json === 'string' ? data.json : data.string;
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
