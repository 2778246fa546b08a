/**
 * The engine's RPC listener builds check-status links on the host's own origin, never on the origin of
 * whichever request last asked for a client binding (a forged or other `Host` must not leak into them); and its
 * reads after a stop answer nothing instead of throwing on the closed store.
 */
import { ManualClock } from '../src/clock';
import { createDurableEngine, type DurableEngine } from '../src/engine';
import { TestInvoker } from './engine-harness';

let engine: DurableEngine;
afterEach(() => engine.stop());

it('answers RPC starts with links on the configured origin, whatever Host the last binding came from', async () => {
  const invoker = new TestInvoker().orchestration('quick', function* () {
    yield* [];
    return 1;
  });
  engine = createDurableEngine({
    invoker,
    clock: new ManualClock(),
    databasePath: ':memory:',
    taskHubName: 'TestHub',
    systemKey: 'k',
    rpcPort: 0,
    inProcessClient: false,
    publicOrigin: () => 'http://public.example:7071',
  });
  await engine.start();
  engine.clientBinding('http://forged.example');
  const response = await fetch(`${engine.rpcBaseUrl!}orchestrators/quick`, { method: 'POST' });
  expect(response.status).toBe(202);
  const body = (await response.json()) as { statusQueryGetUri: string };
  expect(body.statusQueryGetUri).toMatch(/^http:\/\/public\.example:7071\/runtime\/webhooks\//);
  expect(response.headers.get('location')).toBe(body.statusQueryGetUri);
});

it('answers an empty history once stopped, as it answers no instance (the store is closed)', async () => {
  engine = createDurableEngine({
    invoker: new TestInvoker(),
    clock: new ManualClock(),
    databasePath: ':memory:',
    taskHubName: 'TestHub',
    systemKey: 'k',
    rpcPort: false,
  });
  await engine.start();
  await engine.stop();
  expect(engine.history('any')).toEqual([]);
});
