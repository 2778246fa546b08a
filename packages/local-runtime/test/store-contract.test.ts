/**
 * The store's contract, independent of the engine (as durabletask-go's backend tests check a backend): what a
 * transaction keeps or discards, the order of an inbox, the one-time take of activities and timers, and that
 * deleting an instance leaves no pending work behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore, runMigrations, type InstanceRow } from '../src/store/sqlite-store';

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

  it('reads back the committed row after a rolled-back update or delete of a row it has read', () => {
    store.putInstance(instance('a', { runtimeStatus: 'Running' }));
    expect(store.getInstance('a')?.runtimeStatus).toBe('Running');
    for (const change of [
      () => store.putInstance(instance('a', { runtimeStatus: 'Completed', output: '"x"' })),
      () => store.deleteInstance('a'),
    ]) {
      expect(() =>
        store.transaction(() => {
          change();
          throw new Error('rolled back');
        }),
      ).toThrow('rolled back');
      expect(store.getInstance('a')).toEqual(instance('a', { runtimeStatus: 'Running' }));
    }
    // A nested transaction that fails inside one that commits: its write is gone too.
    store.transaction(() => {
      expect(() =>
        store.transaction(() => {
          store.putInstance(instance('a', { runtimeStatus: 'Failed' }));
          throw new Error('inner');
        }),
      ).toThrow('inner');
    });
    expect(store.getInstance('a')?.runtimeStatus).toBe('Running');
  });

  it('hands out copies: changing a row it returned changes nothing stored', () => {
    store.putInstance(instance('a'));
    const row = store.getInstance('a')!;
    row.runtimeStatus = 'Completed';
    expect(store.getInstance('a')?.runtimeStatus).toBe('Pending');
    const written = instance('b');
    store.putInstance(written);
    written.runtimeStatus = 'Failed';
    expect(store.getInstance('b')?.runtimeStatus).toBe('Pending');
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

  it('replaces every field of an instance row on a second put', () => {
    store.putInstance(instance('a'));
    const updated = instance('a', {
      executionId: 'a-e2',
      runtimeStatus: 'Completed',
      input: '1',
      output: '"done"',
      customStatus: '{"step":3}',
      lastUpdatedTime: 2000,
      parentInstanceId: 'p',
      parentExecutionId: 'p-e1',
      parentTaskId: 4,
    });
    store.putInstance(updated);
    expect(store.getInstance('a')).toEqual(updated);
    expect(store.queryInstances({})).toHaveLength(1);
  });

  it('clears the work of an instance (a restart) but keeps its row and the other instances', () => {
    for (const id of ['a', 'b']) {
      store.putInstance(instance(id));
      store.addInbox(id, null, 'event', '{}');
      store.addActivity(id, `${id}-e1`, 0, 'work', null);
      store.addTimer(id, `${id}-e1`, 1, 5000);
      store.appendHistory(id, ['{"e":1}']);
    }
    store.drainDeletedTimers();
    store.clearInstanceWork('a');
    expect(store.getInstance('a')).toEqual(instance('a'));
    expect(store.getHistory('a')).toEqual([]);
    expect(store.instancesWithInbox()).toEqual(['b']);
    expect(store.allActivities().map((r) => r.instanceId)).toEqual(['b']);
    expect(store.allTimers().map((r) => r.instanceId)).toEqual(['b']);
    expect(store.drainDeletedTimers()).toHaveLength(1);
    expect(store.getHistory('b')).toEqual(['{"e":1}']);
  });

  it('lists each instance with messages once, and none after its messages are gone', () => {
    store.putInstance(instance('a'));
    store.putInstance(instance('b'));
    store.addInbox('a', null, 'event', '{}');
    store.addInbox('a', null, 'event', '{}');
    store.addInbox('b', null, 'event', '{}');
    expect(store.instancesWithInbox().sort()).toEqual(['a', 'b']);
    store.deleteInbox('a');
    expect(store.instancesWithInbox()).toEqual(['b']);
  });

  it('lists pending timers by due time (ties in creation order) and deletes one by its task id', () => {
    store.putInstance(instance('a'));
    store.putInstance(instance('b'));
    const late = store.addTimer('a', 'a-e1', 0, 9000);
    const early = store.addTimer('b', 'b-e1', 0, 1000);
    const tieFirst = store.addTimer('a', 'a-e1', 1, 5000);
    const tieSecond = store.addTimer('b', 'b-e1', 1, 5000);
    expect(store.allTimers().map((t) => t.id)).toEqual([early, tieFirst, tieSecond, late]);
    store.drainDeletedTimers();
    store.deleteTimer('a', 1);
    expect(store.drainDeletedTimers()).toEqual([tieFirst]);
    expect(store.allTimers().map((t) => t.id)).toEqual([early, tieSecond, late]);
    store.deleteTimers('b');
    expect(store.drainDeletedTimers().sort()).toEqual([early, tieSecond].sort());
    expect(store.allTimers().map((t) => t.id)).toEqual([late]);
  });

  it("lists pending activities in the order they were scheduled, and deletes one instance's only", () => {
    store.putInstance(instance('a'));
    store.putInstance(instance('b'));
    const first = store.addActivity('a', 'a-e1', 0, 'one', null);
    const second = store.addActivity('b', 'b-e1', 0, 'two', '2');
    const third = store.addActivity('a', 'a-e1', 1, 'three', null);
    expect(store.allActivities().map((r) => r.id)).toEqual([first, second, third]);
    store.deleteActivities('a');
    expect(store.allActivities()).toEqual([
      { id: second, instanceId: 'b', executionId: 'b-e1', taskId: 0, name: 'two', input: '2' },
    ]);
  });

  it('reads the control rows an earlier version wrote with their kind and payload', () => {
    store.putInstance(instance('a'));
    store.database
      .prepare(
        "INSERT INTO inbox (instance_id, execution_id, kind, payload) VALUES ('a', NULL, 'terminate', ?)",
      )
      .run(JSON.stringify({ reason: 'old' }));
    store.addInbox('a', null, 'event', '{"n":1}');
    expect(store.getInbox('a').map((m) => [m.kind, m.payload])).toEqual([
      ['terminate', '{"reason":"old"}'],
      ['event', '{"n":1}'],
    ]);
  });
});

describe('SqliteStore on a file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-contract-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every table across a reopen, creating the folder on the way', () => {
    const file = path.join(dir, 'nested', 'hub.sqlite');
    const first = new SqliteStore(file);
    first.transaction(() => {
      first.putInstance(instance('a'));
      first.appendHistory('a', ['{"e":1}']);
      first.addInbox('a', 'a-e1', 'event', '{"n":1}');
      first.addActivity('a', 'a-e1', 0, 'work', '"x"');
      first.addTimer('a', 'a-e1', 1, 5000);
    });
    first.close();
    expect(first.isOpen).toBe(false);

    const second = new SqliteStore(file);
    expect(second.getInstance('a')).toEqual(instance('a'));
    expect(second.getHistory('a')).toEqual(['{"e":1}']);
    expect(second.getInbox('a').map((m) => m.payload)).toEqual(['{"n":1}']);
    expect(second.allActivities()).toHaveLength(1);
    expect(second.allTimers()).toMatchObject([{ instanceId: 'a', timerId: 1, fireAt: 5000 }]);
    second.close();
  });

  it('refuses a database written by a newer schema version', () => {
    const file = path.join(dir, 'hub.sqlite');
    new SqliteStore(file).close();
    const db = new Database(file);
    db.prepare('UPDATE schema_version SET version = version + 1').run();
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/newer than this runtime supports/);
  });

  it('runs only the migrations not yet applied, each once', () => {
    const db = new Database(':memory:');
    runMigrations(db, 'v', ['CREATE TABLE one (x)']);
    runMigrations(db, 'v', ['CREATE TABLE one (x)', 'CREATE TABLE two (y)']);
    const tables = db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      )
      .all()
      .map((r) => r.name);
    expect(tables).toEqual(['one', 'two', 'v']);
    expect(db.prepare<[], { version: number }>('SELECT version FROM v').get()).toEqual({
      version: 2,
    });
    db.close();
  });
});
