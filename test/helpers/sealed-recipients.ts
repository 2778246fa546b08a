/**
 * What the durable history of one instance holds, read the two ways an operator could: the management API
 * with the system key (status, input, every history event with its input and output) and the engine's own
 * store. For the tests that recipients (numbers, addresses) are in history only sealed.
 */
import type { LocalHost } from '@local/durable-runtime';

async function durableTraces(host: LocalHost, instanceId: string): Promise<string> {
  await host.whenIdle();
  const url = `${host.url}/runtime/webhooks/durabletask/instances/${instanceId}?showHistory=true&showHistoryOutput=true&showInput=true&code=${host.keys.systemKey}`;
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const stored = host.engine?.history?.(instanceId);
  expect(stored?.length).toBeGreaterThan(0);
  return `${await response.text()}\n${JSON.stringify(stored)}`;
}

/**
 * Fails when the instance's status, input or history (through either reader) holds any recipient in
 * full; a phone number also without its `+`. The input must hold the sealed form instead.
 */
export async function expectRecipientsSealed(
  host: LocalHost,
  instanceId: string,
  recipients: readonly string[],
): Promise<void> {
  const traces = await durableTraces(host, instanceId);
  expect(traces).toMatch(/"sealed(PhoneNumber|To)":"[\w-]{38,}"/);
  for (const recipient of recipients) {
    expect(traces).not.toContain(recipient);
    if (recipient.startsWith('+')) expect(traces).not.toContain(recipient.slice(1));
  }
}
