/**
 * The dispatcher with stand-in episodes and activities: concurrency limits, one episode per instance at a time,
 * a message during an episode runs the instance again after it, idle detection, and the rebuild from the store
 * after a failure.
 */
import { ManualClock } from '../src/clock';
import {
  RESYNC_FIRST_DELAY_MS,
  Dispatcher,
  type DispatcherSettings,
} from '../src/engine/dispatcher';
import { TimerWakeups } from '../src/engine/timer-wakeups';
import type { ActivityRow } from '../src/store/sqlite-store';

interface Gate {
  promise: Promise<void>;
  open: () => void;
}
function gate(): Gate {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function activity(id: number): ActivityRow {
  return { id, instanceId: `i${id}`, executionId: 'e', taskId: 0, name: 'work', input: null };
}

describe('Dispatcher', () => {
  let running: string[];
  let maxRunning: number;
  let episodes: string[];
  let gates: Map<string, Gate>;
  let dispatcher: Dispatcher;
  let reloads: number;

  let clock: ManualClock;

  function create(overrides: Partial<DispatcherSettings> = {}): Dispatcher {
    clock = new ManualClock();
    const timers = new TimerWakeups({
      clock,
      canFire: () => true,
      fire: () => undefined,
    });
    dispatcher = new Dispatcher(
      {
        clock,
        maxConcurrentOrchestrators: 2,
        maxConcurrentActivities: 1,
        runEpisode: async (id) => {
          episodes.push(id);
          running.push(id);
          maxRunning = Math.max(maxRunning, running.length);
          const g = gate();
          gates.set(id, g);
          await g.promise;
          running.splice(running.indexOf(id), 1);
        },
        runActivity: () => Promise.resolve(),
        canRun: () => true,
        reload: () => {
          reloads++;
        },
        log: () => undefined,
        ...overrides,
      },
      timers,
    );
    return dispatcher;
  }

  beforeEach(() => {
    running = [];
    maxRunning = 0;
    episodes = [];
    gates = new Map();
    reloads = 0;
  });

  afterEach(async () => {
    for (const g of gates.values()) g.open();
    await dispatcher.stop(Date.now()); // no grace: a test may leave work hanging on purpose
  });

  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('runs at most the limit of episodes at once, and the rest as slots free up', async () => {
    create().start();
    expect(reloads).toBe(1);
    for (const id of ['a', 'b', 'c']) dispatcher.markRunnable(id);
    await turn();
    expect(running.sort()).toEqual(['a', 'b']);
    gates.get('a')!.open();
    await turn();
    await turn();
    expect(running.sort()).toEqual(['b', 'c']);
    expect(maxRunning).toBe(2);
  });

  it('never runs two episodes of one instance at once, and runs it again after a message during its episode', async () => {
    create().start();
    dispatcher.markRunnable('a');
    await turn();
    dispatcher.markRunnable('a');
    await turn();
    expect(episodes).toEqual(['a']);
    gates.get('a')!.open();
    for (let i = 0; i < 10 && episodes.length < 2; i++) await turn();
    expect(episodes).toEqual(['a', 'a']);
    expect(maxRunning).toBe(1);
  });

  it('is idle only when nothing is runnable, running or queued', async () => {
    create().start();
    let idle = false;
    dispatcher.markRunnable('a');
    dispatcher.queueActivity(activity(1));
    void dispatcher.whenIdle().then(() => {
      idle = true;
    });
    await turn();
    await turn();
    expect(idle).toBe(false);
    gates.get('a')!.open();
    await dispatcher.whenIdle();
    expect(running).toEqual([]);
  });

  it('queues an activity row once however often the store is read', async () => {
    const runs: number[] = [];
    create({
      runActivity: (row) => {
        runs.push(row.id);
        return new Promise<void>(() => undefined); // still running while the row is queued again
      },
    }).start();
    dispatcher.queueActivity(activity(1));
    await turn();
    dispatcher.queueActivity(activity(1));
    dispatcher.queueActivity(activity(2));
    await turn();
    expect(runs).toEqual([1]);
  });

  it('rebuilds from the store after an episode failed inside the engine, once the back-off passed on its clock', async () => {
    let fail = true;
    create({
      runEpisode: (id) => {
        episodes.push(id);
        if (fail) {
          fail = false;
          return Promise.reject(new Error('commit failed'));
        }
        return Promise.resolve();
      },
      reload: () => {
        reloads++;
        if (reloads > 1) dispatcher.markRunnable('a'); // the store still holds the message
      },
    }).start();
    dispatcher.markRunnable('a');
    // The rebuild is due on the engine's clock: until it moves, that is future work, like a timer.
    await dispatcher.whenIdle();
    expect(reloads).toBe(1);
    expect(episodes).toEqual(['a']);
    clock.advance(RESYNC_FIRST_DELAY_MS);
    await dispatcher.whenIdle();
    expect(reloads).toBe(2);
    expect(episodes).toEqual(['a', 'a']);
  });
});
