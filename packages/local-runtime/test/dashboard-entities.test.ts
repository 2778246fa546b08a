/**
 * The dashboard API on an app with Durable entities and an orchestration that fails once
 * (fixtures/entities-app, its own file: one app per jest module registry): the entity list with its
 * name filter and paging, one entity's state, and rewind of a Failed instance. Manual clock, in-memory
 * database.
 */
import { callDashboard, type DashAnswer } from './dashboard-api';
import { startEntitiesHost, type EntitiesHost } from './entities-host';

let app: EntitiesHost;

function on(method: string, route: string, body?: unknown): Promise<DashAnswer> {
  return callDashboard(app.host.url, method, route, body);
}

function noKeyIn(text: string): void {
  for (const key of Object.values(app.host.keys)) expect(text).not.toContain(key);
}

describe('dashboard API on an app with entities (fixtures/entities-app)', () => {
  const signal = async (name: string, key: string, op: string, input: unknown): Promise<void> => {
    const response = await fetch(
      `${app.hook}/entities/${name}/${encodeURIComponent(key)}?op=${op}&${app.key}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      },
    );
    expect(response.status).toBe(202);
  };

  beforeAll(async () => {
    app = await startEntitiesHost();
    await signal('Counter', 'c1', 'add', 5);
    await signal('Counter', 'c1', 'add', 2);
    await signal('Counter', 'c/2', 'add', 1);
    await signal('Account', 'alice', 'deposit', 40);
    await app.host.whenIdle();
  });

  afterAll(() => app.stop());

  type EntityRow = { name: string; key: string; lastOperationTime: string };
  const rows = (a: DashAnswer): EntityRow[] => a.body.entities as EntityRow[];
  const ids = (a: DashAnswer): string[] => rows(a).map((e) => `${e.name}@${e.key}`);

  it('lists the entities with their last operation time, filtered by name', async () => {
    const all = await on('GET', '/entities');
    expect(all.status).toBe(200);
    expect(ids(all).sort()).toEqual(['account@alice', 'counter@c/2', 'counter@c1']);
    for (const e of rows(all)) expect(Number.isNaN(Date.parse(e.lastOperationTime))).toBe(false);
    expect(all.text).not.toContain('state');
    const counters = await on('GET', '/entities?name=Counter');
    expect(ids(counters).sort()).toEqual(['counter@c/2', 'counter@c1']);
    expect((await on('GET', '/entities?name=Nobody')).body.entities).toEqual([]);
    noKeyIn(all.text);
  });

  it('pages through the entities with the continuation token', async () => {
    const first = await on('GET', '/entities?top=2');
    expect(rows(first)).toHaveLength(2);
    const token = first.body.continuationToken as string;
    expect(token).toEqual(expect.any(String));
    const second = await on(
      'GET',
      `/entities?top=2&continuationToken=${encodeURIComponent(token)}`,
    );
    expect(rows(second)).toHaveLength(1);
    expect(second.body.continuationToken).toBeNull();
    expect([...ids(first), ...ids(second)].sort()).toEqual([
      'account@alice',
      'counter@c/2',
      'counter@c1',
    ]);
  });

  it("shows one entity's state, and 404 for one that does not exist", async () => {
    const c1 = await on('GET', '/entities/Counter/c1');
    expect(c1.body).toEqual({ name: 'Counter', key: 'c1', state: 7 });
    const slashed = await on('GET', `/entities/Counter/${encodeURIComponent('c/2')}`);
    expect(slashed.body.state).toBe(1);
    const missing = await on('GET', '/entities/Counter/nope');
    expect(missing.status).toBe(404);
    expect(missing.type).toMatch(/^application\/problem\+json/);
  });

  it('rewinds a Failed instance, which then completes', async () => {
    const started = await fetch(`${app.hook}/orchestrators/failsOnce?${app.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify('dash'),
    });
    const id = ((await started.json()) as { id: string }).id;
    await app.host.whenIdle();
    expect((await on('GET', `/instances/${id}`)).body.runtimeStatus).toBe('Failed');
    const rewound = await on('POST', `/instances/${id}/rewind`, { reason: 'dependency is back' });
    expect(rewound.status).toBe(200);
    await app.host.whenIdle();
    const after = await on('GET', `/instances/${id}`);
    expect(after.body).toMatchObject({
      runtimeStatus: 'Completed',
      output: ['prepared dash (1)', 'done dash'],
    });
    expect((await on('POST', `/instances/${id}/rewind`, {})).status).toBe(410);
  });
});
