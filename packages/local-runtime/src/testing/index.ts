/**
 * `@local/durable-runtime/testing`: what an app's unit tests need to replay an orchestrator without a host,
 * through durable-functions' own executor, and to read or build the engine's history events.
 * Needs `durable-functions` (a peer dependency: the app's own copy).
 */
export { orchestratorHandler, type OrchestratorTriggerHandler } from './durable-functions-driver';
export * from '../engine/history';
export { ManualClock, SystemClock } from '../clock';
