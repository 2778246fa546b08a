/**
 * Runs durable entities as the Durable extension does for durable-functions 3: each entity processes its
 * queued messages in arrival order, one batch at a time (never two batches of one entity at once); a batch
 * is one invocation of the `entityTrigger` function with the state and the operations, and its outcome
 * (new state or deletion, consumed messages, callers' responses, signals sent, lock hand-offs) commits in
 * one transaction. A message is therefore in the store before it is acknowledged and is removed only with
 * the effect of its operation, so a crash (`kill -9`) re-runs at most the uncommitted batch.
 *
 * Locks (critical sections): a lock request travels through the sorted lock set; each entity, once free,
 * records the requesting orchestration as holder and passes the request on, and the last one answers the
 * orchestration with the grant. While locked, an entity processes only the holder's messages; everyone
 * else's stay queued, in order, until the holder releases (or finishes).
 */
import { randomUUID } from 'node:crypto';
import type { FunctionInvoker } from '../contracts';
import type { DurableEngineCore, EntityMessageSink } from '../engine/engine';
import { TERMINAL_STATUSES } from '../store/sqlite-store';
import type { EntityRow, EntityStore } from './entity-store';
import {
  parseSchedulerId,
  responseText,
  schedulerIdOf,
  type EntityMessage,
  type RequestMessage,
} from './messages';

export interface EntitySchedulerSettings {
  core: DurableEngineCore;
  store: EntityStore;
  invoker: FunctionInvoker;
  /** Entities processing a batch at the same time (`maxConcurrentEntityFunctions`). */
  maxConcurrentEntities: number;
  /** Operations per invocation (`maxEntityOperationBatchSize`). */
  maxBatchSize: number;
  log: (line: string) => void;
}

/** What the grant of a lock says (the extension's ResponseMessage for a completed lock acquisition). */
const LOCK_GRANTED = JSON.stringify('Lock Acquisition Completed');

interface Operation {
  request: RequestMessage;
}

