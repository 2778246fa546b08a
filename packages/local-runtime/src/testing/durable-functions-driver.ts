/**
 * The one way tests run an orchestrator through `durable-functions`' own executor (the `Orchestrator` that
 * `df.app.orchestration` registers), without a host: the package's testing helper `createOrchestrator`, which
 * has no typings, hence the typed require. Both the engine harness and the app's replay helper use this.
 */
import type { InvocationContext } from '@azure/functions';
import type { OrchestrationHandler } from 'durable-functions';

/** The orchestration trigger's handler: the extension's payload in, the `OrchestratorState` out. */
export type OrchestratorTriggerHandler = (
  trigger: unknown,
  context: InvocationContext,
) => Promise<unknown>;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const testingUtils = require('durable-functions/lib/src/util/testingUtils') as {
  createOrchestrator(fn: OrchestrationHandler): OrchestratorTriggerHandler;
};

export function orchestratorHandler(fn: OrchestrationHandler): OrchestratorTriggerHandler {
  return testingUtils.createOrchestrator(fn);
}
