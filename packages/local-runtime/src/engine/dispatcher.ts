/**
 * Decides what runs next: instances with inbox messages (at most `maxConcurrentOrchestrators` episodes at a
 * time, never two of one instance at once) and queued activities (at most `maxConcurrentActivities`), and knows
 * when nothing is left to run (`whenIdle`). Its ready set and activity queue are caches of the store's inbox and
 * activity rows, filled after each commit; after a failed write they are rebuilt from the store (`reload`) with
 * a delay that doubles while writes keep failing, so the work runs again without a restart. The delay runs on
 * the engine's clock, so tests of a long outage take no real time.
 */
import type { Clock } from '../contracts';
import type { ActivityRow } from '../store/sqlite-store';
import { errorMessage } from './orchestrator-protocol';
import type { TimerWakeups } from './timer-wakeups';

/**
 * First and last delay before the caches are rebuilt from the store after a failed write. A retry of an
 * activity only commits the result it already has (see `engine.ts`), so a long outage costs retries of
 * writes, never of side effects; the cap bounds how long work waits once the store is back.
 */
export const RESYNC_FIRST_DELAY_MS = 10;
export const RESYNC_MAX_DELAY_MS = 5000;

export interface DispatcherSettings {
  clock: Clock;
  maxConcurrentOrchestrators: number;
  maxConcurrentActivities: number;
  runEpisode(instanceId: string): Promise<void>;
  runActivity(row: ActivityRow): Promise<void>;
  /** False once the store is closed: nothing is dispatched any more. */
  canRun(): boolean;
  /** Reads all pending work from the store into the caches (`markRunnable`, `queueActivity`, timers). */
  reload(): void;
  log(line: string): void;
}

export class Dispatcher {
  private readonly runnable = new Set<string>();
  private readonly running = new Set<string>();
  /** Instances that got a message while their episode ran: they run again after it. */
  private readonly dirty = new Set<string>();
  private readonly activityQueue: ActivityRow[] = [];
  /** Row ids of activities queued or running, so a rebuild from the store does not queue one twice. */
  private readonly knownActivities = new Set<number>();
  private activitiesRunning = 0;
  private readonly inflight = new Set<Promise<void>>();
  private readonly inflightEpisodes = new Set<Promise<void>>();
  private pumpScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private idleCheckScheduled = false;
  /** Cancels the pending rebuild; set while one is scheduled, with its due time (engine clock, epoch ms). */
  private cancelResync: (() => void) | undefined;
  private resyncAt = 0;
  private resyncDelayMs = RESYNC_FIRST_DELAY_MS;
  private started = false;
  private stopping = false;

