import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BackgroundCheckpointer } from './checkpointer';

/**
 * Durable state of one task hub in SQLite. Every method is synchronous (better-sqlite3), so a
 * caller can group several of them into one atomic transaction with `transaction()`.
 *
 * Tables:
 * - `instances`: one row per orchestration instance (current execution only), with its status.
 * - `history`: the history events of each instance's current execution, in order.
 * - `inbox`: history events not yet delivered to an orchestration episode (ExecutionStarted, completions,
 *   timer firings, raised events, ExecutionTerminated/Suspended/Resumed).
 * - `activities`: scheduled activity invocations not yet completed (re-run after a crash), each with how often
 *   it was handed to a worker (`dequeue_count`) and by which engine (`locked_by`), as durabletask-go's
 *   `NewTasks` table: a count past the engine's bound makes the activity a poison one.
 * - `timers`: durable timers not yet fired.
 */

export type RuntimeStatus =
  | 'Running'
  | 'Completed'
  | 'ContinuedAsNew'
  | 'Failed'
  | 'Canceled'
  | 'Terminated'
  | 'Pending'
  | 'Suspended';

/** In the order of DTFx's OrchestrationStatus enum, so a history event's numeric status indexes it. */
export const RUNTIME_STATUSES: readonly RuntimeStatus[] = [
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Canceled',
  'Terminated',
  'Pending',
  'Suspended',
];

export const TERMINAL_STATUSES: ReadonlySet<RuntimeStatus> = new Set([
  'Completed',
  'Failed',
  'Terminated',
  'Canceled',
]);

export interface InstanceRow {
  instanceId: string;
  name: string;
  version: string | null;
  executionId: string;
  runtimeStatus: RuntimeStatus;
  /** JSON text (or null). */
  input: string | null;
  /** JSON text (or null). */
  output: string | null;
  /** JSON text (or null). */
  customStatus: string | null;
  createdTime: number;
  lastUpdatedTime: number;
  parentInstanceId: string | null;
  parentExecutionId: string | null;
  parentTaskId: number | null;
}

/** Every message written is a history event (terminate, suspend and resume included, as in DTFx). */
export type InboxKind = 'event';
/**
 * Control messages as earlier versions wrote them (payload `{reason}`). Never written any more, but rows of
 * these kinds may still be in a database from before the upgrade, so reading returns them as they are.
 */
export type LegacyInboxKind = 'terminate' | 'suspend' | 'resume';

export interface InboxRow {
  id: number;
  instanceId: string;
  /** Execution the message belongs to; null = whichever execution is current. */
  executionId: string | null;
  kind: InboxKind | LegacyInboxKind;
  /** JSON text of a history event (kind `event`) or of `{reason}` (the legacy control kinds). */
  payload: string;
}

export interface ActivityRow {
  id: number;
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  /** The input as handed to the worker (string), or null for none. */
  input: string | null;
}

export interface TimerRow {
  id: number;
  instanceId: string;
  executionId: string;
  timerId: number;
  fireAt: number;
}

/** The timers columns under the names of {@link TimerRow}, so SQLite hands back TimerRow objects as they are. */
const TIMER_COLUMNS =
  'id, instance_id AS instanceId, execution_id AS executionId, timer_id AS timerId, fire_at AS fireAt';

