/**
 * Turns host-level events (an HTTP request, an orchestration episode, an activity) into worker invocations
 * with the typed data the real host sends (durable-protocol.md §1.6, §1.7, §2.2, §2.7, §2.8), and turns the
 * responses back.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { Readable } from 'node:stream';
import type { OutputBindings } from '../bindings';
import { bindingDataFromJson } from '../bindings';
import type { FunctionInvoker, RegisteredFunctionInfo } from '../contracts';
import { FunctionInvocationError } from '../contracts';
import type { RegisteredFunction } from './core-api';
import type { RpcHttpCookie, RpcHttpData, RpcParameterBinding, RpcTypedData } from './rpc-types';
import { isTriggerType } from './rpc-types';
import type { InvocationOutcome, LocalWorker } from './worker';
import { LocalWorker as Worker } from './worker';

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';
/** How long to wait for a streamed response head after the function already completed. */
const STREAM_RESPONSE_GRACE_MS = 1000;

function proxyFailure(e: unknown): InvocationOutcome {
  return {
    ok: false,
    message: `HTTP streaming proxy failed: ${e instanceof Error ? e.message : String(e)}`,
    stackTrace: undefined,
  };
}

export interface HttpInvocationRequest {
  readonly method: string;
  /** Absolute URL, as the host sends it (the library calls `new Request(url)`). */
  readonly url: string;
  /** Lower-cased names; multiple values joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly params: Readonly<Record<string, string>>;
  /**
   * The body, buffered; or, when the app streams (`streamsRequestBodies`), the request itself, which goes to
   * the library's proxy as it arrives: the handler reads what it wants and nothing else is held in memory.
   */
  readonly body: Buffer | Readable;
}

export type HttpInvocationResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly cookies: readonly string[];
      readonly body: Buffer;
      /** HTTP streaming mode: the function's response as it arrives (status and headers are above). */
      readonly stream?: http.IncomingMessage;
    }
  | { readonly ok: false; readonly message: string; readonly stackTrace: string | undefined };

/** Decodes typed data the way the extension sees a return value (`{string}` stays a string). */
export function typedDataToValue(data: RpcTypedData | null | undefined): unknown {
  if (!data) {
    return undefined;
  }
  if (data.string !== undefined && data.string !== null) {
    return data.string;
  }
  if (data.json !== undefined && data.json !== null) {
    return JSON.parse(data.json) as unknown;
  }
  if (data.bytes) {
    return Buffer.from(data.bytes).toString('base64');
  }
  if (data.stream) {
    return Buffer.from(data.stream).toString('base64');
  }
  if (data.int !== undefined && data.int !== null) {
    return Number(data.int);
  }
  if (data.double !== undefined && data.double !== null) {
    return data.double;
  }
  if (data.collectionString?.string) {
    return data.collectionString.string;
  }
  if (data.collectionDouble?.double) {
    return data.collectionDouble.double;
  }
  if (data.collectionSint64?.sint64) {
    return data.collectionSint64.sint64.map(Number);
  }
  if (data.collectionBytes?.bytes) {
    return data.collectionBytes.bytes.map((b) => Buffer.from(b).toString('base64'));
  }
  return undefined;
}

/**
 * The activity input as the real extension sends it: the scheduled input's JSON value converted to a .NET
 * string, delivered as `{string}` (durable-protocol.md §2.7; including the `true` → `"True"` quirk).
 */
export function activityInputToTypedData(input: unknown): RpcTypedData {
  if (input === null || input === undefined) {
    return {};
  }
  if (typeof input === 'string') {
    return { string: input };
  }
  if (typeof input === 'boolean') {
    return { string: input ? 'True' : 'False' };
  }
  if (typeof input === 'number') {
    return { string: String(input) };
  }
  return { string: JSON.stringify(input) };
}

