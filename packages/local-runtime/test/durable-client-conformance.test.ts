/**
 * Calls every DurableClient method of `durable-functions` against the engine, through the binding
 * JSON the engine hands out (`df.getClient(context)` as an app would), over real loopback HTTP:
 * the RPC listener for client calls, and a minimal front door for the webhook URLs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import * as inProcess from '../src/engine/in-process-client';
import { createHarness, TestInvoker, type Harness } from './engine-harness';

function invoker(): TestInvoker {
  return new TestInvoker()
    .activity('echo', (x) => x)
    .orchestration('echoOrchestrator', function* (ctx) {
      return yield ctx.df.callActivity('echo', ctx.df.getInput());
    })
    .orchestration('waiter', function* (ctx) {
      ctx.df.setCustomStatus('waiting');
      const v: unknown = yield ctx.df.waitForExternalEvent('go');
      return { got: v };
    })
    .orchestration('failing', function* () {
      yield* [];
      throw new Error('deliberate');
    });
}

describe.each([
  { transport: 'the loopback RPC listener', inProcessClient: false },
  { transport: 'the in-process shortcut', inProcessClient: true },
])(
  'durable-functions DurableClient against the local engine, through $transport',
  ({ inProcessClient }) => {
    let h: Harness;
    let frontDoor: http.Server;
    let origin: string;
    let client: DurableClient;
    let callsBefore = 0;
    const savedHostname = process.env.WEBSITE_HOSTNAME;

    beforeAll(async () => {
      callsBefore = inProcess.inProcessCalls;
      h = await createHarness(invoker(), { rpcPort: 0, inProcessClient });
      frontDoor = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const url = new URL(req.url ?? '/', origin);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string') headers[k] = v;
          h.engine
            .handleHttp({
              method: req.method ?? 'GET',
              path: url.pathname,
              query: url.searchParams,
              headers,
              body: Buffer.concat(chunks),
              origin,
            })
            .then(
              (r) => {
                res.writeHead(r.status, { ...(r.headers ?? {}) });
                res.end(r.body ?? '');
              },
              () => res.writeHead(500).end(),
            );
        });
      });
      await new Promise<void>((resolve) => frontDoor.listen(0, '127.0.0.1', resolve));
      const port = (frontDoor.address() as AddressInfo).port;
      origin = `http://127.0.0.1:${port}`;
      // Without it, getClient rewrites every management URL to localhost:7071 (as the host must set it).
      process.env.WEBSITE_HOSTNAME = `127.0.0.1:${port}`;
      const clientInput = df.input.durableClient();
      const context = new InvocationContext({
        functionName: 'client',
        options: { extraInputs: [clientInput] },
      });
      // The host delivers the binding as `{string: JSON}`, which the library parses.
      context.extraInputs.set(
        clientInput,
        JSON.parse(JSON.stringify(h.engine.clientBinding(origin))),
      );
      client = df.getClient(context);
    });

    afterAll(async () => {
      if (savedHostname === undefined) delete process.env.WEBSITE_HOSTNAME;
      else process.env.WEBSITE_HOSTNAME = savedHostname;
      frontDoor.closeAllConnections();
      await new Promise<void>((resolve) => frontDoor.close(() => resolve()));
      await h.close();
    });

    it('hands out an rpcBaseUrl ending with /', () => {
      expect(h.engine.rpcBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/durabletask\/$/);
      expect(h.engine.clientBinding(origin).rpcBaseUrl).toBe(h.engine.rpcBaseUrl);
    });

    it('startNew + getStatus (with history and input options)', async () => {
      const id = await client.startNew('echoOrchestrator', {
        input: { city: 'Tokyo' },
        instanceId: 'c-start',
      });
      expect(id).toBe('c-start');
      const generated = await client.startNew('echoOrchestrator', { input: 'plain' });
      expect(generated).toMatch(/^[0-9a-f]{32}$/);
      await h.idle();
      const status = await client.getStatus('c-start', {
        showHistory: true,
        showHistoryOutput: true,
        showInput: true,
      });
      expect(status.name).toBe('echoOrchestrator');
      expect(status.instanceId).toBe('c-start');
      expect(status.runtimeStatus).toBe(df.OrchestrationRuntimeStatus.Completed);
      expect(status.input).toEqual({ city: 'Tokyo' });
      expect(status.output).toEqual({ city: 'Tokyo' });
      expect(status.createdTime).toBeInstanceOf(Date);
      await expect(client.getStatus('does-not-exist')).rejects.toThrow(/404/);
      await expect(client.startNew('noSuchOrchestrator')).rejects.toThrow(/400/);
    });

    it('raiseEvent (202, and 410 on finished instances treated as success; 404 rejects)', async () => {
      await client.startNew('waiter', { instanceId: 'c-raise' });
      await h.idle();
      expect((await client.getStatus('c-raise')).customStatus).toBe('waiting');
      await client.raiseEvent('c-raise', 'go', { value: 7 });
      await h.idle();
      expect((await client.getStatus('c-raise')).output).toEqual({ got: { value: 7 } });
      await expect(client.raiseEvent('c-raise', 'go', 1)).resolves.toBeUndefined();
      await expect(client.raiseEvent('nobody', 'go', 1)).rejects.toThrow(
        "No instance with ID 'nobody' found.",
      );
    });

    it('terminate, suspend and resume', async () => {
      await client.startNew('waiter', { instanceId: 'c-term' });
      await client.startNew('waiter', { instanceId: 'c-susp' });
      await h.idle();
      await client.terminate('c-term', 'no longer needed');
      await client.suspend('c-susp', 'hold on');
      await h.idle();
      const terminated = await client.getStatus('c-term');
      expect(terminated.runtimeStatus).toBe('Terminated');
      expect(terminated.output).toBe('no longer needed');
      expect((await client.getStatus('c-susp')).runtimeStatus).toBe('Suspended');
      await client.resume('c-susp', 'go on');
      await h.idle();
      expect((await client.getStatus('c-susp')).runtimeStatus).toBe('Running');
      await expect(client.terminate('nobody', 'x')).rejects.toThrow(/nobody/);
    });

    it('getStatusAll and getStatusBy (filters, paging through continuation tokens)', async () => {
      const all = await client.getStatusAll();
      const ids = all.map((s) => s.instanceId);
      expect(ids).toEqual(expect.arrayContaining(['c-start', 'c-term', 'c-susp']));
      const terminated = await client.getStatusBy({
        runtimeStatus: [df.OrchestrationRuntimeStatus.Terminated],
      });
      expect(terminated.map((s) => s.instanceId)).toEqual(['c-term']);
      const none = await client.getStatusBy({ createdTimeFrom: new Date('2031-01-01T00:00:00Z') });
      expect(none).toEqual([]);
      // More than one page (top defaults to 100): the client follows x-ms-continuation-token.
      for (let i = 0; i < 120; i++)
        await client.startNew('echoOrchestrator', { instanceId: `bulk-${i}`, input: i });
      await h.idle();
      const everything = await client.getStatusAll();
      expect(everything.filter((s) => s.instanceId.startsWith('bulk-'))).toHaveLength(120);
      expect(new Set(everything.map((s) => s.instanceId)).size).toBe(everything.length);
    });

    it('rewind is accepted for a Failed instance and rejects for an unknown one', async () => {
      await client.startNew('failing', { instanceId: 'c-fail' });
      await h.idle();
      expect((await client.getStatus('c-fail')).runtimeStatus).toBe('Failed');
      await expect(client.rewind('c-fail', 'try again')).resolves.toBeUndefined();
      await h.idle();
      // The orchestrator itself throws, so the rewound instance fails again on replay.
      expect((await client.getStatus('c-fail')).runtimeStatus).toBe('Failed');
      await expect(client.rewind('c-none', 'try again')).rejects.toThrow();
    });

    it('purgeInstanceHistory and purgeInstanceHistoryBy', async () => {
      expect(await client.purgeInstanceHistory('c-start')).toEqual({ instancesDeleted: 1 });
      expect((await client.purgeInstanceHistory('c-start')).instancesDeleted).toBe(0);
      const result = await client.purgeInstanceHistoryBy({
        createdTimeFrom: new Date('2029-01-01T00:00:00Z'),
        runtimeStatus: [df.OrchestrationRuntimeStatus.Failed],
      });
      expect(result).toEqual({ instancesDeleted: 1 });
      const nothing = await client.purgeInstanceHistoryBy({
        createdTimeFrom: new Date('2029-01-01T00:00:00Z'),
        runtimeStatus: [df.OrchestrationRuntimeStatus.Failed],
      });
      expect(nothing.instancesDeleted).toBe(0);
    });

    it('createCheckStatusResponse: URLs use the request origin and work from outside', async () => {
      await client.startNew('waiter', { instanceId: 'c-check' });
      await h.idle();
      const request = new HttpRequest({ url: `${origin}/api/start`, method: 'POST' });
      const response = client.createCheckStatusResponse(request, 'c-check');
      expect(response.status).toBe(202);
      const payload = (await response.json()) as Record<string, string>;
      expect(response.headers.get('location')).toBe(payload.statusQueryGetUri);
      expect(
        payload.statusQueryGetUri!.startsWith(
          `${origin}/runtime/webhooks/durabletask/instances/c-check?`,
        ),
      ).toBe(true);
      const status = await fetch(payload.statusQueryGetUri!);
      expect(status.status).toBe(202);
      const send = await fetch(payload.sendEventPostUri!.replace('{eventName}', 'go'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify('via-url'),
      });
      expect(send.status).toBe(202);
      await h.idle();
      const done = await fetch(payload.statusQueryGetUri!);
      expect(done.status).toBe(200);
      expect(await done.json()).toMatchObject({
        runtimeStatus: 'Completed',
        output: { got: 'via-url' },
      });
      // Without the key the webhook refuses.
      const noKey = new URL(payload.statusQueryGetUri!);
      noKey.searchParams.delete('code');
      expect((await fetch(noKey)).status).toBe(401);
    });

    it('createHttpManagementPayload', () => {
      const payload = client.createHttpManagementPayload('abc');
      expect(payload.id).toBe('abc');
      expect(payload.statusQueryGetUri).toContain(
        '/runtime/webhooks/durabletask/instances/abc?taskHub=TestHub',
      );
      expect(payload.terminatePostUri).toContain('/instances/abc/terminate?reason={text}');
    });

    it('waitForCompletionOrCreateCheckStatusResponse', async () => {
      const request = new HttpRequest({ url: `${origin}/api/start`, method: 'POST' });
      const waitFor = (instanceId: string, timeoutInMilliseconds: number) =>
        client.waitForCompletionOrCreateCheckStatusResponse(request, instanceId, {
          timeoutInMilliseconds,
          retryIntervalInMilliseconds: 20,
        });
      await client.startNew('echoOrchestrator', { instanceId: 'c-wait', input: 'done!' });
      const completed = await waitFor('c-wait', 5000);
      expect(completed.status).toBe(200);
      expect(await completed.json()).toBe('done!');
      await client.startNew('waiter', { instanceId: 'c-wait-2' });
      const pending = await waitFor('c-wait-2', 60);
      expect(pending.status).toBe(202);
    });

    it('readEntityState of an entity never signalled: does not exist; signalEntity is accepted', async () => {
      const entityId = new df.EntityId('counter', 'k');
      await expect(client.readEntityState(entityId)).resolves.toMatchObject({
        entityExists: false,
      });
      await expect(client.signalEntity(entityId, 'add', 1)).resolves.toBeUndefined();
    });

    it('took the transport it was given', () => {
      const calls = inProcess.inProcessCalls - callsBefore;
      if (inProcessClient) expect(calls).toBeGreaterThan(20);
      else expect(calls).toBe(0);
    });
  },
);
