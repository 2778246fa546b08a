import {
  HttpRequest,
  HttpResponse,
  InvocationContext,
  type HttpRequestInit,
  type HttpResponseInit,
} from '@azure/functions';
import {
  OrchestrationRuntimeStatus,
  type DurableOrchestrationStatus,
  type HttpManagementPayload,
  type OrchestrationFilter,
  type PurgeHistoryResult,
  type StartNewOptions,
} from 'durable-functions';
import type { AcsIdentityService } from '../../../src/acs/identity-service';
import type {
  AcsIdentityWithToken,
  AcsScope,
  AcsToken,
  TeamsTokenRequest,
} from '../../../src/acs/model';
import type { VerificationClient } from '../../../src/verification/durable-client';

export function request(
  init: Omit<Partial<HttpRequestInit>, 'body'> & { body?: unknown; rawBody?: string },
): HttpRequest {
  const { body, rawBody, ...rest } = init;
  const text = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/test',
    ...rest,
    ...(text === undefined ? {} : { body: { string: text } }),
  });
}

export function invocation(logs: string[] = [], functionName = 'test'): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: 'inv-1',
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
  });
}

export interface RecordedEvent {
  readonly instanceId: string;
  readonly eventName: string;
  readonly data: unknown;
}

/** In-memory stand-in for the durable client, with the real client's 404 behaviour of getStatus. */
export class FakeDurableClient implements VerificationClient {
  readonly started: { name: string; options: StartNewOptions | undefined }[] = [];
  readonly events: RecordedEvent[] = [];
  readonly statuses = new Map<string, DurableOrchestrationStatus>();
  nextInstanceId = '0123456789abcdef0123456789abcdef';

  startNew(name: string, options?: StartNewOptions): Promise<string> {
    this.started.push({ name, options });
    return Promise.resolve(options?.instanceId ?? this.nextInstanceId);
  }

  getStatus(instanceId: string): Promise<DurableOrchestrationStatus> {
    const status = this.statuses.get(instanceId);
    if (status === undefined) {
      return Promise.reject(
        new Error(
          `DurableClient error: Durable Functions extension replied with HTTP 404 response. This usually means we could not find any data associated with the instanceId provided: ${instanceId}.`,
        ),
      );
    }
    return Promise.resolve(status);
  }

  raiseEvent(instanceId: string, eventName: string, data: unknown): Promise<void> {
    this.events.push({ instanceId, eventName, data });
    return Promise.resolve();
  }

  readonly purged: string[] = [];
  readonly purgeFilters: OrchestrationFilter[] = [];

  createHttpManagementPayload(instanceId: string): HttpManagementPayload {
    const base = `http://localhost:7071/runtime/webhooks/durabletask/instances/${instanceId}`;
    const query = 'taskHub=SmsVerificationHub&connection=Storage&code=KEY';
    return {
      id: instanceId,
      statusQueryGetUri: `${base}?${query}`,
      sendEventPostUri: `${base}/raiseEvent/{eventName}?${query}`,
      terminatePostUri: `${base}/terminate?reason={text}&${query}`,
      rewindPostUri: `${base}/rewind?reason={text}&${query}`,
      purgeHistoryDeleteUri: `${base}?${query}`,
      suspendPostUri: `${base}/suspend?reason={text}&${query}`,
      resumePostUri: `${base}/resume?reason={text}&${query}`,
    };
  }

  purgeInstanceHistory(instanceId: string): Promise<PurgeHistoryResult> {
    this.purged.push(instanceId);
    this.statuses.delete(instanceId);
    return Promise.resolve({ instancesDeleted: 1 });
  }

  purgeInstanceHistoryBy(filter: OrchestrationFilter): Promise<PurgeHistoryResult> {
    this.purgeFilters.push(filter);
    return Promise.resolve({ instancesDeleted: 0 });
  }

  /** Adds an instance in the given state. */
  put(instanceId: string, fields: Partial<DurableOrchestrationStatus> = {}): void {
    this.statuses.set(instanceId, {
      name: 'SmsPhoneVerification',
      instanceId,
      createdTime: new Date('2026-11-22T10:00:00Z'),
      lastUpdatedTime: new Date('2026-11-22T10:00:01Z'),
      input: { phoneNumber: '+14255550100' },
      output: null,
      runtimeStatus: OrchestrationRuntimeStatus.Running,
      customStatus: undefined,
      history: undefined,
      ...fields,
    });
  }
}

/** Records calls; answers with canned values or a queued error. */
export class FakeAcsIdentityService implements AcsIdentityService {
  readonly calls: { op: string; args: unknown[] }[] = [];
  failure: Error | undefined;
  userId = '8:acs:11111111-2222-3333-4444-555555555555_00000001-0000-0000-0000-000000000001';
  token: AcsToken = {
    token: 'eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln',
    expiresOn: '2026-11-23T10:00:00.000Z',
  };

  private record<T>(op: string, args: unknown[], value: T): Promise<T> {
    this.calls.push({ op, args });
    return this.failure === undefined ? Promise.resolve(value) : Promise.reject(this.failure);
  }

  createIdentity(options: {
    scopes?: readonly AcsScope[];
    expiresInMinutes?: number;
  }): Promise<AcsIdentityWithToken> {
    const value: AcsIdentityWithToken =
      options.scopes === undefined
        ? { communicationUserId: this.userId }
        : { communicationUserId: this.userId, ...this.token };
    return this.record('createIdentity', [options], value);
  }

  issueToken(
    id: string,
    scopes: readonly AcsScope[],
    expiresInMinutes?: number,
  ): Promise<AcsToken> {
    return this.record('issueToken', [id, scopes, expiresInMinutes], this.token);
  }

  revokeTokens(id: string): Promise<void> {
    return this.record('revokeTokens', [id], undefined);
  }

  deleteIdentity(id: string): Promise<void> {
    return this.record('deleteIdentity', [id], undefined);
  }

  exchangeTeamsToken(request: TeamsTokenRequest): Promise<AcsToken> {
    return this.record('exchangeTeamsToken', [request], this.token);
  }
}

/** Reads a handler result's JSON body whether it is an HttpResponseInit or an HttpResponse. */
export type HandlerResult = HttpResponseInit | HttpResponse;

export async function bodyOf(response: HandlerResult): Promise<unknown> {
  if (response instanceof HttpResponse) return response.json();
  return response.jsonBody;
}

export function headerOf(
  response: { headers?: unknown } | HttpResponse,
  name: string,
): string | undefined {
  if (response instanceof HttpResponse) return response.headers.get(name) ?? undefined;
  const headers = (response.headers ?? {}) as Record<string, string>;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

export function statusOf(response: HandlerResult): number | undefined {
  return response.status;
}