function cookieToHeader(cookie: RpcHttpCookie): string | undefined {
  if (!cookie.name) {
    return undefined;
  }
  const parts = [`${cookie.name}=${cookie.value ?? ''}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const seconds = cookie.expires?.value?.seconds;
  if (seconds !== undefined && seconds !== null) {
    parts.push(`Expires=${new Date(Number(seconds) * 1000).toUTCString()}`);
  }
  if (cookie.maxAge?.value !== undefined && cookie.maxAge.value !== null) {
    parts.push(`Max-Age=${Math.trunc(cookie.maxAge.value)}`);
  }
  if (cookie.secure?.value) parts.push('Secure');
  if (cookie.httpOnly?.value) parts.push('HttpOnly');
  if (cookie.sameSite === 'lax') parts.push('SameSite=Lax');
  else if (cookie.sameSite === 'strict') parts.push('SameSite=Strict');
  else if (cookie.sameSite === 'explicitNone') parts.push('SameSite=None');
  return parts.join('; ');
}

export type ClientBindingProvider = (origin: string) => Readonly<Record<string, unknown>>;

export class FunctionHost implements FunctionInvoker {
  private readonly byName = new Map<string, RegisteredFunction>();
  /** Where `durableClient` bindings point; set by the front door once it listens. */
  origin = 'http://localhost:7071';
  /** The library's HTTP streaming proxy (`capabilities.HttpUri`), when the app enabled streaming. */
  httpStreamUri: string | undefined;
  clientBinding: ClientBindingProvider | undefined;
  /** Carries out `twilioSms` / `blob` outputs after each invocation; unset, outputs are dropped. */
  outputBindings: OutputBindings | undefined;
  /** Invocations currently running (the CLI waits for them on shutdown). */
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  /** The JSON of each binding object the provider returned (it keeps one per origin). */
  private readonly bindingTexts = new WeakMap<object, string>();

  constructor(
    readonly registered: readonly RegisteredFunction[],
    private readonly worker: LocalWorker,
  ) {
    for (const fn of registered) {
      this.byName.set(fn.metadata.name.toLowerCase(), fn);
    }
  }

  functions(): readonly RegisteredFunctionInfo[] {
    return this.registered.map((fn) => {
      const triggerName = Worker.triggerBindingName(fn);
      const trigger = fn.metadata.bindings[triggerName]!;
      return {
        name: fn.metadata.name,
        triggerType: trigger.type,
        trigger: { ...trigger, name: triggerName },
      };
    });
  }

  find(name: string): RegisteredFunction | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** Resolves once no invocation is running. */
  whenNoInvocations(): Promise<void> {
    if (this.inFlight === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private bindingText(binding: Readonly<Record<string, unknown>>): string {
    let text = this.bindingTexts.get(binding);
    if (text === undefined) {
      text = JSON.stringify(binding);
      this.bindingTexts.set(binding, text);
    }
    return text;
  }

  private extraInputs(fn: RegisteredFunction, origin: string): RpcParameterBinding[] {
    const result: RpcParameterBinding[] = [];
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      if (binding.direction !== 'in' || isTriggerType(binding.type)) {
        continue;
      }
      const type = binding.type.toLowerCase();
      if ((type === 'durableclient' || type === 'orchestrationclient') && this.clientBinding) {
        result.push({ name, data: { string: this.bindingText(this.clientBinding(origin)) } });
      }
    }
    return result;
  }

  /** `bindingData`: the trigger's values for `{name}` expressions in output bindings. */
  private async run(
    fn: RegisteredFunction,
    trigger: RpcTypedData,
    triggerMetadata: Record<string, RpcTypedData>,
    bindingData: Readonly<Record<string, unknown>> = {},
    origin: string = this.origin,
  ): Promise<InvocationOutcome> {
    this.inFlight++;
    try {
      const triggerName = Worker.triggerBindingName(fn);
      const outcome = await this.worker.invoke(fn, {
        inputData: [{ name: triggerName, data: trigger }, ...this.extraInputs(fn, origin)],
        triggerMetadata,
      });
      return await this.applyOutputs(fn, outcome, bindingData);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) {
        for (const resolve of this.idleWaiters.splice(0)) {
          resolve();
        }
      }
    }
  }

  /** A failing output binding fails the invocation, as in the host. */
  private async applyOutputs(
    fn: RegisteredFunction,
    outcome: InvocationOutcome,
    bindingData: Readonly<Record<string, unknown>>,
  ): Promise<InvocationOutcome> {
    if (!outcome.ok || !this.outputBindings?.handles(fn)) return outcome;
    try {
      await this.outputBindings.apply(fn, outcome.response, bindingData);
      return outcome;
    } catch (e) {
      return {
        ok: false,
        message: e instanceof Error ? e.message : String(e),
        stackTrace: undefined,
      };
    }
  }

  /** `origin` is the externally visible origin of the request, for the `durableClient` binding's URLs. */
  /** Whether HTTP functions take their body as a stream (the app called `app.setup({ enableHttpStream })`). */
  get streamsRequestBodies(): boolean {
    return this.httpStreamUri !== undefined;
  }

  async invokeHttp(
    fn: RegisteredFunction,
    streamedRequest: HttpInvocationRequest,
    origin: string,
  ): Promise<HttpInvocationResult> {
    if (this.httpStreamUri) {
      return this.invokeHttpStreaming(fn, streamedRequest, origin, this.httpStreamUri);
    }
    const request = { ...streamedRequest, body: await bufferOf(streamedRequest.body) };
    const http: RpcHttpData = {
      method: request.method,
      url: request.url,
      headers: { ...request.headers },
      query: { ...request.query },
      params: { ...request.params },
      identities: [],
    };
    if (request.body.length > 0) {
      http.body = { bytes: new Uint8Array(request.body) };
    }
    const outcome = await this.run(
      fn,
      { http },
      {},
      // Route and query parameters and a JSON body's properties, parsed only when an output needs them.
      this.outputBindings?.handles(fn)
        ? {
            ...request.query,
            ...bindingDataFromJson(request.body.toString('utf8')),
            ...request.params,
          }
        : {},
      origin,
    );
    if (!outcome.ok) {
      return outcome;
    }
    const { response } = outcome;
    let rpcHttp: RpcHttpData | null | undefined;
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      if (binding.direction !== 'out' || binding.type.toLowerCase() !== 'http') {
        continue;
      }
      rpcHttp =
        name === '$return'
          ? response.returnValue?.http
          : response.outputData?.find((o) => o.name === name)?.data?.http;
      if (rpcHttp) {
        break;
      }
    }
    if (!rpcHttp) {
      // A handler that returns nothing: the host answers 204 No Content.
      return { ok: true, status: 204, headers: {}, cookies: [], body: Buffer.alloc(0) };
    }
    const status = Number.parseInt(rpcHttp.statusCode ?? '200', 10);
    const body =
      rpcHttp.body?.bytes ??
      (rpcHttp.body?.string !== undefined && rpcHttp.body.string !== null
        ? Buffer.from(rpcHttp.body.string)
        : undefined);
    return {
      ok: true,
      status: Number.isInteger(status) && status >= 100 && status <= 599 ? status : 500,
      headers: { ...(rpcHttp.headers ?? {}) },
      cookies: (rpcHttp.cookies ?? [])
        .map(cookieToHeader)
        .filter((c): c is string => c !== undefined),
      body: body ? Buffer.from(body) : Buffer.alloc(0),
    };
  }

  /** Invokes a `timerTrigger` function with the host's `TimerInfo` (sent as JSON, as the host does). */
  invokeTimer(
    fn: RegisteredFunction,
    timerInfo: Record<string, unknown>,
  ): Promise<InvocationOutcome> {
    return this.run(fn, { json: JSON.stringify(timerInfo) }, {});
  }

  /**
   * HTTP streaming (durable-protocol.md §1.7): the raw request goes to the library's proxy, tagged with the
   * invocation id; the invocation carries headers and route params as trigger metadata; the function's
   * response comes back on the proxied connection.
   */
  private async invokeHttpStreaming(
    fn: RegisteredFunction,
    request: HttpInvocationRequest,
    origin: string,
    proxyUri: string,
  ): Promise<HttpInvocationResult> {
    const invocationId = randomUUID();
    const target = new URL(request.url);
    const proxyUrl = new URL(`${target.pathname}${target.search}`, proxyUri);
    const forwardedHeaders: Record<string, string> = { ...request.headers };
    delete forwardedHeaders['content-length'];
    delete forwardedHeaders['transfer-encoding'];
    delete forwardedHeaders.connection;
    const body = request.body;
    // A streamed body keeps the client's framing: its declared length, or chunked.
    const length = Buffer.isBuffer(body) ? String(body.length) : request.headers['content-length'];
    const proxyRequest = http.request(proxyUrl, {
      method: request.method,
      headers: {
        ...forwardedHeaders,
        ...(length === undefined ? {} : { 'content-length': length }),
        'x-ms-invocation-id': invocationId,
        'x-forwarded-host': target.host,
        'x-forwarded-proto': target.protocol.replace(/:$/, ''),
      },
    });
    const proxyResponse = new Promise<http.IncomingMessage>((resolve, reject) => {
      proxyRequest.once('response', resolve);
      proxyRequest.once('error', reject);
    });
    // Settled here so that an aborted proxy request never becomes an unhandled rejection.
    proxyResponse.catch(() => undefined);
    if (Buffer.isBuffer(body)) {
      proxyRequest.end(body);
    } else {
      // Back-pressure reaches the client: what the handler does not read stays on the wire. A handler that
      // answered without reading all of it ends the upload here.
      body.pipe(proxyRequest);
      body.once('error', () => proxyRequest.destroy());
      void proxyResponse.then((r) =>
        r.once('end', () => {
          if (!body.readableEnded) body.unpipe(proxyRequest);
        }),
      );
    }

    const triggerMetadata: Record<string, RpcTypedData> = {
      Headers: { json: JSON.stringify(request.headers) },
      Query: { json: JSON.stringify(request.query) },
    };
    for (const [name, value] of Object.entries(request.params)) {
      triggerMetadata[name] = { string: value };
    }
    const http0: RpcHttpData = {
      method: request.method,
      url: request.url,
      headers: { ...request.headers },
    };
    this.inFlight++;
    const invocation = this.worker
      .invoke(fn, {
        invocationId,
        inputData: [
          { name: Worker.triggerBindingName(fn), data: { http: http0 } },
          ...this.extraInputs(fn, origin),
        ],
        triggerMetadata,
      })
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
      });
    // The response head arrives as soon as the function starts answering, long before a streamed body ends
    // (which is when the invocation completes), so relay it as soon as it is there.
    const first = await Promise.race([
      proxyResponse.then((r) => ({ kind: 'response' as const, response: r })),
      invocation.then((o) => ({ kind: 'outcome' as const, outcome: o })),
    ]).catch((e: unknown) => ({ kind: 'outcome' as const, outcome: proxyFailure(e) }));
    let response: http.IncomingMessage;
    if (first.kind === 'response') {
      response = first.response;
    } else {
      if (!first.outcome.ok) {
        proxyRequest.destroy();
        return first.outcome;
      }
      // The function returned without a response (the library then sends nothing): the host answers 204.
      const late = await Promise.race([
        proxyResponse,
        new Promise<undefined>((resolve) =>
          setTimeout(() => resolve(undefined), STREAM_RESPONSE_GRACE_MS).unref(),
        ),
      ]).catch(() => undefined);
      if (!late) {
        proxyRequest.destroy();
        return { ok: true, status: 204, headers: {}, cookies: [], body: Buffer.alloc(0) };
      }
      response = late;
    }
    const headers: Record<string, string> = {};
    let cookies: string[] = [];
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || name === 'x-ms-invocation-id' || name === 'content-length')
        continue;
      if (name === 'set-cookie') {
        cookies = Array.isArray(value) ? value : [value];
      } else {
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
    }
    // Without a handler response the library sends nothing back; the worker would answer 204 then too.
    return {
      ok: true,
      status: response.statusCode ?? 200,
      headers,
      cookies,
      body: Buffer.alloc(0),
      stream: response,
    };
  }

  private durableFunction(name: string, triggerType: string): RegisteredFunction {
    const fn = this.find(name);
    const trigger = fn ? fn.metadata.bindings[Worker.triggerBindingName(fn)] : undefined;
    if (!fn || !trigger || trigger.type.toLowerCase() !== triggerType.toLowerCase()) {
      throw new FunctionInvocationError(
        `The function '${name}' doesn't exist, is disabled, or is not a ${triggerType} function.`,
        undefined,
      );
    }
    return fn;
  }

  async invokeOrchestrator(functionName: string, payload: unknown): Promise<unknown> {
    const fn = this.durableFunction(functionName, 'orchestrationTrigger');
    // The extension sends the binding info as a JSON string (OrchestrationContextToString).
    const outcome = await this.run(fn, { string: JSON.stringify(payload) }, {});
    if (outcome.ok) {
      const value = typedDataToValue(outcome.response.returnValue);
      return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
    }
    const index = outcome.message.indexOf(OUT_OF_PROC_LABEL);
    if (index >= 0) {
      try {
        return JSON.parse(outcome.message.slice(index + OUT_OF_PROC_LABEL.length)) as unknown;
      } catch {
        // Fall through: an unparseable state is an ordinary failure.
      }
    }
    throw new FunctionInvocationError(outcome.message, outcome.stackTrace);
  }

  async invokeEntity(functionName: string, payload: unknown): Promise<unknown> {
    const fn = this.durableFunction(functionName, 'entityTrigger');
    // Like the orchestration payload, the entity batch travels as JSON text.
    const outcome = await this.run(fn, { string: JSON.stringify(payload) }, {});
    if (!outcome.ok) throw new FunctionInvocationError(outcome.message, outcome.stackTrace);
    const value = typedDataToValue(outcome.response.returnValue);
    return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  }

  async invokeActivity(functionName: string, input: unknown, instanceId: string): Promise<unknown> {
    const fn = this.durableFunction(functionName, 'activityTrigger');
    const outcome = await this.run(
      fn,
      activityInputToTypedData(input),
      { instanceId: { string: instanceId } },
      { ...bindingDataFromJson(typeof input === 'string' ? input : undefined), instanceId },
    );
    if (!outcome.ok) {
      throw new FunctionInvocationError(outcome.message, outcome.stackTrace);
    }
    return typedDataToValue(outcome.response.returnValue);
  }
}

/** A body as bytes: a buffered one as it is, a stream read to its end (only when the app does not stream). */
async function bufferOf(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