/** What durable-functions' Entity returns for a batch (`EntityState`). */
interface BatchResult {
  entityExists: boolean;
  entityState: string | undefined;
  results: { isError: boolean; result?: string }[];
  signals: { target: { name: string; key: string }; name: string; input: string }[];
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

function asBatchResult(value: unknown): BatchResult | undefined {
  const v = rec(value);
  if (typeof v.entityExists !== 'boolean' || !Array.isArray(v.results)) return undefined;
  const results = v.results.map((r) => {
    const o = rec(r);
    return {
      isError: o.isError === true,
      ...(typeof o.result === 'string' ? { result: o.result } : {}),
    };
  });
  const signals = (Array.isArray(v.signals) ? v.signals : []).flatMap((s) => {
    const o = rec(s);
    const target = rec(o.target);
    if (typeof target.name !== 'string' || typeof target.key !== 'string') return [];
    return [
      {
        target: { name: target.name, key: target.key },
        name: typeof o.name === 'string' ? o.name : '',
        input: typeof o.input === 'string' ? o.input : '',
      },
    ];
  });
  return {
    entityExists: v.entityExists,
    entityState: typeof v.entityState === 'string' ? v.entityState : undefined,
    results,
    signals,
  };
}

function parseRequest(payload: string): RequestMessage | undefined {
  try {
    const v = rec(JSON.parse(payload));
    return typeof v.id === 'string' ? (v as unknown as RequestMessage) : undefined;
  } catch {
    return undefined;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class EntityScheduler implements EntityMessageSink {
  private readonly ready = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private started = false;
  private stopping = false;

  constructor(private readonly s: EntitySchedulerSettings) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    // Crash recovery: every entity with queued messages runs again.
    for (const id of this.s.store.queuedEntities()) this.markReady(id);
  }

  stop(): void {
    this.stopping = true;
  }

  // ------------------------------------------------------------ EntityMessageSink (inside a transaction)

  send(target: string, message: EntityMessage): void {
    this.s.store.enqueue(target, message.kind, JSON.stringify(message.request));
    this.s.core.runAfterCommit(() => this.markReady(target));
  }

  instanceFinished(instanceId: string): void {
    for (const entityId of this.s.store.entitiesLockedBy(instanceId)) {
      const row = this.s.store.get(entityId);
      if (!row) continue;
      this.s.store.put({ ...row, lockedBy: null });
      this.s.core.runAfterCommit(() => this.markReady(entityId));
    }
  }

  /** A signal from a client (HTTP API or DurableClient): queued, acknowledged once committed. */
  signal(entityId: string, op: string, inputText: string | null): void {
    this.s.core.tx(() =>
      this.send(entityId, {
        kind: 'op',
        request: { id: randomUUID(), op, signal: true, input: inputText },
      }),
    );
  }

  // ------------------------------------------------------------ dispatching

  private markReady(entityId: string): void {
    if (this.running.has(entityId)) this.dirty.add(entityId);
    else this.ready.add(entityId);
    this.pump();
  }

  private pump(): void {
    if (!this.started || this.stopping) return;
    while (this.running.size < this.s.maxConcurrentEntities && this.ready.size > 0) {
      const next = this.ready.values().next();
      if (next.done) break;
      const id = next.value;
      this.ready.delete(id);
      this.running.add(id);
      this.s.core.trackWork(
        this.runBatch(id)
          .then((more) => {
            if (more) this.dirty.add(id);
          })
          .catch((e: unknown) => {
            this.s.log(
              `[durable] entity '${id}' batch failed inside the engine: ${errorMessage(e)}`,
            );
          })
          .finally(() => {
            this.running.delete(id);
            if (this.dirty.delete(id)) this.ready.add(id);
            // Before the tracked promise settles, so `whenIdle()` sees the next batch.
            this.pump();
          }),
      );
    }
  }

  private isRunning(instanceId: string | undefined): boolean {
    if (instanceId === undefined) return false;
    const inst = this.s.core.store.getInstance(instanceId);
    return inst !== undefined && !TERMINAL_STATUSES.has(inst.runtimeStatus);
  }

  /**
   * One batch: takes the messages the entity may process now, in order, runs the operations, commits.
   * Resolves to true when more messages may be processable right away (batch full, or a release ended it).
   */
  private async runBatch(entityId: string): Promise<boolean> {
    const { store, core } = this.s;
    const id = parseSchedulerId(entityId);
    const current = store.get(entityId);
    const window = this.s.maxBatchSize + 1;
    // A locked entity serves only the holder, whose messages may sit behind many others'.
    const queue = current?.lockedBy
      ? store.queueFrom(entityId, current.lockedBy, window)
      : store.queue(entityId, window);
    if (!id || queue.length === 0) {
      if (!id && queue.length > 0) core.tx(() => store.deleteQueueRows(queue.map((m) => m.id)));
      return false;
    }
    const before: EntityRow = current ?? {
      entityId,
      name: id.name,
      key: id.key,
      state: null,
      lockedBy: null,
      lastModified: core.clock.now().getTime(),
    };
    let lockedBy = before.lockedBy;
    const consumed: number[] = [];
    const ops: Operation[] = [];
    /** Lock requests granted in this batch: passed on (or answered) after the operations before them. */
    const locks: RequestMessage[] = [];
    let more = false;
    for (const m of queue) {
      const request = parseRequest(m.payload);
      if (!request) {
        this.s.log(`[durable] dropping a corrupt message for entity '${entityId}'`);
        consumed.push(m.id);
        continue;
      }
      // A locked entity serves only the lock holder; the others' messages wait, in order.
      if (lockedBy !== null && request.parent !== lockedBy) continue;
      if (m.kind === 'op') {
        if (ops.length >= this.s.maxBatchSize) {
          more = true;
          break;
        }
        ops.push({ request });
        consumed.push(m.id);
      } else if (m.kind === 'lock') {
        consumed.push(m.id);
        // A request from an orchestration that has finished meanwhile is dropped, not granted; the
        // holder asking again (a new execution after continueAsNew) is granted again.
        if ((lockedBy === null || lockedBy === request.parent) && this.isRunning(request.parent)) {
          lockedBy = request.parent ?? null;
          locks.push(request);
        }
      } else {
        consumed.push(m.id);
        if (request.parent === lockedBy) lockedBy = null;
        // Messages skipped while locked come first now: the next batch starts over from the oldest.
        more = true;
        break;
      }
    }
    // The read window was full: there may be more to process right away.
    if (!more && queue.length === window) more = true;

    let result: BatchResult | undefined;
    let failure: string | undefined;
    if (ops.length > 0) {
      try {
        result = await this.invoke(before, ops);
        if (!result) failure = 'The entity function returned an invalid entity state';
      } catch (e) {
        failure = errorMessage(e);
      }
      if (!core.store.isOpen) return false; // not committed: runs again on the next start
    }

    const now = core.clock.now().getTime();
    core.tx(() => {
      store.deleteQueueRows(consumed);
      let state = before.state;
      if (result) state = result.entityExists ? (result.entityState ?? null) : null;
      store.put({
        ...before,
        state,
        lockedBy,
        lastModified: ops.length > 0 ? now : before.lastModified,
      });
      ops.forEach((op, i) => this.answer(op.request, result?.results[i], failure));
      for (const s of result?.signals ?? []) {
        this.send(schedulerIdOf(s.target), {
          kind: 'op',
          request: {
            id: randomUUID(),
            op: s.name,
            signal: true,
            input: s.input === '' ? null : s.input,
          },
        });
      }
      for (const lock of locks) this.passLock(lock);
    });
    if (failure !== undefined) {
      this.s.log(`[durable] entity '${entityId}': a batch of ${ops.length} failed: ${failure}`);
    }
    return more;
  }

  private async invoke(
    row: EntityRow,
    ops: readonly Operation[],
  ): Promise<BatchResult | undefined> {
    const invokeEntity = this.s.invoker.invokeEntity?.bind(this.s.invoker);
    const fn = this.s.invoker
      .functions()
      .find(
        (f) => f.triggerType.toLowerCase() === 'entitytrigger' && f.name.toLowerCase() === row.name,
      );
    if (!invokeEntity || !fn) {
      throw new Error(
        `The function '${row.name}' doesn't exist, is disabled, or is not an entity.`,
      );
    }
    const payload = {
      self: { name: row.name, key: row.key },
      exists: row.state !== null,
      ...(row.state !== null ? { state: row.state } : {}),
      batch: ops.map((o) => ({
        name: o.request.op ?? '',
        signal: o.request.signal === true,
        ...(o.request.input !== null && o.request.input !== undefined
          ? { input: o.request.input }
          : {}),
        id: o.request.id,
      })),
    };
    return asBatchResult(await invokeEntity(fn.name, payload));
  }

  /** A call's response goes to the calling orchestration as `EventRaised` named by the request id. */
  private answer(
    request: RequestMessage,
    result: BatchResult['results'][number] | undefined,
    failure: string | undefined,
  ): void {
    if (request.signal === true || request.parent === undefined) return;
    const text =
      failure !== undefined || !result
        ? responseText(JSON.stringify(failure ?? 'The operation did not run'), true)
        : responseText(result.result, result.isError);
    this.s.core.raiseEvent(request.parent, request.id, text);
  }

  /** Passes a granted lock to the next entity of the set, or answers the orchestration when it was the last. */
  private passLock(request: RequestMessage): void {
    const lockset = request.lockset ?? [];
    const next = (request.pos ?? 0) + 1;
    if (next < lockset.length) {
      this.send(lockset[next]!, { kind: 'lock', request: { ...request, pos: next } });
    } else if (request.parent !== undefined) {
      this.s.core.raiseEvent(request.parent, request.id, responseText(LOCK_GRANTED, false));
    }
  }
}
