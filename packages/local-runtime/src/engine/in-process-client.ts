/**
 * The durable client's calls to the engine's loopback RPC listener, answered in the same process.
 *
 * durable-functions' DurableClient still builds every URL and reads every answer exactly as it does against the
 * real extension; only the transport is skipped for URLs under a registered RPC base: the TCP round trip, the
 * second HTTP parse and serialise, and axios' generic request pipeline (config merging, header objects,
 * interceptors, transforms), which cost about 0.2 ms per call on a small machine, three times in a
 * verification answer's critical path. It works by wrapping `Axios.prototype.request` of the axios module that
 * durable-functions loads: a request whose URL is under a registered base is answered by that engine's handler,
 * with the headers axios would have sent (the instance's defaults for the method, then the call's), the body
 * as axios would have serialised it, the answer's JSON parsed as axios' default transform does, and the
 * instance's `validateStatus` applied. Every other request (e.g. the Twilio SDK's) goes through axios
 * unchanged. When that axios cannot be found (an app with its own copy of durable-functions elsewhere),
 * clients simply keep using the listener.
 */
import path from 'node:path';
import type { RuntimeHttpRequest, RuntimeHttpResponse } from '../contracts';

/** The parts of axios' request config and module used here (axios is durable-functions' dependency). */
type HeaderBag = { toJSON?: () => Record<string, unknown> } & Record<string, unknown>;
interface AxiosConfigLike {
  url?: string;
  method?: string;
  data?: unknown;
  headers?: HeaderBag;
  validateStatus?: ((status: number) => boolean) | null;
  params?: unknown;
  baseURL?: unknown;
  responseType?: unknown;
}
interface AxiosDefaultsLike {
  headers?: Record<string, unknown>;
  validateStatus?: ((status: number) => boolean) | null;
  baseURL?: unknown;
}

/**
 * Options this shortcut does not reproduce (durable-functions uses none of them): such a request
 * goes through axios, and so over the listener, rather than being answered differently.
 */
function needsAxios(defaults: AxiosDefaultsLike | undefined, config: AxiosConfigLike): boolean {
  return (
    config.params !== undefined ||
    config.baseURL !== undefined ||
    defaults?.baseURL !== undefined ||
    (config.responseType !== undefined && config.responseType !== 'json')
  );
}
interface AxiosResponseLike {
  data: unknown;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  config: AxiosConfigLike;
  request: Record<string, never>;
}
type AxiosRequest = (
  this: { defaults?: AxiosDefaultsLike },
  configOrUrl: unknown,
  config?: unknown,
) => Promise<unknown>;
interface AxiosModuleLike {
  Axios?: { prototype: { request: AxiosRequest } };
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

/** What axios would send: the instance's common and per-method default headers, then the call's. */
function headerRecord(
  defaults: AxiosDefaultsLike | undefined,
  method: string,
  config: AxiosConfigLike,
): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (bag: unknown): void => {
    if (typeof bag !== 'object' || bag === null) return;
    const raw = (bag as HeaderBag).toJSON?.() ?? (bag as Record<string, unknown>);
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v === 'string' || typeof v === 'number') out[k.toLowerCase()] = String(v);
    }
  };
  add(defaults?.headers?.common);
  add(defaults?.headers?.[method]);
  add(config.headers);
  return out;
}

/** axios' default response transform: JSON when it parses, the text otherwise. */
function responseData(text: string): unknown {
  if (text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function bodyOf(data: unknown): Buffer {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
}

async function answer(
  base: string,
  handler: RpcHandler,
  defaults: AxiosDefaultsLike | undefined,
  config: AxiosConfigLike,
): Promise<AxiosResponseLike> {
  inProcessCalls++;
  const url = new URL(config.url!);
  const method = (config.method ?? 'get').toLowerCase();
  const r = await handler({
    method: method.toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers: headerRecord(defaults, method, config),
    body: bodyOf(config.data),
    origin: base,
  });
  const response: AxiosResponseLike = {
    data: responseData(r.body === undefined ? '' : r.body.toString()),
    status: r.status,
    statusText: '',
    headers: Object.fromEntries(
      Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    ),
    config,
    request: {},
  };
  // What axios does (settle): statuses the caller did not accept reject.
  const validateStatus =
    config.validateStatus === undefined ? defaults?.validateStatus : config.validateStatus;
  if (validateStatus && !validateStatus(r.status)) {
    throw Object.assign(new Error(`Request failed with status code ${r.status}`), { response });
  }
  return response;
}

function install(): boolean {
  if (installed) return true;
  const proto = findAxios()?.Axios?.prototype;
  if (proto === undefined || typeof proto.request !== 'function') return false;
  const original = proto.request;
  proto.request = function (configOrUrl: unknown, config?: unknown): Promise<unknown> {
    // axios.request(url, config) and axios.request(config), as axios itself accepts them.
    const merged: unknown =
      typeof configOrUrl === 'string'
        ? { ...(config as AxiosConfigLike | undefined), url: configOrUrl }
        : configOrUrl;
    const url = (merged as AxiosConfigLike | undefined)?.url;
    if (typeof url === 'string' && !needsAxios(this.defaults, merged as AxiosConfigLike)) {
      for (const [base, handler] of handlers) {
        if (url.startsWith(base)) {
          return answer(base, handler, this.defaults, merged as AxiosConfigLike);
        }
      }
    }
    return original.call(this, configOrUrl, config);
  };
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