export interface InstanceQuery {
  createdTimeFrom?: number;
  createdTimeTo?: number;
  runtimeStatus?: readonly RuntimeStatus[];
  instanceIdPrefix?: string;
  offset?: number;
  limit?: number;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE instances (
     instance_id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     version TEXT,
     execution_id TEXT NOT NULL,
     runtime_status TEXT NOT NULL,
     input TEXT,
     output TEXT,
     custom_status TEXT,
     created_time INTEGER NOT NULL,
     last_updated_time INTEGER NOT NULL,
     parent_instance_id TEXT,
     parent_execution_id TEXT,
     parent_task_id INTEGER
   );
   CREATE INDEX instances_created ON instances(created_time, instance_id);
   CREATE TABLE history (
     instance_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     event TEXT NOT NULL,
     PRIMARY KEY (instance_id, seq)
   ) WITHOUT ROWID;
   CREATE TABLE inbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     instance_id TEXT NOT NULL,
     execution_id TEXT,
     kind TEXT NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE INDEX inbox_instance ON inbox(instance_id, id);
   CREATE TABLE activities (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     instance_id TEXT NOT NULL,
     execution_id TEXT NOT NULL,
     task_id INTEGER NOT NULL,
     name TEXT NOT NULL,
     input TEXT
   );
   CREATE INDEX activities_instance ON activities(instance_id);
   CREATE TABLE timers (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     instance_id TEXT NOT NULL,
     execution_id TEXT NOT NULL,
     timer_id INTEGER NOT NULL,
     fire_at INTEGER NOT NULL
   );
   CREATE INDEX timers_instance ON timers(instance_id, timer_id);`,
  `ALTER TABLE activities ADD COLUMN dequeue_count INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE activities ADD COLUMN locked_by TEXT;`,
];

interface RawInstance {
  instance_id: string;
  name: string;
  version: string | null;
  execution_id: string;
  runtime_status: string;
  input: string | null;
  output: string | null;
  custom_status: string | null;
  created_time: number;
  last_updated_time: number;
  parent_instance_id: string | null;
  parent_execution_id: string | null;
  parent_task_id: number | null;
}

function toInstance(r: RawInstance): InstanceRow {
  return {
    instanceId: r.instance_id,
    name: r.name,
    version: r.version,
    executionId: r.execution_id,
    runtimeStatus: r.runtime_status as RuntimeStatus,
    input: r.input,
    output: r.output,
    customStatus: r.custom_status,
    createdTime: r.created_time,
    lastUpdatedTime: r.last_updated_time,
    parentInstanceId: r.parent_instance_id,
    parentExecutionId: r.parent_execution_id,
    parentTaskId: r.parent_task_id,
  };
}

/**
 * Brings the tables of one feature up to date: `versionTable` holds how many of `migrations` ran; each
 * further one runs in its own transaction together with the version update.
 */
export function runMigrations(
  db: Database.Database,
  versionTable: string,
  migrations: readonly string[],
): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${versionTable} (version INTEGER NOT NULL)`);
  const row = db.prepare<[], { version: number }>(`SELECT version FROM ${versionTable}`).get();
  let version = row?.version ?? 0;
  if (version > migrations.length) {
    throw new Error(
      `Database schema version ${version} (${versionTable}) is newer than this runtime supports (${migrations.length})`,
    );
  }
  while (version < migrations.length) {
    const sql = migrations[version]!;
    const next = version + 1;
    db.transaction(() => {
      db.exec(sql);
      db.exec(`DELETE FROM ${versionTable}`);
      db.prepare(`INSERT INTO ${versionTable} (version) VALUES (?)`).run(next);
    })();
    version = next;
  }
}

/** How often the worker copies the WAL into the database, and the WAL size (4 KiB pages) at which a commit does it itself. */
const CHECKPOINT_INTERVAL_MS = 250;
const INLINE_CHECKPOINT_PAGES = 20_000;
/**
 * What SQLite leaves of the WAL file after a checkpoint reset it: without a limit the file keeps its largest
 * size for good (an 80 MB WAL beside a 1 MB database after a purge). Idle, the checkpointer truncates it to 0.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Instance rows kept in memory, as this connection last wrote or read them. A flow reads its row
 * about ten times (each episode twice, each status and raise), each read a B-tree lookup and a new
 * object; a few thousand rows cover every instance in flight at c1024 for a few hundred KiB.
 */
const INSTANCE_CACHE_ROWS = 4096;

export class SqliteStore {
  private readonly db: Database.Database;
  private readonly deletedTimers: number[] = [];
  /**
   * The cache of instance rows. Only this connection writes them, so a row is right unless the
   * transaction that wrote it rolls back: every row written in a transaction is listed in
   * `touchedInstances` and forgotten if it fails.
   */
  private readonly instanceCache = new Map<string, InstanceRow>();
  private touchedInstances: Set<string> | undefined;
  private readonly stmts;
  private readonly checkpointer: BackgroundCheckpointer | undefined;

