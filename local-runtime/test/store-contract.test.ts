/**
 * The store's contract, independent of the engine (as durabletask-go's backend tests check a backend): what a
 * transaction keeps or discards, the order of an inbox, the one-time take of activities and timers, and that
 * deleting an instance leaves no pending work behind.
 */
import { SqliteStore, type InstanceRow } from '../src/store/sqlite-store';

function instance(id: string, overrides: Partial<InstanceRow> = {}): InstanceRow {
  return {
    instanceId: id,
    name: 'flow',
    version: null,
    executionId: `${id}-e1`,
    runtimeStatus: 'Pending',
    input: null,
    output: null,
    customStatus: null,
    createdTime: 1000,
    lastUpdatedTime: 1000,
    parentInstanceId: null,
    parentExecutionId: null,
    parentTaskId: null,
    ...overrides,
  };
}

describe('SqliteStore contract', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });
  afterEach(() => store.close());

  it('keeps everything a transaction wrote, or nothing when it throws', () => {
    store.transaction(() => {
      store.putInstance(instance('a'));
      store.addInbox('a', 'a-e1', 'event', '{"n":1}');
    });
    expect(() =>
      store.transaction(() => {
        store.putInstance(instance('b'));
        store.addInbox('b', 'b-e1', 'event', '{"n":2}');
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(store.getInstance('a')).toEqual(instance('a'));
    expect(store.getInstance('b')).toBeUndefined();
    expect(store.instancesWithInbox()).toEqual(['a']);
  });

  it('returns an inbox in arrival order and deletes exactly the consumed rows', () => {
    store.putInstance(instance('a'));
    for (const n of [1, 2, 3]) store.addInbox('a', null, 'event', `{"n":${n}}`);
    const inbox = store.getInbox('a');
    expect(inbox.map((m) => m.payload)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    store.deleteInboxRows([inbox[0]!.id, inbox[2]!.id]);
    expect(store.getInbox('a').map((m) => m.payload)).toEqual(['{"n":2}']);
  });

  it('lets an activity or a timer be taken once', () => {
    store.putInstance(instance('a'));
    const activity = store.addActivity('a', 'a-e1', 0, 'work', '"x"');
    const timer = store.addTimer('a', 'a-e1', 1, 5000);
    expect(store.allActivities()).toEqual([
      { id: activity, instanceId: 'a', executionId: 'a-e1', taskId: 0, name: 'work', input: '"x"' },
    ]);
    expect(store.getTimer(timer)).toMatchObject({ timerId: 1, fireAt: 5000 });
    expect(store.takeActivity(activity)).toBe(true);
    expect(store.takeActivity(activity)).toBe(false);
    expect(store.takeTimer(timer)).toBe(true);
    expect(store.takeTimer(timer)).toBe(false);
    expect(store.allActivities()).toEqual([]);
    expect(store.allTimers()).toEqual([]);
  });

  it('deletes an instance with all its pending work and reports the deleted timers once', () => {
    store.putInstance(instance('a'));
    store.addInbox('a', null, 'event', '{}');
    store.addActivity('a', 'a-e1', 0, 'work', null);
    const t1 = store.addTimer('a', 'a-e1', 1, 5000);
    const t2 = store.addTimer('a', 'a-e1', 2, 6000);
    store.appendHistory('a', ['{"e":1}']);
    store.drainDeletedTimers();
    store.deleteInstance('a');
    expect(store.getInstance('a')).toBeUndefined();
    expect(store.getInbox('a')).toEqual([]);
    expect(store.getHistory('a')).toEqual([]);
    expect(store.allActivities()).toEqual([]);
    expect(store.allTimers()).toEqual([]);
    expect(store.drainDeletedTimers().sort()).toEqual([t1, t2].sort());
    expect(store.drainDeletedTimers()).toEqual([]);
  });

  it('appends history in order across calls', () => {
    store.putInstance(instance('a'));
    store.appendHistory('a', ['1', '2']);
    store.appendHistory('a', ['3']);
    expect(store.getHistory('a')).toEqual(['1', '2', '3']);
  });

  it('lists instances by creation time with status, prefix and paging filters', () => {
    store.putInstance(instance('job-1', { createdTime: 1, runtimeStatus: 'Completed' }));
    store.putInstance(instance('job-2', { createdTime: 2, runtimeStatus: 'Running' }));
    store.putInstance(instance('other', { createdTime: 3, runtimeStatus: 'Completed' }));
    const ids = (rows: InstanceRow[]): string[] => rows.map((r) => r.instanceId);
    expect(ids(store.queryInstances({}))).toEqual(['job-1', 'job-2', 'other']);
    expect(ids(store.queryInstances({ runtimeStatus: ['Completed'] }))).toEqual(['job-1', 'other']);
    expect(ids(store.queryInstances({ instanceIdPrefix: 'job-' }))).toEqual(['job-1', 'job-2']);
    expect(ids(store.queryInstances({ limit: 1, offset: 1 }))).toEqual(['job-2']);
    expect(ids(store.queryInstances({ createdTimeFrom: 2, createdTimeTo: 2 }))).toEqual(['job-2']);
  });
});
