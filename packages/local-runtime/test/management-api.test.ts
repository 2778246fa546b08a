import { createHarness, ORIGIN, SYSTEM_KEY, TestInvoker, type Harness } from './engine-harness';

const BASE = '/runtime/webhooks/durabletask';

function invoker(): TestInvoker {
  return new TestInvoker()
    .activity('echo', (x) => x)
    .orchestration('quick', function* (ctx) {
      return yield ctx.df.callActivity('echo', ctx.df.getInput());
    })
    .orchestration('waiter', function* (ctx) {
      return yield ctx.df.waitForExternalEvent('go');
    })
    .orchestration('failing', function* () {
      yield* [];
      throw new Error('nope');
    });
}

describe('management API (/runtime/webhooks/durabletask)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness(invoker());
  });
  afterEach(async () => {
    await h.close();
  });

  it('requires the system key (code or x-functions-key) and answers problem+json otherwise', async () => {
    const noKey = await h.api('GET', `${BASE}/instances`, { key: null });
    expect(noKey.status).toBe(401);
    expect(noKey.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(noKey.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect((await h.api('GET', `${BASE}/instances`, { key: 'wrong' })).status).toBe(401);
    const viaHeader = await h.api('GET', `${BASE}/instances`, {
      key: null,
      headers: { 'x-functions-key': SYSTEM_KEY },
    });
    expect(viaHeader.status).toBe(200);
  });

  it('answers 404 for unknown routes and methods', async () => {
    expect((await h.api('GET', `${BASE}/nothing/here`)).status).toBe(404);
    expect((await h.api('PUT', `${BASE}/instances/x`)).status).toBe(404);
    expect((await h.api('GET', `${BASE}/orchestrators/quick`)).status).toBe(404);
  });

  it('starts an instance: 202 with the check-status payload, Location and Retry-After', async () => {
    const res = await h.api('POST', `${BASE}/orchestrators/quick/my-id`, { body: { a: 1 } });
    expect(res.status).toBe(202);
    const body = res.body as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(
      [
        'id',
        'purgeHistoryDeleteUri',
        'restartPostUri',
        'resumePostUri',
        'sendEventPostUri',
        'statusQueryGetUri',
        'suspendPostUri',
        'terminatePostUri',
      ].sort(),
    );
    expect(body.id).toBe('my-id');
    const q = `taskHub=TestHub&connection=Storage&code=${SYSTEM_KEY}`;
    expect(body.statusQueryGetUri).toBe(`${ORIGIN}${BASE}/instances/my-id?${q}`);
    expect(body.sendEventPostUri).toBe(
      `${ORIGIN}${BASE}/instances/my-id/raiseEvent/{eventName}?${q}`,
    );
    expect(body.terminatePostUri).toBe(
      `${ORIGIN}${BASE}/instances/my-id/terminate?reason={text}&${q}`,
    );
    expect(body.restartPostUri).toBe(`${ORIGIN}${BASE}/instances/my-id/restart?${q}`);
    expect(res.headers.location).toBe(body.statusQueryGetUri);
    expect(res.headers['retry-after']).toBe('10');
    const generated = await h.api('POST', `${BASE}/orchestrators/quick`);
    expect((generated.body as { id: string }).id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('validates starts: unknown function, bad JSON, bad instance ids', async () => {
    const unknown = await h.api('POST', `${BASE}/orchestrators/nope`);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({
      status: 400,
      Message: 'One or more of the arguments submitted is incorrect',
    });
    expect(
      (await h.api('POST', `${BASE}/orchestrators/quick`, { rawBody: '{not json' })).status,
    ).toBe(400);
    expect((await h.api('POST', `${BASE}/orchestrators/quick/%40entity`)).status).toBe(400);
    expect((await h.api('POST', `${BASE}/orchestrators/quick/a%5Cb`)).status).toBe(400);
    expect((await h.api('POST', `${BASE}/orchestrators/quick/${'x'.repeat(257)}`)).status).toBe(
      400,
    );
  });

  it('reports status: 202 while running (Location, Retry-After 5), 200 when done, 404 unknown', async () => {
    await h.start('waiter', { secret: false }, 'w1');
    await h.idle();
    const running = await h.api('GET', `${BASE}/instances/w1`);
    expect(running.status).toBe(202);
    expect(running.headers['retry-after']).toBe('5');
    expect(running.headers.location).toBe(`${ORIGIN}${BASE}/instances/w1?code=${SYSTEM_KEY}`);
    expect(running.body).toEqual({
      name: 'waiter',
      instanceId: 'w1',
      runtimeStatus: 'Running',
      input: { secret: false },
      customStatus: null,
      output: null,
      createdTime: '2030-01-01T00:00:00Z',
      lastUpdatedTime: '2030-01-01T00:00:00Z',
    });
    const noInput = await h.api('GET', `${BASE}/instances/w1?showInput=false`);
    expect((noInput.body as Record<string, unknown>).input).toBeNull();
    await h.raise('w1', 'go', 'x');
    await h.idle();
    const done = await h.api('GET', `${BASE}/instances/w1?showHistory=true&showHistoryOutput=true`);
    expect(done.status).toBe(200);
    const events = (done.body as { historyEvents: Record<string, unknown>[] }).historyEvents;
    expect(events.map((e) => e.EventType)).toEqual([
      'ExecutionStarted',
      'EventRaised',
      'ExecutionCompleted',
    ]);
    expect(events[2]).toMatchObject({ OrchestrationStatus: 'Completed', Result: 'x' });
    expect((await h.api('GET', `${BASE}/instances/unknown`)).status).toBe(404);
  });

  it('answers 500 for a failed instance only with returnInternalServerErrorOnFailure=true', async () => {
    await h.start('failing', undefined, 'f1');
    await h.idle();
    const plain = await h.api('GET', `${BASE}/instances/f1`);
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ runtimeStatus: 'Failed' });
    expect(
      (await h.api('GET', `${BASE}/instances/f1?returnInternalServerErrorOnFailure=TRUE`)).status,
    ).toBe(500);
  });

  it('lists instances with filters and x-ms-continuation-token paging', async () => {
    for (let i = 0; i < 5; i++) {
      await h.start('waiter', i, `list-${i}`);
      h.clock.advance(1000);
    }
    await h.start('quick', 'q', 'other-1');
    await h.idle();
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await h.api('GET', `${BASE}/instances?top=2&instanceIdPrefix=list-`, {
        headers: token ? { 'x-ms-continuation-token': token } : {},
      });
      expect(res.status).toBe(200);
      seen.push(...(res.body as { instanceId: string }[]).map((s) => s.instanceId));
      token = res.headers['x-ms-continuation-token'];
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(['list-0', 'list-1', 'list-2', 'list-3', 'list-4']);
    const completed = await h.api('GET', `${BASE}/instances?runtimeStatus=Completed,Failed`);
    expect((completed.body as { instanceId: string }[]).map((s) => s.instanceId)).toEqual([
      'other-1',
    ]);
    const from = encodeURIComponent('2030-01-01T00:00:02Z');
    const to = encodeURIComponent('2030-01-01T00:00:03Z');
    const byTime = await h.api(
      'GET',
      `${BASE}/instances?createdTimeFrom=${from}&createdTimeTo=${to}&showInput=false`,
    );
    expect(byTime.body).toEqual([
      expect.objectContaining({ instanceId: 'list-2', input: null }),
      expect.objectContaining({ instanceId: 'list-3', input: null }),
    ]);
    expect(
      (await h.api('GET', `${BASE}/instances`, { headers: { 'x-ms-continuation-token': '%%%' } }))
        .status,
    ).toBe(400);
    expect((await h.api('GET', `${BASE}/instances?createdTimeFrom=yesterday`)).status).toBe(400);
  });

  it('raiseEvent requires application/json and valid JSON', async () => {
    await h.start('waiter', undefined, 'w2');
    await h.idle();
    const wrongType = await h.api('POST', `${BASE}/instances/w2/raiseEvent/go`, {
      rawBody: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({
      Message: 'Only application/json request content is supported',
    });
    expect(
      (await h.api('POST', `${BASE}/instances/w2/raiseEvent/go`, { rawBody: '{' })).status,
    ).toBe(400);
    expect(
      (await h.api('POST', `${BASE}/instances/w2/raiseEvent/go`, { body: { ok: true } })).status,
    ).toBe(202);
    await h.idle();
    expect(await h.status('w2')).toMatchObject({
      runtimeStatus: 'Completed',
      output: { ok: true },
    });
  });

  it('does not purge unfinished instances: 200 with 0 deleted for one (it exists), skipped by a filter', async () => {
    await h.start('waiter', undefined, 'p-running');
    await h.start('waiter', undefined, 'p-suspended');
    await h.start('quick', 'x', 'p-done');
    await h.idle();
    expect((await h.api('POST', `${BASE}/instances/p-suspended/suspend`)).status).toBe(202);
    await h.idle();
    expect(await h.status('p-suspended')).toMatchObject({ runtimeStatus: 'Suspended' });
    for (const id of ['p-running', 'p-suspended']) {
      // The extension answers 404 only when GetStatusAsync finds nothing, then purges what it can.
      const res = await h.api('DELETE', `${BASE}/instances/${id}`);
      expect(res).toMatchObject({ status: 200, body: { instancesDeleted: 0 } });
      expect((await h.api('GET', `${BASE}/instances/${id}`)).status).toBe(202);
    }
    const from = encodeURIComponent('2029-01-01T00:00:00Z');
    const all = await h.api('DELETE', `${BASE}/instances?createdTimeFrom=${from}`);
    expect(all).toMatchObject({ status: 200, body: { instancesDeleted: 1 } });
    expect((await h.api('GET', `${BASE}/instances/p-done`)).status).toBe(404);
    const onlyRunning = await h.api(
      'DELETE',
      `${BASE}/instances?createdTimeFrom=${from}&runtimeStatus=Running,Suspended`,
    );
    expect(onlyRunning.status).toBe(404);
    // The running one still works to the end.
    expect(
      (await h.api('POST', `${BASE}/instances/p-running/raiseEvent/go`, { body: 1 })).status,
    ).toBe(202);
    await h.idle();
    expect(await h.status('p-running')).toMatchObject({ runtimeStatus: 'Completed', output: 1 });
  });

  it('answers 400 for a page size or continuation offset beyond any integer SQLite binds', async () => {
    for (const top of ['1e20', '9007199254740993', '2147483648']) {
      const res = await h.api('GET', `${BASE}/instances?top=${top}`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const token = Buffer.from('{"o":1e20}').toString('base64');
    const res = await h.api('GET', `${BASE}/instances`, {
      headers: { 'x-ms-continuation-token': token },
    });
    expect(res.status).toBe(400);
    expect((await h.api('GET', `${BASE}/instances?top=2147483647`)).status).toBe(200);
  });

  it('purge by filter requires createdTimeFrom', async () => {
    const res = await h.api('DELETE', `${BASE}/instances`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      detail: "Please provide value for 'createdTimeFrom' parameter.",
    });
  });

  it('answers 404 for a task hub this runtime does not serve (taskHub= is case-insensitive)', async () => {
    await h.start('waiter', undefined, 'hub-1');
    await h.idle();
    const other = await h.api('GET', `${BASE}/instances/hub-1?taskHub=OtherHub`);
    expect(other.status).toBe(404);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await h.api('POST', `${BASE}/instances/hub-1/terminate?taskHub=OtherHub`)).status).toBe(
      404,
    );
    expect((await h.api('GET', `${BASE}/instances/hub-1?taskHub=testhub`)).status).toBe(202);
    expect(await h.status('hub-1')).toMatchObject({ runtimeStatus: 'Running' });
  });

  it('answers a second suspend and a resume of a running instance as the extension does (500, its message)', async () => {
    await h.start('waiter', undefined, 's-1');
    await h.idle();
    /** `operation` is refused as the extension refuses it: 500 with the instance's state in its message. */
    const expectRefused = async (operation: 'resume' | 'suspend', state: string): Promise<void> => {
      const refused = await h.api('POST', `${BASE}/instances/s-1/${operation}`);
      expect(refused.status).toBe(500);
      expect(refused.body).toMatchObject({
        ExceptionMessage: `Cannot ${operation} the orchestration instance s-1 because instance is in the ${state} state.`,
      });
    };
    await expectRefused('resume', 'Running');
    expect((await h.api('POST', `${BASE}/instances/s-1/suspend`)).status).toBe(202);
    await h.idle();
    await expectRefused('suspend', 'Suspended');
    expect(await h.status('s-1')).toMatchObject({ runtimeStatus: 'Suspended' });
  });

  it('rewind answers 202 for a Failed instance (404 for unknown ids); unknown entities answer 404', async () => {
    await h.start('failing', undefined, 'f2');
    await h.idle();
    expect((await h.api('POST', `${BASE}/instances/f2/rewind?reason=again`)).status).toBe(202);
    expect((await h.api('POST', `${BASE}/instances/none/rewind`)).status).toBe(404);
    expect((await h.api('GET', `${BASE}/entities/counter/k`)).status).toBe(404);
  });

  it('restarts with a new id by default, or under the same id', async () => {
    expect((await h.api('POST', `${BASE}/instances/none/restart`)).status).toBe(400);
    await h.start('quick', 'again', 'r1');
    await h.idle();
    const res = await h.api('POST', `${BASE}/instances/r1/restart`);
    expect(res.status).toBe(202);
    const newId = (res.body as { id: string }).id;
    expect(newId).not.toBe('r1');
    await h.idle();
    expect(await h.status(newId)).toMatchObject({
      name: 'quick',
      runtimeStatus: 'Completed',
      input: 'again',
      output: 'again',
    });
    const same = await h.api('POST', `${BASE}/instances/r1/restart?restartWithNewInstanceId=false`);
    expect((same.body as { id: string }).id).toBe('r1');
    await h.idle();
    expect(await h.status('r1')).toMatchObject({ runtimeStatus: 'Completed', output: 'again' });
  });

  it('create-and-wait: 200 with the output when done in time, 202 when the (wall-clock) timeout passes', async () => {
    const done = await h.api('POST', `${BASE}/orchestrators/quick?timeout=5&pollingInterval=1`, {
      body: [1, 2],
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual([1, 2]);
    // The engine's manual clock stands still: only the wall clock ends the wait (after 50 ms).
    const res = await h.api(
      'POST',
      `${BASE}/orchestrators/waiter/slow?timeout=0.05&pollingInterval=1`,
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: 'slow' });
  });

  it('builds the durableClient binding the JS client expects', () => {
    const binding = h.engine.clientBinding('http://example.test:8080');
    expect(binding).toMatchObject({
      taskHubName: 'TestHub',
      baseUrl: 'http://example.test:8080/runtime/webhooks/durabletask',
      requiredQueryStringParameters: `code=${SYSTEM_KEY}`,
      creationUrls: {
        createNewInstancePostUri: `http://example.test:8080${BASE}/orchestrators/{functionName}[/{instanceId}]?code=${SYSTEM_KEY}`,
      },
      managementUrls: {
        id: 'INSTANCEID',
        statusQueryGetUri: `http://example.test:8080${BASE}/instances/INSTANCEID?taskHub=TestHub&connection=Storage&code=${SYSTEM_KEY}`,
      },
    });
    // No RPC listener in this harness (rpcPort: false), so no rpcBaseUrl.
    expect(binding).not.toHaveProperty('rpcBaseUrl');
  });

  it('answers a pending create-and-wait with 202 when the engine stops', async () => {
    const waiting = h.api(
      'POST',
      `${BASE}/orchestrators/waiter/held?timeout=3600&pollingInterval=1`,
    );
    await h.idle();
    await h.close();
    const res = await waiting;
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: 'held' });
    expect((await h.api('GET', `${BASE}/instances`)).status).toBe(503);
  });

  it('holds a wait whose ?timeout= is beyond 2^31-1 ms until the instance finishes (no 1 ms timer)', async () => {
    let answered = false;
    const waiting = h
      .api('POST', `${BASE}/orchestrators/waiter/long?timeout=3000000&pollingInterval=1`)
      .then((res) => {
        answered = true;
        return res;
      });
    await h.idle();
    // A timer Node clamped to 1 ms would have answered by now.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(answered).toBe(false);
    expect(await h.raise('long', 'go', 5)).toBe(202);
    await h.idle();
    expect(await waiting).toMatchObject({ status: 200, body: 5 });
  });
});

describe('management API: the bound of a ?timeout= wait', () => {
  it('answers the check-status 202 once maxHttpWaitMs passed, whatever timeout the caller asked for', async () => {
    const h = await createHarness(invoker(), { maxHttpWaitMs: 20 });
    try {
      const started = Date.now();
      const res = await h.api(
        'POST',
        `${BASE}/orchestrators/waiter/bounded?timeout=3600&pollingInterval=1`,
      );
      expect(res).toMatchObject({ status: 202, body: { id: 'bounded' } });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await h.close();
    }
  });
});