  constructor(databasePath: string) {
    if (databasePath !== ':memory:')
      fs.mkdirSync(path.dirname(path.resolve(databasePath)), { recursive: true });
    this.db = new Database(databasePath);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable against process crashes (kill -9) in WAL mode; FULL only adds power-loss safety.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -32000');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    this.migrate();
    if (databasePath !== ':memory:') {
      // Checkpoints run on a worker (see checkpointer.ts); this connection checkpoints only as a
      // safety net, should the worker fall far behind.
      this.db.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
      this.checkpointer = new BackgroundCheckpointer({
        databasePath,
        intervalMs: CHECKPOINT_INTERVAL_MS,
      });
    }
    const db = this.db;
    this.stmts = {
      getInstance: db.prepare<[string], RawInstance>(
        'SELECT * FROM instances WHERE instance_id = ?',
      ),
      upsertInstance: db.prepare(
        `INSERT INTO instances (instance_id, name, version, execution_id, runtime_status, input, output, custom_status,
           created_time, last_updated_time, parent_instance_id, parent_execution_id, parent_task_id)
         VALUES (@instanceId, @name, @version, @executionId, @runtimeStatus, @input, @output, @customStatus,
           @createdTime, @lastUpdatedTime, @parentInstanceId, @parentExecutionId, @parentTaskId)
         ON CONFLICT(instance_id) DO UPDATE SET name = excluded.name, version = excluded.version,
           execution_id = excluded.execution_id, runtime_status = excluded.runtime_status, input = excluded.input,
           output = excluded.output, custom_status = excluded.custom_status, created_time = excluded.created_time,
           last_updated_time = excluded.last_updated_time, parent_instance_id = excluded.parent_instance_id,
           parent_execution_id = excluded.parent_execution_id, parent_task_id = excluded.parent_task_id`,
      ),
      deleteInstance: db.prepare<[string]>('DELETE FROM instances WHERE instance_id = ?'),
      getHistory: db.prepare<[string], { event: string }>(
        'SELECT event FROM history WHERE instance_id = ? ORDER BY seq',
      ),
      maxSeq: db.prepare<[string], { m: number | null }>(
        'SELECT MAX(seq) AS m FROM history WHERE instance_id = ?',
      ),
      insertHistory: db.prepare<[string, number, string]>(
        'INSERT INTO history (instance_id, seq, event) VALUES (?, ?, ?)',
      ),
      deleteHistory: db.prepare<[string]>('DELETE FROM history WHERE instance_id = ?'),
      getInbox: db.prepare<
        [string],
        {
          id: number;
          instance_id: string;
          execution_id: string | null;
          kind: string;
          payload: string;
        }
      >('SELECT * FROM inbox WHERE instance_id = ? ORDER BY id'),
      insertInbox: db.prepare<[string, string | null, string, string]>(
        'INSERT INTO inbox (instance_id, execution_id, kind, payload) VALUES (?, ?, ?, ?)',
      ),
      deleteInboxRow: db.prepare<[number]>('DELETE FROM inbox WHERE id = ?'),
      deleteInbox: db.prepare<[string]>('DELETE FROM inbox WHERE instance_id = ?'),
      inboxInstances: db.prepare<[], { instance_id: string }>(
        'SELECT DISTINCT instance_id FROM inbox',
      ),
      insertActivity: db.prepare<[string, string, number, string, string | null]>(
        'INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?, ?, ?, ?, ?)',
      ),
      deleteActivity: db.prepare<[number]>('DELETE FROM activities WHERE id = ?'),
      lockActivity: db.prepare<[string, number], { dequeue_count: number }>(
        'UPDATE activities SET dequeue_count = dequeue_count + 1, locked_by = ? WHERE id = ? RETURNING dequeue_count',
      ),
      deleteActivities: db.prepare<[string]>('DELETE FROM activities WHERE instance_id = ?'),
      allActivities: db.prepare<
        [],
        {
          id: number;
          instance_id: string;
          execution_id: string;
          task_id: number;
          name: string;
          input: string | null;
        }
      >('SELECT * FROM activities ORDER BY id'),
      insertTimer: db.prepare<[string, string, number, number]>(
        'INSERT INTO timers (instance_id, execution_id, timer_id, fire_at) VALUES (?, ?, ?, ?)',
      ),
      getTimer: db.prepare<[number], TimerRow>(`SELECT ${TIMER_COLUMNS} FROM timers WHERE id = ?`),
      deleteTimer: db.prepare<[number]>('DELETE FROM timers WHERE id = ?'),
      deleteTimerById: db.prepare<[string, number], { id: number }>(
        'DELETE FROM timers WHERE instance_id = ? AND timer_id = ? RETURNING id',
      ),
      deleteTimers: db.prepare<[string], { id: number }>(
        'DELETE FROM timers WHERE instance_id = ? RETURNING id',
      ),
      allTimers: db.prepare<[], TimerRow>(
        `SELECT ${TIMER_COLUMNS} FROM timers ORDER BY fire_at, id`,
      ),
    };
  }

