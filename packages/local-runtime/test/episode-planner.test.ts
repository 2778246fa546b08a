/**
 * The episode rules without an invoker, a store or a clock (as durabletask-go's `tests/runtimestate_test.go`
 * checks its runtime state): inbox messages, past history and what the orchestrator returned go in, a plan
 * comes out.
 */
import {
  episodeRequest,
  planEpisode,
  triageInbox,
  type EpisodePlan,
  type Triage,
} from '../src/engine/episode-planner';
import { EventType, historyEvents, type HistoryEvent } from '../src/engine/history';
import type { InboxMessage } from '../src/engine/inbox-messages';
import type { OrchestratorResult } from '../src/engine/orchestrator-protocol';
import { ActionType } from '../src/engine/replay';
import type { InstanceRow } from '../src/store/sqlite-store';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const NOW = new Date('2030-01-01T00:01:00.000Z');
const DAY_MS = 86_400_000;
const SETTINGS = { maximumShortTimerMs: 6 * DAY_MS, longRunningTimerIntervalMs: 3 * DAY_MS };

function instance(overrides: Partial<InstanceRow> = {}): InstanceRow {
  return {
    instanceId: 'job',
    name: 'flow',
    version: null,
    executionId: 'e1',
    runtimeStatus: 'Running',
    input: '"x"',
    output: null,
    customStatus: null,
    createdTime: T0.getTime(),
    lastUpdatedTime: T0.getTime(),
    parentInstanceId: null,
    parentExecutionId: null,
    parentTaskId: null,
    ...overrides,
  };
}

const started = historyEvents.executionStarted(T0, {
  instanceId: 'job',
  executionId: 'e1',
  name: 'flow',
  version: null,
  input: '"x"',
});

/** The history after a first episode that scheduled activity 0. */
const afterFirstEpisode: HistoryEvent[] = [
  historyEvents.orchestratorStarted(T0),
  started,
  historyEvents.taskScheduled(T0, 0, 'work', '"x"'),
  historyEvents.orchestratorCompleted(T0),
];

let nextRow = 1;
function message(event: HistoryEvent, executionId: string | null = null): InboxMessage {
  return { id: nextRow++, executionId, event };
}

const callWork = { actionType: ActionType.CallActivity, functionName: 'work', input: 'x' };

function state(fields: {
  isDone: boolean;
  actions: unknown[];
  output?: unknown;
}): OrchestratorResult {
  return { returned: { schemaVersion: 2, ...fields, actions: [fields.actions] } };
}

function replayOf(triage: Triage): Extract<Triage, { kind: 'replay' }> {
  if (triage.kind !== 'replay')
    throw new Error(`expected a replay, got a plan: ${JSON.stringify(triage)}`);
  return triage;
}

/** Triage, request and plan, as the engine runs them around one orchestrator invocation. */
function episode(
  row: InstanceRow,
  past: HistoryEvent[],
  inbox: InboxMessage[],
  result: OrchestratorResult,
): EpisodePlan {
  const triage = replayOf(triageInbox(row.instanceId, row, inbox, NOW));
  const request = episodeRequest(row, past, triage.newEvents, SETTINGS);
  if (!request) throw new Error('no ExecutionStarted');
  return planEpisode({
    instance: row,
    history: request.history,
    newEvents: triage.newEvents,
    consumed: triage.consumed,
    result,
    settings: SETTINGS,
    now: NOW,
  });
}

const types = (events: readonly HistoryEvent[]): number[] => events.map((e) => e.EventType);

