/**
 * The Node.js worker's invocation pipeline (durable-protocol.md §1.5): every function runs through the
 * programming model the app registered, so user code takes the same path as in Azure.
 */
import { randomUUID } from 'node:crypto';
import type { CoreRegistry, HookCallback, RegisteredFunction } from './core-api';
import type { HostLog } from './logger';
import type {
  CoreInvocationContext,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
  RpcParameterBinding,
  RpcTypedData,
} from './rpc-types';
import { isTriggerType } from './rpc-types';

export type InvocationOutcome =
  | { readonly ok: true; readonly response: RpcInvocationResponse }
  | { readonly ok: false; readonly message: string; readonly stackTrace: string | undefined };

export interface InvocationInput {
  readonly inputData: RpcParameterBinding[];
  readonly triggerMetadata?: Record<string, RpcTypedData>;
  /** Chosen by the caller when it must be known up front (HTTP streaming); random otherwise. */
  readonly invocationId?: string;
}

function errorParts(error: unknown): { message: string; stackTrace: string | undefined } {
  if (error instanceof Error) {
    return { message: error.message, stackTrace: error.stack };
  }
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    const { message, stack } = error as { message: string; stack?: unknown };
    return { message, stackTrace: typeof stack === 'string' ? stack : undefined };
  }
  return { message: typeof error === 'string' ? error : 'Unknown error', stackTrace: undefined };
}

const userLevels: Record<RpcLogLevel, 'debug' | 'info' | 'warn' | 'error' | undefined> = {
  trace: 'debug',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
  none: undefined,
};

/**
 * Runs the app's log hooks in order, as the worker does (synchronously: what a hook changes in `context` after
 * an `await` comes too late for this message). A hook that throws, or returns a promise that rejects, is
 * reported to `onFailure` and never breaks the invocation that logged: an async hook's rejection would
 * otherwise be an unhandled rejection, which ends a Node 20 process.
 */
export function runLogHooks(
  hooks: readonly HookCallback[],
  context: Record<string, unknown>,
  onFailure: (hook: HookCallback, error: unknown) => void,
): void {
  for (const hook of hooks) {
    try {
      const returned = hook(context);
      if (isThenable(returned)) returned.then(undefined, (e: unknown) => onFailure(hook, e));
    } catch (e) {
      onFailure(hook, e);
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export class LocalWorker {
  readonly appHookData: Record<string, unknown> = {};
  /** Log hooks already reported as failing: one warning each, not one per message they fail on. */
  private readonly failedLogHooks = new WeakSet<HookCallback>();

  constructor(
    private readonly registry: CoreRegistry,
    private readonly log: HostLog,
  ) {}

  /** The name of the trigger binding of `fn` (there is exactly one: the library requires it). */
  static triggerBindingName(fn: RegisteredFunction): string {
    const entry = Object.entries(fn.metadata.bindings).find(([, b]) => isTriggerType(b.type));
    if (!entry) {
      throw new Error(`Function "${fn.metadata.name}" has no trigger binding.`);
    }
    return entry[0];
  }

  private emitLog(
    fn: RegisteredFunction,
    invocationId: string,
    invocationContext: unknown,
    level: RpcLogLevel,
    category: RpcLogCategory,
    message: string,
  ): void {
    // Log hooks may rewrite the level and message (e.g. to redact), as in the worker.
    const hookContext: Record<string, unknown> = {
      level,
      category,
      message,
      invocationContext,
      hookData: {},
      appHookData: this.appHookData,
    };
    runLogHooks(this.registry.hooks.log, hookContext, (hook, error) =>
      this.reportLogHookFailure(hook, error),
    );
    const finalLevel =
      typeof hookContext.level === 'string' ? (hookContext.level as RpcLogLevel) : level;
    const finalMessage = typeof hookContext.message === 'string' ? hookContext.message : message;
    const hostLevel = userLevels[finalLevel];
    if (!hostLevel || (category === 'system' && (hostLevel === 'debug' || hostLevel === 'info'))) {
      return;
    }
    this.log(
      hostLevel,
      `[${fn.metadata.name}] ${finalMessage}${hostLevel === 'debug' ? ` (${invocationId})` : ''}`,
    );
  }

  private reportLogHookFailure(hook: HookCallback, error: unknown): void {
    if (this.failedLogHooks.has(hook)) return;
    this.failedLogHooks.add(hook);
    this.log(
      'warn',
      `A log hook failed (${errorParts(error).message}); it stays registered, further failures are not reported.`,
    );
  }

  private async runHooks(
    hooks: readonly HookCallback[],
    context: Record<string, unknown>,
  ): Promise<void> {
    for (const hook of [...hooks]) {
      await hook(context);
    }
  }

  async invoke(fn: RegisteredFunction, input: InvocationInput): Promise<InvocationOutcome> {
    const model = this.registry.programmingModel;
    if (!model) {
      return {
        ok: false,
        message: 'No programming model was registered by the app.',
        stackTrace: undefined,
      };
    }
    const invocationId = input.invocationId ?? randomUUID();
    const request: RpcInvocationRequest = {
      invocationId,
      functionId: fn.id,
      inputData: input.inputData,
      triggerMetadata: input.triggerMetadata ?? {},
    };
    let invocationContext: unknown;
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request,
      metadata: fn.metadata,
      state: undefined,
      log: (level, category, message) =>
        this.emitLog(fn, invocationId, invocationContext, level, category, message),
    };
    try {
      const invocationModel = await model.getInvocationModel(coreCtx);
      const { context, inputs } = await invocationModel.getArguments();
      invocationContext = context;
      const hookData: Record<string, unknown> = {};
      const pre: Record<string, unknown> = {
        hookData,
        appHookData: this.appHookData,
        invocationContext: context,
        inputs,
        functionCallback: fn.callback,
      };
      coreCtx.state = 'preInvocationHooks';
      try {
        await this.runHooks(this.registry.hooks.preInvocation, pre);
      } finally {
        coreCtx.state = undefined;
      }
      const finalInputs = Array.isArray(pre.inputs) ? (pre.inputs as unknown[]) : inputs;
      const callback =
        typeof pre.functionCallback === 'function'
          ? (pre.functionCallback as typeof fn.callback)
          : fn.callback;

      let result: unknown;
      let error: unknown;
      coreCtx.state = 'invocation';
      try {
        result = await invocationModel.invokeFunction(context, finalInputs, callback);
      } catch (e) {
        error = e;
      } finally {
        coreCtx.state = undefined;
      }

      const post: Record<string, unknown> = {
        hookData,
        appHookData: this.appHookData,
        invocationContext: context,
        inputs: finalInputs,
        result,
        error,
      };
      coreCtx.state = 'postInvocationHooks';
      try {
        await this.runHooks(this.registry.hooks.postInvocation, post);
      } finally {
        coreCtx.state = undefined;
      }
      // Post hooks may clear or replace the error, exactly as in the worker.
      if (post.error !== undefined && post.error !== null) {
        return { ok: false, ...errorParts(post.error) };
      }
      const response = await invocationModel.getResponse(context, post.result);
      return { ok: true, response };
    } catch (e) {
      return { ok: false, ...errorParts(e) };
    }
  }
}