  constructor(
    private readonly s: DispatcherSettings,
    private readonly timers: TimerWakeups,
  ) {}

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Starts dispatching what the store holds (crash recovery: everything persisted but unfinished). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.s.reload();
    this.schedulePump();
  }

  markRunnable(instanceId: string): void {
    if (this.running.has(instanceId)) this.dirty.add(instanceId);
    else this.runnable.add(instanceId);
    this.schedulePump();
  }

  queueActivity(row: ActivityRow): void {
    if (this.knownActivities.has(row.id)) return;
    this.knownActivities.add(row.id);
    this.activityQueue.push(row);
    this.schedulePump();
  }

  /** Work done outside the dispatcher's own queues (entity batches): `whenIdle()` waits for it too. */
  track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      this.schedulePump();
      this.scheduleIdleCheck();
    });
  }

  /**
   * After a failed write nothing in memory is trusted: the transaction rolled back, so the store still holds
   * the work, and a rebuild from it picks it up again.
   */
  scheduleResync(): void {
    if (this.cancelResync || this.stopping) return;
    const delay = this.resyncDelayMs;
    this.resyncDelayMs = Math.min(RESYNC_MAX_DELAY_MS, delay * 2);
    this.resyncAt = this.s.clock.now().getTime() + delay;
    this.cancelResync = this.s.clock.wakeAt(new Date(this.resyncAt), () => {
      this.cancelResync = undefined;
      if (this.stopping || !this.s.canRun()) return;
      try {
        this.s.reload();
        this.schedulePump();
      } catch (e) {
        this.s.log(`[durable] reading pending work failed: ${errorMessage(e)}`);
        this.scheduleResync();
      }
      this.scheduleIdleCheck();
    });
  }

  /** A write succeeded again: the next failure starts over with a short delay. */
  writeSucceeded(): void {
    this.resyncDelayMs = RESYNC_FIRST_DELAY_MS;
  }

  /**
   * Stops dispatching and waits for running episodes, then the rest of the work, until `deadline` (epoch ms,
   * wall clock). Episodes first: a committing episode may still queue activities.
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.cancelResync?.();
    this.cancelResync = undefined;
    await settleWithin(this.inflightEpisodes, deadline);
    await settleWithin(this.inflight, deadline);
  }

  /** Resolves once nothing is runnable: only future timers and external waits remain. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.scheduleIdleCheck();
    });
  }

  scheduleIdleCheck(): void {
    if (this.idleCheckScheduled || this.idleWaiters.length === 0) return;
    this.idleCheckScheduled = true;
    setImmediate(() => {
      this.idleCheckScheduled = false;
      if (this.isIdle()) this.resolveIdle();
      else this.timers.ensureArmed();
    });
  }

  private isIdle(): boolean {
    if (this.stopping) return true;
    if (this.runnable.size > 0 || this.running.size > 0 || this.inflight.size > 0) return false;
    if (this.activityQueue.length > 0 || this.activitiesRunning > 0) return false;
    if (this.pumpScheduled) return false;
    // A rebuild due later is like a future timer: idle until the clock reaches it.
    if (this.cancelResync && this.resyncAt <= this.s.clock.now().getTime()) return false;
    return !this.timers.hasDueWork();
  }

  /** Answers every `whenIdle()` now (the engine stopped). */
  resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopping || !this.started) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopping || !this.started || !this.s.canRun()) return;
    while (this.running.size < this.s.maxConcurrentOrchestrators && this.runnable.size > 0) {
      const next = this.runnable.values().next();
      if (next.done) break;
      this.startEpisode(next.value);
    }
    while (
      this.activitiesRunning < this.s.maxConcurrentActivities &&
      this.activityQueue.length > 0
    ) {
      this.startActivity(this.activityQueue.shift()!);
    }
    this.scheduleIdleCheck();
  }

  private startEpisode(id: string): void {
    this.runnable.delete(id);
    this.running.add(id);
    const episode = this.s
      .runEpisode(id)
      .catch((e: unknown) => {
        this.s.log(`[durable] episode of '${id}' failed inside the engine: ${errorMessage(e)}`);
        this.scheduleResync();
      })
      .finally(() => {
        this.running.delete(id);
        this.inflightEpisodes.delete(episode);
        if (this.dirty.delete(id)) this.runnable.add(id);
      });
    this.inflightEpisodes.add(episode);
    this.track(episode);
  }

  private startActivity(a: ActivityRow): void {
    this.activitiesRunning++;
    this.track(
      this.s
        .runActivity(a)
        .catch((e: unknown) => {
          this.s.log(
            `[durable] activity '${a.name}' of '${a.instanceId}' failed inside the engine: ${errorMessage(e)}`,
          );
          this.scheduleResync();
        })
        .finally(() => {
          this.activitiesRunning--;
          this.knownActivities.delete(a.id);
        }),
    );
  }
}

/** Waits until `pending` is empty (it may grow meanwhile) or the deadline (epoch ms) passes. */
async function settleWithin(pending: ReadonlySet<Promise<void>>, deadline: number): Promise<void> {
  while (pending.size > 0) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      }),
    ]);
    clearTimeout(timer);
  }
}
