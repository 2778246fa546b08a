import type Database from 'better-sqlite3';
import { runMigrations } from '../store/sqlite-store';
import type { EntityMessageKind } from './messages';

/**
 * Entity state and entity queues, in the engine's SQLite file and on its connection, so that an
 * orchestration episode, an entity batch or a client signal commits its entity messages in the same
 * transaction as everything else it does.
 *
 * Tables:
 * - `entities`: one row per entity that exists (has state) or is locked: state as JSON text, the
 *   orchestration holding its lock, and the time of its last operation.
 * - `entity_queue`: messages (operations, lock requests, releases) not yet processed, in arrival order.
 */

export interface EntityRow {
  /** Scheduler id, `@name@key`. */
  entityId: string;
  name: string;
  key: string;
  /** JSON text of the state; null when the entity does not exist (only locked). */
  state: string | null;
  /** Instance id of the orchestration holding the lock, or null. */
  lockedBy: string | null;
  lastModified: number;
}

export interface QueueRow {
  id: number;
  entityId: string;
  kind: EntityMessageKind;
  /** JSON text of the RequestMessage. */
  payload: string;
}

/** Migrations of the entity tables, counted separately from the engine's own (`entity_schema_version`). */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE entities (
     entity_id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     key TEXT NOT NULL,
     state TEXT,
     locked_by TEXT,
     last_modified INTEGER NOT NULL
   );
   CREATE INDEX entities_name ON entities(name, key);
   CREATE INDEX entities_locked_by ON entities(locked_by) WHERE locked_by IS NOT NULL;
   CREATE TABLE entity_queue (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     entity_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE INDEX entity_queue_entity ON entity_queue(entity_id, id);`,
];

interface RawEntity {
  entity_id: string;
  name: string;
  key: string;
  state: string | null;
  locked_by: string | null;
  last_modified: number;
}

function toEntity(r: RawEntity): EntityRow {
  return {
    entityId: r.entity_id,
    name: r.name,
    key: r.key,
    state: r.state,
    lockedBy: r.locked_by,
    lastModified: r.last_modified,
  };
}

export interface EntityQuery {
  /** Lower-cased entity name; all names when undefined. */
  name?: string;
  offset: number;
  limit: number;
}

export class EntityStore {
  private readonly stmts;

  constructor(db: Database.Database) {
    runMigrations(db, 'entity_schema_version', MIGRATIONS);
    this.stmts = {
      get: db.prepare<[string], RawEntity>('SELECT * FROM entities WHERE entity_id = ?'),
      upsert: db.prepare(
        `INSERT INTO entities (entity_id, name, key, state, locked_by, last_modified)
         VALUES (@entityId, @name, @key, @state, @lockedBy, @lastModified)
         ON CONFLICT(entity_id) DO UPDATE SET state = excluded.state, locked_by = excluded.locked_by,
           last_modified = excluded.last_modified`,
      ),
      delete: db.prepare<[string]>('DELETE FROM entities WHERE entity_id = ?'),
      lockedBy: db.prepare<[string], { entity_id: string }>(
        'SELECT entity_id FROM entities WHERE locked_by = ?',
      ),
      listByName: db.prepare<[string, number, number], RawEntity>(
        'SELECT * FROM entities WHERE name = ? AND state IS NOT NULL ORDER BY key LIMIT ? OFFSET ?',
      ),
      listAll: db.prepare<[number, number], RawEntity>(
        'SELECT * FROM entities WHERE state IS NOT NULL ORDER BY name, key LIMIT ? OFFSET ?',
      ),
      enqueue: db.prepare<[string, string, string]>(
        'INSERT INTO entity_queue (entity_id, kind, payload) VALUES (?, ?, ?)',
      ),
      queue: db.prepare<
        [string, number],
        { id: number; entity_id: string; kind: string; payload: string }
      >('SELECT * FROM entity_queue WHERE entity_id = ? ORDER BY id LIMIT ?'),
      queueFrom: db.prepare<
        [string, string, number],
        { id: number; entity_id: string; kind: string; payload: string }
      >(
        `SELECT * FROM entity_queue WHERE entity_id = ? AND json_extract(payload, '$.parent') = ?
         ORDER BY id LIMIT ?`,
      ),
      deleteQueueRow: db.prepare<[number]>('DELETE FROM entity_queue WHERE id = ?'),
      queuedEntities: db.prepare<[], { entity_id: string }>(
        'SELECT DISTINCT entity_id FROM entity_queue',
      ),
    };
  }

  get(entityId: string): EntityRow | undefined {
    const r = this.stmts.get.get(entityId);
    return r ? toEntity(r) : undefined;
  }

  /** Writes the row, or deletes it when the entity neither exists nor is locked. */
  put(row: EntityRow): void {
    if (row.state === null && row.lockedBy === null) this.stmts.delete.run(row.entityId);
    else this.stmts.upsert.run(row);
  }

  entitiesLockedBy(instanceId: string): string[] {
    return this.stmts.lockedBy.all(instanceId).map((r) => r.entity_id);
  }

  /** Existing entities (with state), by key within a name, or by name and key across all names. */
  list(q: EntityQuery): EntityRow[] {
    const rows =
      q.name === undefined
        ? this.stmts.listAll.all(q.limit, q.offset)
        : this.stmts.listByName.all(q.name, q.limit, q.offset);
    return rows.map(toEntity);
  }

  enqueue(entityId: string, kind: EntityMessageKind, payload: string): void {
    this.stmts.enqueue.run(entityId, kind, payload);
  }

  /** The oldest `limit` queued messages of an entity, in arrival order. */
  queue(entityId: string, limit: number): QueueRow[] {
    return this.stmts.queue.all(entityId, limit).map((r) => ({
      id: r.id,
      entityId: r.entity_id,
      kind: r.kind as EntityMessageKind,
      payload: r.payload,
    }));
  }

  /** The oldest `limit` queued messages of an entity sent by one orchestration (a lock holder). */
  queueFrom(entityId: string, parent: string, limit: number): QueueRow[] {
    return this.stmts.queueFrom.all(entityId, parent, limit).map((r) => ({
      id: r.id,
      entityId: r.entity_id,
      kind: r.kind as EntityMessageKind,
      payload: r.payload,
    }));
  }

  deleteQueueRows(ids: readonly number[]): void {
    for (const id of ids) this.stmts.deleteQueueRow.run(id);
  }

  queuedEntities(): string[] {
    return this.stmts.queuedEntities.all().map((r) => r.entity_id);
  }
}
