/** The parts of `host.json` the local host honours. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface HostJsonSettings {
  readonly routePrefix: string;
  readonly hubName: string;
  readonly maxConcurrentActivityFunctions: number;
  readonly maxConcurrentEntityFunctions: number;
  readonly maxEntityOperationBatchSize: number;
  readonly maxConcurrentOrchestratorFunctions: number;
  /** `extensions.http.maxConcurrentRequests`: HTTP functions running at once; the rest wait. */
  readonly maxConcurrentRequests: number | undefined;
  /** `extensions.http.maxOutstandingRequests`: running plus waiting; beyond it the host answers 429. */
  readonly maxOutstandingRequests: number | undefined;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Property lookup that ignores case, as the host's configuration binder does. */
function prop(obj: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

export function readHostJson(appDir: string): HostJsonSettings {
  const file = path.join(appDir, 'host.json');
  let root: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    try {
      root = record(JSON.parse(fs.readFileSync(file, 'utf8')));
    } catch (e) {
      throw new Error(`host.json is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const extensions = record(prop(root, 'extensions'));
  const http = record(prop(extensions, 'http'));
  const durable = record(prop(extensions, 'durableTask'));
  const prefix = prop(http, 'routePrefix');
  const hub = prop(durable, 'hubName');
  const optionalPositive = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
  // The real defaults: 10 × processor count; the local engine runs one process, so 10 is the honest figure.
  return {
    routePrefix: typeof prefix === 'string' ? prefix.replace(/^\/+|\/+$/g, '') : 'api',
    hubName: typeof hub === 'string' && hub.length > 0 ? hub : 'TestHubName',
    maxConcurrentActivityFunctions: positiveInt(
      prop(durable, 'maxConcurrentActivityFunctions'),
      10,
    ),
    maxConcurrentOrchestratorFunctions: positiveInt(
      prop(durable, 'maxConcurrentOrchestratorFunctions'),
      10,
    ),
    maxConcurrentEntityFunctions: positiveInt(prop(durable, 'maxConcurrentEntityFunctions'), 10),
    // The extension's default on the Consumption plan (5000 on dedicated plans): small batches keep one
    // entity's invocations short.
    maxEntityOperationBatchSize: positiveInt(prop(durable, 'maxEntityOperationBatchSize'), 50),
    maxConcurrentRequests: optionalPositive(prop(http, 'maxConcurrentRequests')),
    maxOutstandingRequests: optionalPositive(prop(http, 'maxOutstandingRequests')),
  };
}