  private migrate(): void {
    runMigrations(this.db, 'schema_version', MIGRATIONS);
  }

  /** The connection, for stores of other features that keep their tables in the same file (entities). */
  get database(): Database.Database {
    return this.db;
  }

  transaction<T>(fn: () => T): T {
    const outermost = this.touchedInstances === undefined;
    this.touchedInstances ??= new Set();
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      // Rolled back (at least to a savepoint): forget every row written so far, at any depth.
      for (const id of this.touchedInstances) this.instanceCache.delete(id);
      throw e;
    } finally {
      if (outermost) this.touchedInstances = undefined;
    }
  }

  close(): void {
    this.instanceCache.clear();
    this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  getInstance(instanceId: string): InstanceRow | undefined {
    const cached = this.instanceCache.get(instanceId);
    // Copies: callers may change the row they get, the cache's stays as stored.
    if (cached) return { ...cached };
    const r = this.stmts.getInstance.get(instanceId);
    if (!r) return undefined;
    const row = toInstance(r);
    this.rememberInstance(row);
    return { ...row };
  }

  putInstance(row: InstanceRow): void {
    this.stmts.upsertInstance.run(row);
    this.touchedInstances?.add(row.instanceId);
    this.rememberInstance({ ...row });
  }

  /** Removes an instance and everything that belongs to it. */
  deleteInstance(instanceId: string): void {
    this.stmts.deleteInstance.run(instanceId);
    this.touchedInstances?.add(instanceId);
    this.instanceCache.delete(instanceId);
    this.clearInstanceWork(instanceId);
  }

  private rememberInstance(row: InstanceRow): void {
    const cache = this.instanceCache;
    cache.delete(row.instanceId);
    cache.set(row.instanceId, row);
    // Oldest first out (a Map iterates in insertion order).
    if (cache.size > INSTANCE_CACHE_ROWS) cache.delete(cache.keys().next().value!);
  }

  /** Removes history, pending messages, activities and timers of an instance (not the row itself). */
  clearInstanceWork(instanceId: string): void {
    this.stmts.deleteHistory.run(instanceId);
    this.stmts.deleteInbox.run(instanceId);
    this.stmts.deleteActivities.run(instanceId);
    this.deleteTimers(instanceId);
  }

  /**
   * Row ids of timers deleted since the last call, so the scheduler can forget them once the
   * transaction committed (or discard the list after a rollback).
   */
  drainDeletedTimers(): number[] {
    return this.deletedTimers.splice(0);
  }

  queryInstances(q: InstanceQuery): InstanceRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.createdTimeFrom !== undefined) {
      where.push('created_time >= ?');
      args.push(q.createdTimeFrom);
    }
    if (q.createdTimeTo !== undefined) {
      where.push('created_time <= ?');
      args.push(q.createdTimeTo);
    }
    if (q.runtimeStatus && q.runtimeStatus.length > 0) {
      where.push(`runtime_status IN (${q.runtimeStatus.map(() => '?').join(',')})`);
      args.push(...q.runtimeStatus);
    }
    if (q.instanceIdPrefix) {
      where.push('instance_id >= ? AND instance_id < ?');
      args.push(q.instanceIdPrefix, q.instanceIdPrefix + '\uffff');
    }
    let sql = 'SELECT * FROM instances';
    if (where.length > 0) sql += ' WHERE ' + where.join(' AND ');
    sql += ' ORDER BY created_time, instance_id';
    if (q.limit !== undefined) {
      sql += ' LIMIT ? OFFSET ?';
      args.push(q.limit, q.offset ?? 0);
    }
    return this.db
      .prepare<(string | number)[], RawInstance>(sql)
      .all(...args)
      .map(toInstance);
  }

  getHistory(instanceId: string): string[] {
    return this.stmts.getHistory.all(instanceId).map((r) => r.event);
  }

  appendHistory(instanceId: string, events: readonly string[]): void {
    let seq = (this.stmts.maxSeq.get(instanceId)?.m ?? -1) + 1;
    for (const e of events) this.stmts.insertHistory.run(instanceId, seq++, e);
  }

  deleteHistory(instanceId: string): void {
    this.stmts.deleteHistory.run(instanceId);
  }

  getInbox(instanceId: string): InboxRow[] {
    return this.stmts.getInbox.all(instanceId).map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      executionId: r.execution_id,
      kind: r.kind as InboxRow['kind'],
      payload: r.payload,
    }));
  }

  addInbox(instanceId: string, executionId: string | null, kind: InboxKind, payload: string): void {
    this.stmts.insertInbox.run(instanceId, executionId, kind, payload);
  }

  deleteInboxRows(ids: readonly number[]): void {
    for (const id of ids) this.stmts.deleteInboxRow.run(id);
  }

  deleteInbox(instanceId: string): void {
    this.stmts.deleteInbox.run(instanceId);
  }

  instancesWithInbox(): string[] {
    return this.stmts.inboxInstances.all().map((r) => r.instance_id);
  }

  addActivity(
    instanceId: string,
    executionId: string,
    taskId: number,
    name: string,
    input: string | null,
  ): number {
    return Number(
      this.stmts.insertActivity.run(instanceId, executionId, taskId, name, input).lastInsertRowid,
    );
  }

  /**
   * Marks a pending activity as handed to `owner` and counts the delivery; the new count, or undefined when the
   * row is gone (instance restarted, terminated or purged). Written before the activity runs, so a delivery
   * that a crash cut short is counted too.
   */
  lockActivity(id: number, owner: string): number | undefined {
    return this.stmts.lockActivity.get(owner, id)?.dequeue_count;
  }

  /** Deletes a pending activity; false when it was already gone (instance restarted, terminated or purged). */
  takeActivity(id: number): boolean {
    return this.stmts.deleteActivity.run(id).changes > 0;
  }

  deleteActivities(instanceId: string): void {
    this.stmts.deleteActivities.run(instanceId);
  }

  allActivities(): ActivityRow[] {
    return this.stmts.allActivities.all().map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      executionId: r.execution_id,
      taskId: r.task_id,
      name: r.name,
      input: r.input,
    }));
  }

  addTimer(instanceId: string, executionId: string, timerId: number, fireAt: number): number {
    return Number(
      this.stmts.insertTimer.run(instanceId, executionId, timerId, fireAt).lastInsertRowid,
    );
  }

  getTimer(id: number): TimerRow | undefined {
    return this.stmts.getTimer.get(id);
  }

  /** Deletes a pending timer; false when it was already gone. */
  takeTimer(id: number): boolean {
    return this.stmts.deleteTimer.run(id).changes > 0;
  }

  deleteTimer(instanceId: string, timerId: number): void {
    for (const r of this.stmts.deleteTimerById.all(instanceId, timerId))
      this.deletedTimers.push(r.id);
  }

  deleteTimers(instanceId: string): void {
    for (const r of this.stmts.deleteTimers.all(instanceId)) this.deletedTimers.push(r.id);
  }

  allTimers(): TimerRow[] {
    return this.stmts.allTimers.all();
  }
}
