/**
 * Loads the app the way the worker does (durable-protocol.md §1.3): core module first, then every entry file
 * from `package.json` `main`, then `appStart` hooks, then indexing is locked and capabilities are queried.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CoreRegistry, RegisteredFunction } from './core-api';
import { globFiles } from './glob';
import { installCoreModule } from './install-core-module';

/** The worker's default capabilities (durable-protocol.md §1.2). */
const WORKER_CAPABILITIES: Readonly<Record<string, string>> = {
  RawHttpBodyBytes: 'true',
  RpcHttpTriggerMetadataRemoved: 'true',
  RpcHttpBodyOnly: 'true',
  IgnoreEmptyValuedRpcHttpHeaders: 'true',
  UseNullableValueDictionaryForHttp: 'true',
  WorkerStatus: 'true',
  TypedDataCollection: 'true',
  HandlesWorkerTerminateMessage: 'true',
};

export class AppLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppLoadError';
  }
}

export interface LoadedApp {
  readonly appDir: string;
  readonly entryFiles: readonly string[];
  readonly functions: readonly RegisteredFunction[];
  readonly capabilities: Readonly<Record<string, string>>;
  /** Servers the programming model started for itself (the HTTP streaming proxy); closed on terminate. */
  readonly modelServers: readonly http.Server[];
}

function readMain(appDir: string): string {
  const packageFile = path.join(appDir, 'package.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(packageFile, 'utf8'));
  } catch (e) {
    throw new AppLoadError(
      `Cannot read ${packageFile}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const main =
    typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>).main
      : undefined;
  return typeof main === 'string' && main.length > 0 ? main : 'index.js';
}

export async function loadApp(
  appDir: string,
  registry: CoreRegistry,
  appHookData: Record<string, unknown>,
): Promise<LoadedApp> {
  if (registry.appLoaded) {
    throw new AppLoadError(
      'An app is already loaded in this process (or jest module registry): @azure/functions keeps registrations in module state.',
    );
  }
  registry.appLoaded = true;
  installCoreModule();

  const main = readMain(appDir);
  const entryFiles = globFiles(appDir, main);
  if (entryFiles.length === 0) {
    throw new AppLoadError(
      `No entry file matches "main": "${main}" in ${path.join(appDir, 'package.json')}. Did you run "npm run build"?`,
    );
  }
  for (const file of entryFiles) {
    registry.currentScriptFile = path.basename(file);
    try {
      if (file.endsWith('.mjs')) {
        // A CommonJS host can still load ESM entry files through a dynamic import.
        await import(pathToFileURL(file).href);
      } else {
        try {
          // The worker `require`s CommonJS entry files; so does the host, so jest's registry sees them too.
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          require(file);
        } catch (e) {
          // A `.js` file of a `"type": "module"` package: load it as ESM, as the worker does.
          if ((e as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw e;
          await import(pathToFileURL(file).href);
        }
      }
    } catch (e) {
      throw new AppLoadError(
        `Worker was unable to load entry point "${path.relative(appDir, file)}": ${e instanceof Error ? e.message : String(e)}`,
      );
    } finally {
      registry.currentScriptFile = 'unknown';
    }
  }

  for (const hook of [...registry.hooks.appStart]) {
    await hook({ hookData: {}, appHookData, functionAppDirectory: appDir });
  }
  registry.indexingLocked = true;

  let capabilities: Record<string, string> = { ...WORKER_CAPABILITIES };
  const model = registry.programmingModel;
  const modelServers: http.Server[] = [];
  if (model?.getCapabilities) {
    // The library starts its streaming proxy here and offers no way to close it; the real worker never needs
    // to (one app per process), but an in-process host must release it on stop.
    const serverPrototype = http.Server.prototype as unknown as {
      listen: (...args: unknown[]) => unknown;
    };
    const originalListen = serverPrototype.listen;
    serverPrototype.listen = function (this: http.Server, ...args: unknown[]) {
      if (!modelServers.includes(this)) modelServers.push(this);
      return originalListen.apply(this, args);
    };
    try {
      capabilities = await model.getCapabilities(capabilities);
    } finally {
      serverPrototype.listen = originalListen;
    }
  }
  return {
    appDir,
    entryFiles,
    functions: [...registry.functions.values()],
    capabilities,
    modelServers,
  };
}

export async function terminateApp(
  registry: CoreRegistry,
  appHookData: Record<string, unknown>,
  app?: LoadedApp,
): Promise<void> {
  try {
    for (const hook of [...registry.hooks.appTerminate]) {
      await hook({ hookData: {}, appHookData });
    }
  } finally {
    for (const server of app?.modelServers ?? []) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
