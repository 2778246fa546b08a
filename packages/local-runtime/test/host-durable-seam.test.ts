/**
 * The seam between the host and the durable engine: orchestrations and activities invoked through the
 * programming model with the extension's typed data, failures carried back, and `df.getClient` working from
 * an HTTP function. Manual clock, in-memory database.
 */
import { useFixtureHost } from './fixture-host';
import { activityInputs } from './fixtures/durable-app/index';

const host = useFixtureHost('durable-app');

interface Status {
  runtimeStatus: string;
  output: unknown;
  input: unknown;
}

async function run(name: string, input?: unknown): Promise<Status> {
  const response = await fetch(`${host().url}/api/start/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: input === undefined ? undefined : JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  const payload = (await response.json()) as { id: string; statusQueryGetUri: string };
  expect(response.headers.get('location')).toBe(payload.statusQueryGetUri);
  await host().whenIdle();
  const status = await fetch(payload.statusQueryGetUri);
  return (await status.json()) as Status;
}

it('exposes every registered function to the engine with its trigger', () => {
  const byName = new Map(
    host()
      .invoker.functions()
      .map((f) => [f.name, f.triggerType]),
  );
  expect(byName.get('typedData')).toBe('orchestrationTrigger');
  expect(byName.get('upper')).toBe('activityTrigger');
  expect(byName.get('start')).toBe('httpTrigger');
});

it('runs orchestrations and activities with the values the extension would pass', async () => {
  activityInputs.length = 0;
  const status = await run('typedData', { hello: 'world' });
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual({
    upper: 'TOKYO',
    object: { x: 1 },
    number: 5,
    text: 'plain',
    input: { hello: 'world' },
  });
  expect(activityInputs).toEqual([
    { value: { x: 1 }, type: 'object' },
    { value: 5, type: 'number' },
    { value: 'plain', type: 'string' },
  ]);
});

it('records an activity failure as the extension does and fails the orchestration', async () => {
  const status = await run('failsInActivity');
  expect(status.runtimeStatus).toBe('Failed');
  expect(String(status.output)).toContain("Orchestrator function 'failsInActivity' failed:");
  expect(String(status.output)).toContain("Activity function 'boom' failed: kaput");
});

it('lets the orchestrator catch an activity failure', async () => {
  const status = await run('catchesActivityFailure');
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual(expect.stringContaining("Activity function 'boom' failed: kaput"));
});

it('fails the orchestration when the orchestrator throws', async () => {
  const status = await run('throwsDirectly');
  expect(status.runtimeStatus).toBe('Failed');
  expect(String(status.output)).toContain('orchestrator broke');
});

it('gives HTTP functions a working durable client (rpcBaseUrl) and check-status URLs on the front door', async () => {
  const response = await fetch(`${host().url}/api/start/typedData`, {
    method: 'POST',
    body: '"x"',
    headers: { 'content-type': 'application/json' },
  });
  const payload = (await response.json()) as {
    id: string;
    statusQueryGetUri: string;
    sendEventPostUri: string;
  };
  expect(payload.statusQueryGetUri).toContain(
    `${host().url}/runtime/webhooks/durabletask/instances/${payload.id}`,
  );
  expect(payload.statusQueryGetUri).toContain(`code=${host().keys.systemKey}`);
  await host().whenIdle();
  const viaClient = await fetch(`${host().url}/api/status/${payload.id}`);
  expect(await viaClient.json()).toMatchObject({ runtimeStatus: 'Completed' });
  // The management API refuses calls without the system key.
  const withoutKey = await fetch(
    `${host().url}/runtime/webhooks/durabletask/instances/${payload.id}`,
  );
  expect(withoutKey.status).toBe(401);
});
