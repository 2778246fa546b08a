/**
 * The `@azure/functions-core` module as the local host provides it (durable-protocol.md §1.1–1.2).
 *
 * This module's exports ARE the core API: `install-core-module.ts` makes `require('@azure/functions-core')`
 * return them under plain Node, and jest's `moduleNameMapper` points the name at this file, so that inside
 * one jest module registry the library and the host share the same instance and therefore the same registry.
 * The registry is module state because `@azure/functions` itself keeps registrations in module state:
 * one app per process (or per jest module registry).
 */
import type {
  FunctionCallback,
  ProgrammingModel,
  RegisteredFunctionMetadata,
  RpcLogCategory,
  RpcLogLevel,
} from './rpc-types';

export const version = '3.10.1';
export const hostVersion = '4.1037.0';

export class Disposable {
  #callOnDispose: (() => unknown) | undefined;

  static from(...disposables: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const d of disposables) {
        d.dispose();
      }
    });
  }

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  dispose(): unknown {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return fn?.();
  }
}

export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate' | 'log';
export type HookCallback = (context: Record<string, unknown>) => unknown;

export interface RegisteredFunction {
  readonly id: string;
  readonly metadata: RegisteredFunctionMetadata;
  readonly callback: FunctionCallback;
  /** Basename of the entry file that was loading when the function registered (the worker's `scriptFile`). */
  readonly scriptFile: string;
}

export type CoreLogSink = (level: RpcLogLevel, category: RpcLogCategory, message: string) => void;

/** Host-side view of everything the app registered. Not part of the real core API. */
export class CoreRegistry {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<HookName, HookCallback[]> = {
    preInvocation: [],
    postInvocation: [],
    appStart: [],
    appTerminate: [],
    log: [],
  };
  programmingModel: ProgrammingModel | undefined;
  indexingLocked = false;
  /** Set by the loader while an entry file is being required. */
  currentScriptFile = 'unknown';
  /** Whether an app was already loaded against this registry (one app per module registry). */
  appLoaded = false;
  logSink: CoreLogSink = (level, category, message) => {
    if (level === 'error' || level === 'critical' || level === 'warning') {
      console.error(`[${category}/${level}] ${message}`);
    }
  };
}

export const localHostRegistry = new CoreRegistry();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function registerFunction(metadata: unknown, callback: unknown): Disposable {
  const registry = localHostRegistry;
  if (registry.indexingLocked) {
    throw new Error('A function can only be registered during app startup.');
  }
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || !isRecord(metadata.bindings)) {
    throw new TypeError('Function metadata must have a "name" and "bindings".');
  }
  if (typeof callback !== 'function') {
    throw new TypeError('A function callback is required.');
  }
  const id =
    typeof metadata.functionId === 'string' && metadata.functionId
      ? metadata.functionId
      : metadata.name;
  if (registry.functions.has(id)) {
    throw new Error(`A function with id "${id}" has already been registered.`);
  }
  const stored: RegisteredFunction = {
    id,
    metadata: { ...(metadata as unknown as RegisteredFunctionMetadata), functionId: id },
    callback: callback as FunctionCallback,
    scriptFile: registry.currentScriptFile,
  };
  registry.functions.set(id, stored);
  return new Disposable(() => registry.functions.delete(id));
}

export function setProgrammingModel(model: ProgrammingModel): void {
  localHostRegistry.programmingModel = model;
}

export function getProgrammingModel(): ProgrammingModel | undefined {
  return localHostRegistry.programmingModel;
}

class UnknownHookError extends RangeError {
  readonly isAzureFunctionsSystemError = true;
}

export function registerHook(name: string, callback: HookCallback): Disposable {
  const list = (localHostRegistry.hooks as Record<string, HookCallback[] | undefined>)[name];
  if (!list) {
    throw new UnknownHookError(`Unrecognized hook "${name}"`);
  }
  list.push(callback);
  return new Disposable(() => {
    const index = list.indexOf(callback);
    if (index >= 0) {
      list.splice(index, 1);
    }
  });
}

export function log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
  localHostRegistry.logSink(level, category, message);
}
