/**
 * Durable entities end to end through the host: the official counter sample, signals and calls from
 * orchestrations and from the durable client, operation order per entity, a critical section over two
 * entities under concurrent transfers, destructOnExit, and the entity HTTP API with paging. Manual clock,
 * in-memory database.
 */
import { useEntitiesHost, type EntitiesHost } from './entities-host';

const app = useEntitiesHost();

async function start(name: string, input?: unknown): Promise<string> {
  const response = await fetch(`${app.hook}/orchestrators/${name}?${app.key}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: input === undefined ? undefined : JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

const status = (id: string): ReturnType<EntitiesHost['status']> => app.status(id);

async function run(name: string, input?: unknown): ReturnType<EntitiesHost['status']> {
  const id = await start(name, input);
  await app.host.whenIdle();
  return status(id);
}

async function signal(
  name: string,
  entityKey: string,
  op: string,
  input?: unknown,
): Promise<number> {
  const response = await fetch(`${app.hook}/entities/${name}/${entityKey}?op=${op}&${app.key}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: input === undefined ? undefined : JSON.stringify(input),
  });
  return response.status;
}

async function readState(
  name: string,
  entityKey: string,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${app.hook}/entities/${name}/${entityKey}?${app.key}`);
  const text = await response.text();
  return { status: response.status, body: response.status === 200 ? JSON.parse(text) : text };
}

it('runs the official counterOrchestration: callEntity reads and adds', async () => {
  const first = await run('counterOrchestration', 'sample');
  expect(first).toMatchObject({ runtimeStatus: 'Completed', output: 0 });
  const second = await run('counterOrchestration', 'sample');
  expect(second).toMatchObject({ runtimeStatus: 'Completed', output: 1 });
  expect(await readState('Counter', 'sample')).toEqual({ status: 200, body: 2 });
});

it('delivers signals before a later call from the same orchestration (order per entity)', async () => {
  const result = await run('signalThenCall', 'ordered');
  expect(result).toMatchObject({ runtimeStatus: 'Completed', output: 7 });
});

it('surfaces an operation that throws as an error the orchestration can catch', async () => {
  const result = await run('callFailingOperation');
  expect(result.runtimeStatus).toBe('Completed');
  expect(String(result.output)).toMatch(/^caught: /);
});

/** Runs `count` calls over `width` concurrent connections (more would overflow the listen backlog). */
async function concurrently<T>(count: number, width: number, call: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < count) {
      started++;
      results.push(await call());
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results;
}

it('ends at exactly 1,000 after 1,000 concurrent signals', async () => {
  const statuses = await concurrently(1000, 50, () => signal('Counter', 'concurrent', 'add', 1));
  expect(statuses).toHaveLength(1000);
  expect(statuses.every((s) => s === 202)).toBe(true);
  await app.host.whenIdle();
  expect(await readState('counter', 'concurrent')).toEqual({ status: 200, body: 1000 });
});

it('signals and reads through the durable client (signalEntity, readEntityState)', async () => {
  const missing = await fetch(`${app.host.url}/api/counter/viaClient`);
  expect(await missing.json()).toEqual({ exists: false, state: null });
  expect(
    (await fetch(`${app.host.url}/api/counter/viaClient/add`, { method: 'POST', body: '3' }))
      .status,
  ).toBe(202);
  expect(
    (await fetch(`${app.host.url}/api/counter/viaClient/add`, { method: 'POST', body: '4' }))
      .status,
  ).toBe(202);
  await app.host.whenIdle();
  const read = await fetch(`${app.host.url}/api/counter/viaClient`);
  expect(await read.json()).toEqual({ exists: true, state: 7 });
});

it('deletes the entity on destructOnExit', async () => {
  expect(await signal('Counter', 'doomed', 'add', 9)).toBe(202);
  await app.host.whenIdle();
  expect(await readState('Counter', 'doomed')).toEqual({ status: 200, body: 9 });
  expect(await signal('Counter', 'doomed', 'delete')).toBe(202);
  await app.host.whenIdle();
  expect((await readState('Counter', 'doomed')).status).toBe(404);
});

it('deletes the entity on DELETE entities/{name}/{key} (the extension signals `delete`, 202)', async () => {
  expect(await signal('Counter', 'deleted-by-http', 'add', 4)).toBe(202);
  await app.host.whenIdle();
  const response = await fetch(`${app.hook}/entities/Counter/deleted-by-http?${app.key}`, {
    method: 'DELETE',
  });
  expect(response.status).toBe(202);
  await app.host.whenIdle();
  expect((await readState('Counter', 'deleted-by-http')).status).toBe(404);
});

it('keeps the sum of two accounts constant under concurrent transfers in critical sections', async () => {
  expect(await signal('Account', 'alice', 'deposit', 100)).toBe(202);
  expect(await signal('Account', 'bob', 'deposit', 100)).toBe(202);
  await app.host.whenIdle();
  const ids = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      start(
        'transfer',
        i % 2 === 0
          ? { from: 'alice', to: 'bob', amount: 7 }
          : { from: 'bob', to: 'alice', amount: 5 },
      ),
    ),
  );
  // Unlocked deposits race with the transfers; they wait while an account is locked.
  const deposits = await Promise.all(
    Array.from({ length: 10 }, () => signal('Account', 'alice', 'deposit', 1)),
  );
  expect(deposits.every((s) => s === 202)).toBe(true);
  await app.host.whenIdle();
  const results = await Promise.all(ids.map(status));
  expect(results.every((r) => r.runtimeStatus === 'Completed')).toBe(true);
  const moved = results.filter((r) => r.output === true).length;
  expect(moved).toBeGreaterThan(0);
  const alice = (await readState('Account', 'alice')).body as number;
  const bob = (await readState('Account', 'bob')).body as number;
  expect(alice + bob).toBe(210);
  // Every transfer either moved its amount or refused because the balance was short.
  const expectedAlice =
    110 +
    results.reduce((sum, r, i) => (r.output === true ? sum + (i % 2 === 0 ? -7 : 5) : sum), 0);
  expect(alice).toBe(expectedAlice);
});

it("queues other callers' operations while an orchestration holds the lock", async () => {
  const id = await start('holdCounter', 'held');
  await app.host.whenIdle();
  expect(await readState('Counter', 'held')).toEqual({ status: 200, body: 100 });
  for (let i = 0; i < 3; i++) expect(await signal('Counter', 'held', 'add', 1)).toBe(202);
  await app.host.whenIdle();
  // Locked: the signals are stored but wait for the holder.
  expect(await readState('Counter', 'held')).toEqual({ status: 200, body: 100 });
  const raised = await fetch(`${app.hook}/instances/${id}/raiseEvent/letGo?${app.key}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: 'null',
  });
  expect(raised.status).toBe(202);
  await app.host.whenIdle();
  // The holder read its own value before releasing; the queued signals ran after the release.
  expect(await status(id)).toMatchObject({ runtimeStatus: 'Completed', output: 100 });
  expect(await readState('Counter', 'held')).toEqual({ status: 200, body: 103 });
});

