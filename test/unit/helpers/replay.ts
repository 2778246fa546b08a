/**
 * Drives an orchestrator through durable-functions' own replay machinery (the executor that
 * `df.app.orchestration` wraps handlers with), episode by episode, the way the Durable extension
 * does: every episode replays the full history (past events `IsPlayed: true`) plus the new events,
 * and the scheduling actions it returns become TaskScheduled/TimerCreated events with ids in
 * call order. Time passes only through `OrchestratorStarted` timestamps, so a 90 s timer costs
 * nothing.
 */
import { InvocationContext } from '@azure/functions';
import type { OrchestrationHandler } from 'durable-functions';
import {
  orchestratorHandler,
  type OrchestratorTriggerHandler,
} from '@local/durable-runtime/testing';
import {
  EventType,
  historyEvents,
  type HistoryEvent,
  type TimerCreatedEvent,
} from '@local/durable-runtime/testing';

export interface Action {
  readonly actionType: number;
  readonly functionName?: string;
  readonly input?: unknown;
  readonly fireAt?: string | Date;
  readonly isCanceled?: boolean;
  readonly externalEventName?: string;
  readonly compoundActions?: readonly Action[];
}

export interface OrchestratorState {
  readonly isDone: boolean;
  readonly actions: readonly (readonly Action[])[];
  readonly output?: unknown;
  readonly customStatus?: unknown;
  readonly error?: string;
  readonly schemaVersion: number;
}

export const ActionType = {
  CallActivity: 0,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  WhenAny: 11,
} as const;

export class OrchestrationHarness {
  private readonly past: HistoryEvent[] = [];
  private pending: HistoryEvent[] = [];
  private scheduled = 0;
  /** Every state the orchestrator returned, one per episode. */
  readonly states: OrchestratorState[] = [];
  /** Everything the orchestrator logged. */
  readonly logs: string[] = [];
  private readonly run: OrchestratorTriggerHandler;

  constructor(
    handler: OrchestrationHandler,
    private readonly name: string,
    readonly instanceId: string,
    private readonly input: unknown,
    private now: Date,
  ) {
    this.run = orchestratorHandler(handler);
  }

  /** Every event as the extension would store it (for "no secret in history" checks). */
  get history(): readonly HistoryEvent[] {
    return [...this.past, ...this.pending];
  }

  /** The orchestration's clock: when the latest event happened. */
  get time(): Date {
    return this.now;
  }

  get last(): OrchestratorState {
    const state = this.states.at(-1);
    if (state === undefined) throw new Error('no episode ran yet');
    return state;
  }

  /** All actions of the latest episode, compound actions flattened, in call order. */
  get actions(): Action[] {
    return flatten(this.last.actions.flat());
  }

  start(): Promise<OrchestratorState> {
    return this.episodeWith(0, (now) =>
      historyEvents.executionStarted(now, {
        instanceId: this.instanceId,
        executionId: 'execution-1',
        name: this.name,
        version: null,
        input: JSON.stringify(this.input),
      }),
    );
  }

  completeTask(taskId: number, result: unknown, afterMs = 100): Promise<OrchestratorState> {
    return this.episodeWith(afterMs, (now) =>
      historyEvents.taskCompleted(now, taskId, JSON.stringify(result)),
    );
  }

  failTask(taskId: number, reason: string, afterMs = 100): Promise<OrchestratorState> {
    return this.episodeWith(afterMs, (now) =>
      historyEvents.taskFailed(now, taskId, reason, 'details'),
    );
  }

  raiseEvent(name: string, value: unknown, afterMs = 1000): Promise<OrchestratorState> {
    return this.episodeWith(afterMs, (now) =>
      historyEvents.eventRaised(now, name, JSON.stringify(value)),
    );
  }

  fireTimer(timerId: number): Promise<OrchestratorState> {
    const created = this.past.find(
      (e): e is TimerCreatedEvent =>
        e.EventType === EventType.TimerCreated && e.EventId === timerId,
    );
    if (created === undefined) throw new Error(`timer ${timerId} was never created`);
    const fireAt = new Date(created.FireAt);
    if (fireAt > this.now) this.now = fireAt;
    return this.episodeWith(0, (now) => historyEvents.timerFired(now, timerId, fireAt));
  }

  /** The next episode, `afterMs` after the last: OrchestratorStarted, then `event` at that time. */
  private episodeWith(
    afterMs: number,
    event: (now: Date) => HistoryEvent,
  ): Promise<OrchestratorState> {
    this.advance(afterMs);
    this.pending.push(historyEvents.orchestratorStarted(this.now), event(this.now));
    return this.episode();
  }

  private async episode(): Promise<OrchestratorState> {
    const history = [
      ...this.past.map((e) => ({ ...e, IsPlayed: true })),
      ...this.pending.map((e) => ({ ...e, IsPlayed: false })),
    ];
    const payload = {
      history,
      input: this.input,
      instanceId: this.instanceId,
      isReplaying: this.past.length > 0,
      parentInstanceId: null,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '6.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    const context = new InvocationContext({
      functionName: this.name,
      invocationId: `episode-${this.states.length}`,
      logHandler: (_level, ...args) => this.logs.push(args.map(String).join(' ')),
    });
    const state = await this.run(payload, context).then(
      (value) => value as OrchestratorState,
      (error: unknown) => failedState(error),
    );
    this.states.push(state);
    this.past.push(...this.pending);
    this.pending = [];
    // New scheduling decisions get ids in call order, like DTFx's idCounter.
    const scheduling = this.actions.filter(
      (a) => a.actionType === ActionType.CallActivity || a.actionType === ActionType.CreateTimer,
    );
    for (const action of scheduling.slice(this.scheduled)) {
      const id = this.scheduled++;
      this.past.push(
        action.actionType === ActionType.CallActivity
          ? historyEvents.taskScheduled(
              this.now,
              id,
              String(action.functionName),
              JSON.stringify(action.input),
            )
          : historyEvents.timerCreated(this.now, id, toDate(action.fireAt)),
      );
    }
    this.past.push(historyEvents.orchestratorCompleted(this.now));
    return state;
  }

  private advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }
}

/** A failing orchestrator throws; its state travels after this marker, as the extension parses it. */
function failedState(error: unknown): OrchestratorState {
  const message = error instanceof Error ? error.message : String(error);
  const marker = '\n\n$OutOfProcData$:';
  const at = message.indexOf(marker);
  if (at < 0) throw error;
  return JSON.parse(message.slice(at + marker.length)) as OrchestratorState;
}

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function flatten(actions: readonly Action[]): Action[] {
  return actions.flatMap((a) => (a.compoundActions ? [a, ...flatten(a.compoundActions)] : [a]));
}
