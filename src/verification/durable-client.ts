import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import {
  OrchestrationRuntimeStatus,
  type DurableClient,
  type DurableOrchestrationStatus,
} from 'durable-functions';

/** The part of the durable client the HTTP functions use; tests pass a fake. */
export type VerificationClient = Pick<
  DurableClient,
  | 'startNew'
  | 'getStatus'
  | 'raiseEvent'
  | 'createHttpManagementPayload'
  | 'purgeInstanceHistory'
  | 'purgeInstanceHistoryBy'
>;

export type GetVerificationClient = (context: InvocationContext) => VerificationClient;

/**
 * `df.getClient` builds a new client per invocation (a deep copy of the binding data, URL
 * validation, an axios instance): a measurable share of every status poll. The binding data is
 * the same for every invocation until the host's keys or URLs change, so one client is kept per
 * distinct binding. A binding is told apart by the fields every other one is built from (the
 * management and creation URLs are the base URL, the task hub and the key query): serialising the
 * whole binding for the key cost as much as a cache miss saved.
 */
const clientsByBinding = new Map<string, VerificationClient>();
const MAX_CACHED_CLIENTS = 8;
const BINDING_IDENTITY_FIELDS = [
  'taskHubName',
  'baseUrl',
  'requiredQueryStringParameters',
  'rpcBaseUrl',
  'httpBaseUrl',
] as const;

export const getDurableClient: GetVerificationClient = (context) => {
  const binding = context.options.extraInputs.find(
    (input) => input.type === 'durableClient' || input.type === 'orchestrationClient',
  );
  const data: unknown = binding === undefined ? undefined : context.extraInputs.get(binding);
  if (typeof data !== 'object' || data === null) return df.getClient(context);
  const fields = data as Record<string, unknown>;
  const key = BINDING_IDENTITY_FIELDS.map((name) => String(fields[name])).join('\n');
  let client = clientsByBinding.get(key);
  if (client === undefined) {
    if (clientsByBinding.size >= MAX_CACHED_CLIENTS) clientsByBinding.clear();
    client = df.getClient(context);
    clientsByBinding.set(key, client);
  }
  return client;
};

/**
 * Instance ids are placed into management URLs unencoded by the durable client, so anything but
 * a plain token (e.g. `x/terminate?`) could address another operation. Generated ids are hex.
 */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

export function isInstanceId(raw: string): boolean {
  return INSTANCE_ID_PATTERN.test(raw);
}

/** `getStatus` without exceptions for "no such instance": the client throws on HTTP 404. */
export async function findStatus(
  client: VerificationClient,
  instanceId: string,
): Promise<DurableOrchestrationStatus | undefined> {
  try {
    return await client.getStatus(instanceId);
  } catch (error: unknown) {
    if (error instanceof Error && /\bHTTP 404\b/.test(error.message)) return undefined;
    throw error;
  }
}

/** Runtime states after which the instance will never read another event. */
export const FINISHED_STATUSES: readonly OrchestrationRuntimeStatus[] = [
  OrchestrationRuntimeStatus.Completed,
  OrchestrationRuntimeStatus.Failed,
  OrchestrationRuntimeStatus.Terminated,
  OrchestrationRuntimeStatus.Canceled,
];