it('lists entities of a name with their state, page by page', async () => {
  for (let i = 0; i < 5; i++) expect(await signal('Counter', `page-${i}`, 'add', i + 1)).toBe(202);
  await app.host.whenIdle();
  const seen: { entityId: { name: string; key: string }; state?: unknown }[] = [];
  let token: string | null = null;
  let pages = 0;
  do {
    const response: Response = await fetch(
      `${app.hook}/entities/Counter?fetchState=true&top=3&${app.key}`,
      {
        headers: token ? { 'x-ms-continuation-token': token } : {},
      },
    );
    expect(response.status).toBe(200);
    seen.push(...((await response.json()) as typeof seen));
    token = response.headers.get('x-ms-continuation-token');
    pages++;
  } while (token);
  expect(pages).toBeGreaterThan(1);
  const pageEntries = seen.filter((e) => e.entityId.key.startsWith('page-'));
  expect(pageEntries).toEqual(
    [1, 2, 3, 4, 5].map((n): unknown =>
      expect.objectContaining({ entityId: { name: 'counter', key: `page-${n - 1}` }, state: n }),
    ),
  );
  expect(new Set(seen.map((e) => e.entityId.key)).size).toBe(seen.length);
  const withoutState = await fetch(`${app.hook}/entities/counter?top=1&${app.key}`);
  const [one] = (await withoutState.json()) as { state?: unknown }[];
  expect(one).not.toHaveProperty('state');
});

it('answers bad entity requests with problem details and unknown entities with 404', async () => {
  const noKey = await fetch(`${app.hook}/entities/Counter/x?op=add`, { method: 'POST' });
  expect(noKey.status).toBe(401);
  const badJson = await fetch(`${app.hook}/entities/Counter/x?op=add&${app.key}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{nope',
  });
  expect(badJson.status).toBe(400);
  expect(badJson.headers.get('content-type')).toMatch(/application\/problem\+json/);
  const badToken = await fetch(`${app.hook}/entities/Counter?${app.key}`, {
    headers: { 'x-ms-continuation-token': 'not-a-token' },
  });
  expect(badToken.status).toBe(400);
  expect((await readState('Counter', 'never-signalled')).status).toBe(404);
  const atInName = await fetch(`${app.hook}/entities/Coun%40ter/x?op=add&${app.key}`, {
    method: 'POST',
  });
  expect(atInName.status).toBe(400);
});
