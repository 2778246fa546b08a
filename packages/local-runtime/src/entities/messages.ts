/**
 * The messages orchestrations and clients send to durable entities, in the extension's wire shape (the
 * `Input` of an `EventSent` history event is one of these as JSON text; durable-functions reads its `id`).
 *
 * An entity is addressed by its scheduler id `@<name lower-cased>@<key>`, as durable-functions' `EntityId`
 * and the extension's `EntityId` both spell it.
 */

export interface EntityId {
  /** Lower-cased, as the extension's `EntityId` normalises it. */
  name: string;
  key: string;
}

/** An operation request (call or signal) or a lock request, as the extension serialises `RequestMessage`. */
export interface RequestMessage {
  /** The request id: a callEntity's response and a lock grant arrive as `EventRaised` named by it. */
  id: string;
  /** Operation name (absent on lock requests). */
  op?: string;
  /** True for fire-and-forget signals: no response is sent. */
  signal?: boolean;
  /** JSON text of the operation input, or null. */
  input?: string | null;
  /** The orchestration instance that sent it (absent for signals from a client). */
  parent?: string;
  /** Lock requests: the scheduler ids to lock, in canonical (sorted) order. */
  lockset?: string[];
  /** Lock requests: the index in `lockset` of the entity this message is addressed to. */
  pos?: number;
}

/** What travels through an entity's queue: an operation, a lock request or a lock release. */
export type EntityMessageKind = 'op' | 'lock' | 'release';

export interface EntityMessage {
  kind: EntityMessageKind;
  request: RequestMessage;
}

/** The `EventSent` name the extension uses: `op` for operations and lock requests, `release` for releases. */
export function eventNameOf(kind: EntityMessageKind): string {
  return kind === 'release' ? 'release' : 'op';
}

export function schedulerIdOf(id: EntityId): string {
  return `@${id.name.toLowerCase()}@${id.key}`;
}

/** `@name@key` → the entity id, or undefined when the text is not a scheduler id. */
export function parseSchedulerId(schedulerId: string): EntityId | undefined {
  if (!schedulerId.startsWith('@')) return undefined;
  const at = schedulerId.indexOf('@', 1);
  if (at <= 1) return undefined;
  return { name: schedulerId.slice(1, at), key: schedulerId.slice(at + 1) };
}

/** The `Input` of the `EventRaised` that answers a callEntity, which durable-functions parses as `ResponseMessage`. */
export function responseText(result: string | null | undefined, isError: boolean): string {
  return JSON.stringify({
    result: result ?? null,
    ...(isError ? { exceptionType: 'System.Exception' } : {}),
  });
}
