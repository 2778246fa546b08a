/**
 * Rewind of Failed instances, as the extension does it: completed activities keep their results (they do
 * not run again), the failed activity runs again under the same task id, a failed sub-orchestration is
 * rewound with its parent, and Completed instances answer 410. Manual clock, in-memory database.
 */
import { EventType } from '../src/engine/history';
import { executions } from './fixtures/entities-app/index';
import { useEntitiesHost, type EntitiesHost } from './entities-host';

const app = useEntitiesHost();

async function start(name: string, input: unknown): Promise<string> {
  const response = await fetch(`${app.hook}/orchestrators/${name}?${app.key}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  const id = ((await response.json()) as { id: string }).id;
  await app.host.whenIdle();
  return id;
}

const status = (id: string): ReturnType<EntitiesHost['status']> => app.status(id);

function rewind(id: string): Promise<Response> {
  return fetch(`${app.hook}/instances/${id}/rewind?reason=dependency%20is%20back&${app.key}`, {
    method: 'POST',
  });
}

it('retries the failed activity and keeps the completed one', async () => {
  const id = await start('failsOnce', 'first');
  expect((await status(id)).runtimeStatus).toBe('Failed');
  expect(executions.get('prepare:first')).toBe(1);
  expect(executions.get('flaky:first')).toBe(1);

  const response = await rewind(id);
  expect(response.status).toBe(202);
  await app.host.whenIdle();

  expect(await status(id)).toEqual(
    expect.objectContaining({
      runtimeStatus: 'Completed',
      output: ['prepared first (1)', 'done first'],
    }),
  );
  expect(executions.get('prepare:first')).toBe(1);
  expect(executions.get('flaky:first')).toBe(2);
  const history = app.host.engine?.history?.(id) ?? [];
  expect(history.some((e) => e.EventType === EventType.TaskFailed)).toBe(false);
  expect(history.some((e) => e.EventType === EventType.GenericEvent)).toBe(true);
  // The retried activity kept its task id: scheduled once more under the id it failed with.
  const scheduled = history.filter((e) => e.EventType === EventType.TaskScheduled);
  expect(scheduled.map((e) => e.EventId)).toEqual([0, 1]);
});

it('rewinds a failed sub-orchestration together with its parent', async () => {
  const id = await start('parentOfFailsOnce', 'nested');
  expect((await status(id)).runtimeStatus).toBe('Failed');
  expect((await rewind(id)).status).toBe(202);
  await app.host.whenIdle();
  expect(await status(id)).toEqual(
    expect.objectContaining({
      runtimeStatus: 'Completed',
      output: {
        prepared: 'prepared parent nested (1)',
        child: ['prepared nested (1)', 'done nested'],
      },
    }),
  );
  expect(executions.get('prepare:parent nested')).toBe(1);
  expect(executions.get('prepare:nested')).toBe(1);
  expect(executions.get('flaky:nested')).toBe(2);
});

it('rewinds through the durable client', async () => {
  const id = await start('failsOnce', 'client');
  expect((await status(id)).runtimeStatus).toBe('Failed');
  const response = await fetch(`${app.host.url}/api/rewind/${id}`, { method: 'POST' });
  expect(response.status).toBe(202);
  await app.host.whenIdle();
  expect((await status(id)).runtimeStatus).toBe('Completed');
  expect(executions.get('flaky:client')).toBe(2);
});

it('answers 410 for a Completed instance (as the extension 2.13/3.x does) and 404 for an unknown one', async () => {
  const id = await start('failsOnce', 'twice');
  expect((await rewind(id)).status).toBe(202);
  await app.host.whenIdle();
  expect((await status(id)).runtimeStatus).toBe('Completed');
  const again = await rewind(id);
  expect(again.status).toBe(410);
  expect(again.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect((await rewind('no-such-instance')).status).toBe(404);
  // durable-functions' client rejects on 410 (the fixture answers 409 with the error).
  const viaClient = await fetch(`${app.host.url}/api/rewind/${id}`, { method: 'POST' });
  expect(viaClient.status).toBe(409);
});
