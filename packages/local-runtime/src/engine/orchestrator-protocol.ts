/**
 * What crosses the seam to the `durable-functions` executor in an orchestration episode: the payload the
 * extension sends (history, input, timer settings) and the `OrchestratorState` that comes back, either as the
 * return value or, when the orchestrator threw, after the `$OutOfProcData$:` label of the error message.
 */
import { EventType, parseJsonLenient, type HistoryEvent } from './history';

/** The extension's `HttpSettings.DefaultAsyncRequestSleepTimeMilliseconds`. */
export const HTTP_POLLING_INTERVAL_MS = 30_000;

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';

export interface TimerSettings {
  /** `maximumShortTimerDuration` of the payload, ms (extension default: 6 days). */
  maximumShortTimerMs: number;
  /** `longRunningTimerIntervalDuration` of the payload, ms (extension default: 3 days). */
  longRunningTimerIntervalMs: number;
}

/** The .NET TimeSpan "c" format: [d.]hh:mm:ss[.fffffff]. */
export function formatTimeSpan(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const frac = rest - s * 1000;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    (days > 0 ? `${days}.` : '') +
    `${pad(h)}:${pad(m)}:${pad(s)}` +
    (frac > 0 ? `.${String(frac * 10_000).padStart(7, '0')}` : '')
  );
}

export interface OrchestratorPayload {
  history: HistoryEvent[];
  input: unknown;
  instanceId: string;
  isReplaying: boolean;
  parentInstanceId: string | null;
  upperSchemaVersion: number;
  upperSchemaVersionNew: number;
  longRunningTimerIntervalDuration: string;
  maximumShortTimerDuration: string;
  defaultHttpAsyncRequestSleepTimeMillseconds: number;
}

/** The payload of one episode; undefined when the history has no ExecutionStarted to run from. */
export function orchestratorPayload(args: {
  instanceId: string;
  parentInstanceId: string | null;
  /** Past events (`IsPlayed: true`) followed by this episode's new ones. */
  history: HistoryEvent[];
  isReplaying: boolean;
  settings: TimerSettings;
}): OrchestratorPayload | undefined {
  const started = args.history.find((e) => e.EventType === EventType.ExecutionStarted);
  if (!started || started.EventType !== EventType.ExecutionStarted) return undefined;
  return {
    history: args.history,
    input: parseJsonLenient(started.Input),
    instanceId: args.instanceId,
    isReplaying: args.isReplaying,
    parentInstanceId: args.parentInstanceId,
    upperSchemaVersion: 1,
    // Replay schema V4: durable-functions allows `context.df.lock` only from V4 on.
    upperSchemaVersionNew: 3,
    longRunningTimerIntervalDuration: formatTimeSpan(args.settings.longRunningTimerIntervalMs),
    maximumShortTimerDuration: formatTimeSpan(args.settings.maximumShortTimerMs),
    defaultHttpAsyncRequestSleepTimeMillseconds: HTTP_POLLING_INTERVAL_MS,
  };
}

export interface OrchestratorState {
  isDone: boolean;
  actions: unknown[];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: unknown;
  failureDetails?: unknown;
}

/** How the invocation ended: the value it returned, or what it threw. */
export type OrchestratorResult = { returned: unknown } | { threw: unknown };

/** The state the orchestrator reported, or why there is none (then the episode fails the instance). */
export type ReadResult = { state: OrchestratorState } | { failure: string };

export function readOrchestratorResult(result: OrchestratorResult): ReadResult {
  if ('returned' in result) {
    const state = asState(result.returned);
    return state
      ? { state }
      : { failure: 'The orchestrator function returned an invalid orchestration state' };
  }
  const message = errorMessage(result.threw);
  const at = message.indexOf(OUT_OF_PROC_LABEL);
  if (at >= 0) {
    const state = asState(message.slice(at + OUT_OF_PROC_LABEL.length));
    if (state) {
      if (typeof state.error !== 'string') state.error = message.slice(0, at);
      return { state };
    }
  }
  return { failure: message };
}

/** V2+ sends `[[a1, a2, …]]`; V1 sends one inner array per yield. Either way: the flat top level. */
export function topLevelActions(state: OrchestratorState): unknown[] {
  const out: unknown[] = [];
  for (const group of state.actions) {
    if (Array.isArray(group)) out.push(...(group as unknown[]));
    else out.push(group);
  }
  return out;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : 'Unknown error';
}

function asState(value: unknown): OrchestratorState | undefined {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  if (typeof s.isDone !== 'boolean' || !Array.isArray(s.actions)) return undefined;
  return s as unknown as OrchestratorState;
}
