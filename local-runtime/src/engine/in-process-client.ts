/**
 * The durable client's calls to the engine's loopback RPC listener, answered in the same process.
 *
 * durable-functions' DurableClient (axios) still builds every URL and reads every answer exactly as it does
 * against the real extension; only the TCP round trip and the second HTTP parse and serialise are skipped, which
 * is a large share of the host's CPU per start. It works by making the default adapter of the axios module that
 * durable-functions loads route URLs under a registered RPC base to that engine's handler; every other URL
 * (e.g. the Twilio SDK's) goes to axios' own adapter unchanged. When that axios cannot be found (an app with
 * its own copy of durable-functions elsewhere), clients simply keep using the listener.
 */
import path from 'node:path';
import type { RuntimeHttpRequest, RuntimeHttpResponse } from '../contracts';

/** The parts of axios' request config and module this adapter uses (axios is durable-functions' dependency). */
interface AxiosConfigLike {
  url?: string;
  method?: string;
  data?: unknown;
  headers?: { toJSON?: () => Record<string, unknown> } & Record<string, unknown>;
  validateStatus?: ((status: number) => boolean) | null;
}
interface AxiosResponseLike {
  data: string;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  config: AxiosConfigLike;
  request: Record<string, never>;
}
type Adapter = (config: AxiosConfigLike) => Promise<unknown>;
interface AxiosModuleLike {
  defaults: { adapter?: unknown };
  getAdapter(adapter: unknown): Adapter;
}

type RpcHandler = (request: RuntimeHttpRequest) => Promise<RuntimeHttpResponse>;

const handlers = new Map<string, RpcHandler>();
let installed = false;
/** Calls answered in-process so far (tests check that the shortcut is really taken). */
export let inProcessCalls = 0;

function findAxios(): AxiosModuleLike | undefined {
  try {
    const durableDir = path.dirname(require.resolve('durable-functions/package.json'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(require.resolve('axios', { paths: [durableDir] })) as AxiosModuleLike;
  } catch {
    return undefined;
  }
}

function headerRecord(config: AxiosConfigLike): Record<string, string> {
  const raw = config.headers?.toJSON?.() ?? config.headers ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string' || typeof v === 'number') out[k.toLowerCase()] = String(v);
  }
  return out;
}

function bodyOf(data: unknown): Buffer {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
}

async function answer(
  base: string,
  handler: RpcHandler,
  config: AxiosConfigLike,
): Promise<AxiosResponseLike> {
  inProcessCalls++;
  const url = new URL(config.url!);
  const r = await handler({
    method: (config.method ?? 'get').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers: headerRecord(config),
    body: bodyOf(config.data),
    origin: base,
  });
  const response: AxiosResponseLike = {
    data: r.body === undefined ? '' : r.body.toString(),
    status: r.status,
    statusText: '',
    headers: Object.fromEntries(
      Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    ),
    config,
    request: {},
  };
  // What axios' own adapters do (settle): statuses the caller did not accept reject.
  if (config.validateStatus && !config.validateStatus(r.status)) {
    throw Object.assign(new Error(`Request failed with status code ${r.status}`), { response });
  }
  return response;
}

function install(): boolean {
  if (installed) return true;
  const axios = findAxios();
  if (!axios) return false;
  const fallback = axios.getAdapter(axios.defaults.adapter);
  const adapter: Adapter = (config) => {
    const url = config.url ?? '';
    for (const [base, handler] of handlers) {
      if (url.startsWith(base)) return answer(base, handler, config);
    }
    return fallback(config);
  };
  axios.defaults.adapter = adapter;
  installed = true;
  return true;
}

/**
 * Answers requests under `rpcBaseUrl` with `handler` from now on; false when the shortcut is not available.
 * Returns the function that removes the registration again.
 */
export function registerInProcessRpc(
  rpcBaseUrl: string,
  handler: RpcHandler,
): (() => void) | undefined {
  if (!install()) return undefined;
  handlers.set(rpcBaseUrl, handler);
  return () => {
    handlers.delete(rpcBaseUrl);
  };
}