describe('episode planner', () => {
  it('hands the first episode its start unplayed, and schedules the activity it asks for', () => {
    const row = instance({ runtimeStatus: 'Pending' });
    const start = message(started, 'e1');
    const triage = replayOf(triageInbox('job', row, [start], NOW));
    const request = episodeRequest(row, [], triage.newEvents, SETTINGS)!;
    expect(request.payload).toMatchObject({ instanceId: 'job', input: 'x', isReplaying: false });
    expect(request.history.map((e) => [e.EventType, e.IsPlayed])).toEqual([
      [EventType.OrchestratorStarted, false],
      [EventType.ExecutionStarted, false],
    ]);

    const plan = episode(row, [], [start], state({ isDone: false, actions: [callWork] }));
    expect(plan.outcome).toEqual({ kind: 'running' });
    expect(plan.consumed).toEqual([start.id]);
    expect(plan.work).toEqual([{ kind: 'activity', id: 0, name: 'work', input: 'x' }]);
    expect(types(plan.append)).toEqual([
      EventType.OrchestratorStarted,
      EventType.ExecutionStarted,
      EventType.TaskScheduled,
      EventType.OrchestratorCompleted,
    ]);
  });

  it('completes with the output once the last task completed, playing the past', () => {
    const done = message(historyEvents.taskCompleted(NOW, 0, '"did x"'), 'e1');
    const triage = replayOf(triageInbox('job', instance(), [done], NOW));
    const request = episodeRequest(instance(), afterFirstEpisode, triage.newEvents, SETTINGS)!;
    expect(request.payload.isReplaying).toBe(true);
    expect(request.history.filter((e) => e.IsPlayed)).toHaveLength(afterFirstEpisode.length);

    const plan = episode(
      instance(),
      afterFirstEpisode,
      [done],
      state({ isDone: true, actions: [callWork], output: 'did x' }),
    );
    expect(plan.outcome).toEqual({
      kind: 'finished',
      status: 'Completed',
      output: '"did x"',
      failureDetails: null,
    });
    expect(plan.work).toEqual([]);
    expect(types(plan.append)).toEqual([
      EventType.OrchestratorStarted,
      EventType.TaskCompleted,
      EventType.ExecutionCompleted,
      EventType.OrchestratorCompleted,
    ]);
    expect(plan.append[2]).toMatchObject({ OrchestrationStatus: 1, Result: '"did x"' });
  });

  it('fails with the extension text for a throw, an error state and an invalid state', () => {
    const failed = (result: OrchestratorResult): EpisodePlan =>
      episode(instance({ runtimeStatus: 'Pending' }), [], [message(started, 'e1')], result);
    expect(failed({ threw: new Error('boom') }).outcome).toMatchObject({
      kind: 'finished',
      status: 'Failed',
      output: JSON.stringify("Orchestrator function 'flow' failed: boom"),
    });
    const outOfProc = JSON.stringify({ isDone: false, actions: [], error: 'kaput' });
    expect(
      failed({ threw: new Error(`boom\n\n$OutOfProcData$:${outOfProc}`) }).outcome,
    ).toMatchObject({
      status: 'Failed',
      output: JSON.stringify("Orchestrator function 'flow' failed: kaput"),
    });
    const invalid = failed({ returned: { nope: true } });
    expect(invalid.outcome).toMatchObject({
      status: 'Failed',
      output: JSON.stringify(
        "Orchestrator function 'flow' failed: The orchestrator function returned an invalid orchestration state",
      ),
    });
    expect(invalid.append.at(-2)).toMatchObject({ OrchestrationStatus: 3 });
  });

  it('lets a terminate win over every queued event, whatever its place', () => {
    const before = message(historyEvents.eventRaised(NOW, 'go', '1'));
    const stop = message(historyEvents.executionTerminated(NOW, 'stop it'));
    const after = message(historyEvents.eventRaised(NOW, 'go', '2'));
    const triage = triageInbox(
      'job',
      instance({ customStatus: '"busy"' }),
      [before, stop, after],
      NOW,
    );
    expect(triage.kind).toBe('plan');
    const plan = (triage as Extract<Triage, { kind: 'plan' }>).plan!;
    expect(plan.outcome).toEqual({
      kind: 'finished',
      status: 'Terminated',
      output: '"stop it"',
      failureDetails: null,
    });
    expect(plan.consumed).toEqual([before.id, stop.id, after.id]);
    expect(plan.customStatus).toBe('"busy"');
    expect(types(plan.append)).toEqual([
      EventType.OrchestratorStarted,
      EventType.ExecutionTerminated,
      EventType.ExecutionCompleted,
      EventType.OrchestratorCompleted,
    ]);
    expect(plan.append[2]).toMatchObject({ OrchestrationStatus: 5 });
  });

  it('records a suspension and keeps the other events queued until a resume', () => {
    const go = message(historyEvents.eventRaised(NOW, 'go', '1'));
    const hold = message(historyEvents.executionSuspended(NOW, 'hold'));
    const suspend = triageInbox('job', instance(), [go, hold], NOW);
    expect(suspend).toMatchObject({ kind: 'plan', plan: { outcome: { kind: 'suspended' } } });
    const plan = (suspend as Extract<Triage, { kind: 'plan' }>).plan!;
    expect(plan.consumed).toEqual([hold.id]);
    expect(types(plan.append)).toEqual([EventType.ExecutionSuspended]);

    // Still suspended: an event arriving alone is not consumed, and a second suspend records nothing.
    const suspended = instance({ runtimeStatus: 'Suspended' });
    const again = message(historyEvents.executionSuspended(NOW, null));
    const still = triageInbox('job', suspended, [go, again], NOW);
    expect(still).toMatchObject({
      kind: 'plan',
      plan: { consumed: [again.id], append: [], outcome: { kind: 'suspended' } },
    });

    const resume = message(historyEvents.executionResumed(NOW, 'go on'));
    const resumed = replayOf(triageInbox('job', suspended, [go, resume], NOW));
    expect(types(resumed.newEvents)).toEqual([
      EventType.OrchestratorStarted,
      EventType.ExecutionResumed,
      EventType.EventRaised,
    ]);
    expect(resumed.consumed.sort()).toEqual([go.id, resume.id].sort());
  });

  it('drops messages of an earlier execution, and those of a finished or unknown instance', () => {
    const stale = message(historyEvents.taskCompleted(NOW, 0, '"old"'), 'e0');
    const onlyStale = triageInbox('job', instance(), [stale], NOW);
    expect(onlyStale).toMatchObject({
      kind: 'plan',
      plan: { executionId: 'e1', consumed: [stale.id], outcome: { kind: 'discarded' } },
    });

    const current = message(historyEvents.eventRaised(NOW, 'go', '1'));
    const mixed = replayOf(triageInbox('job', instance(), [stale, current], NOW));
    expect(types(mixed.newEvents)).toEqual([EventType.OrchestratorStarted, EventType.EventRaised]);
    expect(mixed.consumed).toEqual([stale.id, current.id]);

    for (const row of [undefined, instance({ runtimeStatus: 'Completed' })]) {
      expect(triageInbox('job', row, [current], NOW)).toMatchObject({
        kind: 'plan',
        plan: { executionId: null, consumed: [current.id], outcome: { kind: 'discarded' } },
      });
    }
    expect(triageInbox('job', instance(), [], NOW)).toEqual({ kind: 'plan', plan: undefined });
  });

  it('runs nothing when the history has no ExecutionStarted', () => {
    const ev = message(historyEvents.eventRaised(NOW, 'go', '1'));
    const triage = replayOf(triageInbox('job', instance(), [ev], NOW));
    expect(episodeRequest(instance(), [], triage.newEvents, SETTINGS)).toBeUndefined();
  });

  it('continues as new with the new input and no history of the old execution', () => {
    const done = message(historyEvents.taskCompleted(NOW, 0, '"did x"'), 'e1');
    const plan = episode(
      instance(),
      afterFirstEpisode,
      [done],
      state({
        isDone: true,
        actions: [callWork, { actionType: ActionType.ContinueAsNew, input: { n: 2 } }],
      }),
    );
    expect(plan.outcome).toEqual({ kind: 'continuedAsNew', input: '{"n":2}' });
    expect(plan.append).toEqual([]);
    expect(plan.consumed).toEqual([done.id]);
  });

  it('cancels the timer that lost a race and keeps running with the next task', () => {
    const fireAt = new Date(T0.getTime() + 3_600_000);
    const past: HistoryEvent[] = [
      historyEvents.orchestratorStarted(T0),
      started,
      historyEvents.timerCreated(T0, 0, fireAt),
      historyEvents.orchestratorCompleted(T0),
    ];
    const go = message(historyEvents.eventRaised(NOW, 'go', '1'));
    const race = {
      actionType: ActionType.WhenAny,
      compoundActions: [
        { actionType: ActionType.CreateTimer, fireAt: fireAt.toISOString(), isCanceled: true },
        { actionType: ActionType.WaitForExternalEvent, externalEventName: 'go' },
      ],
    };
    const plan = episode(
      instance(),
      past,
      [go],
      state({ isDone: false, actions: [race, callWork] }),
    );
    expect(plan.outcome).toEqual({ kind: 'running' });
    expect(plan.canceledTimers).toEqual([0]);
    expect(plan.work).toEqual([{ kind: 'activity', id: 1, name: 'work', input: 'x' }]);
  });

  it('keeps the custom status the orchestrator reported, and keeps running while a task is open', () => {
    const row = instance({ runtimeStatus: 'Pending' });
    const plan = episode(row, [], [message(started, 'e1')], {
      returned: {
        schemaVersion: 2,
        isDone: true,
        actions: [[{ actionType: ActionType.CallActivity, functionName: 'never', input: null }]],
        output: 1,
        customStatus: { step: 2 },
      },
    });
    // An activity scheduled in the same episode is still open: the instance keeps running.
    expect(plan.outcome).toEqual({ kind: 'running' });
    expect(plan.customStatus).toBe('{"step":2}');
  });
});
