/**
 * The seam between the two halves of the local runtime:
 * - the *host* (`src/host/`): provides `@azure/functions-core`, loads the app, invokes
 *   functions through the programming model, serves HTTP on the front door;
 * - the *durable engine* (`src/engine/`, `src/store/`): the Durable
 *   extension's behaviour (replay driving, history, timers, events, activities, management API).
 *
 * Neither half knows anything about the app beyond what the app registers.
 *
 * Notes from the engine engineer (value encodings, so both halves agree):
 * - `invokeOrchestrator` payload: a plain JSON-serialisable object; send it as `{string: JSON.stringify(payload)}`
 *   typed data (what the extension sends). The engine accepts the result as the decoded object or as JSON text.
 * - `invokeActivity` input: `string | undefined`. A string is the .NET string the extension hands the worker
 *   (JSON text of the scheduled input; send it as `{string: input}` typed data so the library's tryJsonParse
 *   decodes it); `undefined` means no input (send `{}`, which decodes to `undefined`).
 * - `invokeActivity` result: the decoded return value (typed data `string` → that string *unparsed*, `json` →
 *   JSON.parse, `int`/`double` → number, `bytes` → Buffer, none → undefined).
 * - `createDurableEngine` lives in `engine/index.ts`; `whenIdle()` and `rpcBaseUrl` are extra members there.
 */

/** A source of "now" for every timestamp and every timer decision of the runtime. */
export interface Clock {
  now(): Date;
  /**
   * Calls `callback` once the clock reaches `at` (immediately when already past).
   * Returns a function that cancels the wake-up. A manual clock fires these only from `advance()`.
   */
  wakeAt(at: Date, callback: () => void): () => void;
}

/** A function registered by the app, as the host saw it at `registerFunction` time. */
export interface RegisteredFunctionInfo {
  readonly name: string;
  /** Trigger binding type as registered, e.g. `httpTrigger`, `orchestrationTrigger`, `activityTrigger`. */
  readonly triggerType: string;
  /** The trigger binding as registered (all of its properties). */
  readonly trigger: Readonly<Record<string, unknown>>;
}

/** A failure raised by user code during an invocation (the worker's `exception`). */
export class FunctionInvocationError extends Error {
  constructor(
    message: string,
    readonly stackTrace: string | undefined,
  ) {
    super(message);
    this.name = 'FunctionInvocationError';
  }
}

/** What the durable engine needs from the host. */
export interface FunctionInvoker {
  /** Every registered function. */
  functions(): readonly RegisteredFunctionInfo[];
  /**
   * Invokes an `orchestrationTrigger` function with the orchestration binding payload
   * (DurableOrchestrationBindingInfo, as the extension sends it: a JSON-serialisable object) and
   * resolves to the function's return value (the `OrchestratorState`-shaped object the
   * `durable-functions` executor returns). Rejects with `FunctionInvocationError` when user code throws
   * outside the executor's own error handling.
   */
  invokeOrchestrator(functionName: string, payload: unknown): Promise<unknown>;
  /**
   * Invokes an `activityTrigger` function with its input, as the extension does (the input value is the
   * activity input, JSON). Resolves to the activity's return value; rejects with
   * `FunctionInvocationError` when the activity throws.
   */
  invokeActivity(functionName: string, input: unknown, instanceId: string): Promise<unknown>;
  /**
   * Invokes an `entityTrigger` function with one batch (DurableEntityBindingInfo: `{self, exists, state,
   * batch}`, a JSON-serialisable object) and resolves to the `EntityState` the `durable-functions` entity
   * returns. Optional: an invoker without it cannot run entities (their operations fail).
   */
  invokeEntity?(functionName: string, payload: unknown): Promise<unknown>;
}

/** A framework-neutral HTTP request handed from the front door to the engine's management API. */
export interface RuntimeHttpRequest {
  readonly method: string;
  /** Path without query string, e.g. `/runtime/webhooks/durabletask/instances/abc`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The externally visible origin of this request, e.g. `http://localhost:7071`. */
  readonly origin: string;
}

export interface RuntimeHttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** What the host needs from the durable engine. */
export interface DurableExtension {
  /**
   * The value of a `durableClient` input binding for one invocation: the JSON object the real
   * extension hands to the worker (`taskHubName`, `creationUrls`, `managementUrls`, `baseUrl`,
   * `requiredQueryStringParameters`, `rpcBaseUrl`, ...). `origin` is the externally visible origin of
   * the front door (e.g. `http://localhost:7071`), so generated URLs work from outside.
   */
  clientBinding(origin: string): Readonly<Record<string, unknown>>;
  /** Handles every request under `/runtime/webhooks/durabletask/`. Must not throw. */
  handleHttp(request: RuntimeHttpRequest): Promise<RuntimeHttpResponse>;
  /** Starts dispatching stored work (pending activities, due timers, undelivered events). */
  start(): Promise<void>;
  /** Stops taking new work, waits for in-flight work to finish or stay persisted, closes storage. */
  stop(): Promise<void>;
}
