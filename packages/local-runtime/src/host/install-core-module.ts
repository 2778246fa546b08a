/**
 * Makes `require('@azure/functions-core')` return `core-api.ts` under plain Node (durable-protocol.md §1.1).
 * Must run before the app's entry files load: `@azure/functions` falls back to a silent "test mode" when the
 * module is missing. Under jest this hook is invisible to jest's module registry; `jest.config.js` maps the
 * name to `core-api.ts` instead.
 */
import Module from 'node:module';
import * as coreApi from './core-api';

const CORE_MODULE = '@azure/functions-core';

interface ModuleInternals {
  _resolveFilename: (this: unknown, request: string, parent: unknown, ...rest: unknown[]) => string;
  _cache: Record<string, { exports: unknown } | undefined>;
}

let installed = false;

export function installCoreModule(): void {
  if (installed) {
    return;
  }
  installed = true;
  const internals = Module as unknown as ModuleInternals;
  const original = internals._resolveFilename;
  internals._resolveFilename = function (
    this: unknown,
    request: string,
    parent: unknown,
    ...rest: unknown[]
  ) {
    return request === CORE_MODULE ? CORE_MODULE : original.call(this, request, parent, ...rest);
  };
  const mod = new Module(CORE_MODULE);
  mod.filename = CORE_MODULE;
  mod.loaded = true;
  mod.exports = coreApi;
  internals._cache[CORE_MODULE] = mod;
}
