import {
  CommunicationIdentityClient,
  type CommunicationIdentityClientOptions,
} from '@azure/communication-identity';
import { DefaultAzureCredential } from '@azure/identity';
import type { AcsConfig } from './settings';
import { isLoopbackHost } from '../loopback';
import type { AcsIdentityWithToken, AcsScope, AcsToken, TeamsTokenRequest } from './model';
import {
  NotFoundError,
  RateLimitedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  ValidationError,
  type AppError,
} from '../errors';
import { withSpan } from '../telemetry';

/**
 * ACS Identity operations the app needs. Inputs are already validated. Failures are AppErrors:
 * unknown or foreign identity → NotFoundError, throttling → RateLimitedError, anything else from
 * ACS → UpstreamError (502), no answer → 503, or 504 after the timeout. Messages never contain tokens or keys.
 */
export interface AcsIdentityService {
  createIdentity(options: {
    scopes?: readonly AcsScope[];
    expiresInMinutes?: number;
  }): Promise<AcsIdentityWithToken>;
  issueToken(
    communicationUserId: string,
    scopes: readonly AcsScope[],
    expiresInMinutes?: number,
  ): Promise<AcsToken>;
  revokeTokens(communicationUserId: string): Promise<void>;
  deleteIdentity(communicationUserId: string): Promise<void>;
  exchangeTeamsToken(request: TeamsTokenRequest): Promise<AcsToken>;
}

const SERVICE = 'acs-identity';
const DEFAULT_RETRY_AFTER_SECONDS = 10;
/** Per call. The core pipeline has no timeout of its own, so a hung connection would hold the invocation. */
const ACS_TIMEOUT_MS = 10_000;
/** Like the Table client: a couple of quick retries of throttling, 5xx and dropped connections. */
const ACS_RETRY_OPTIONS = { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 } as const;

type PipelinePolicy = NonNullable<
  CommunicationIdentityClientOptions['additionalPolicies']
>[number]['policy'];

/**
 * Bounds every call, retries included: the pipeline aborts it with an AbortError. An abort signal
 * rather than the request's `timeout`, whose timer the SDK's Node client leaves running after a
 * failed connection; `AbortSignal.timeout`'s timer never holds the process open.
 */
function timeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'acsCallTimeout',
    sendRequest: (request, next) => {
      const deadline = AbortSignal.timeout(timeoutMs);
      const caller = request.abortSignal;
      request.abortSignal =
        caller === undefined ? deadline : AbortSignal.any([caller as AbortSignal, deadline]);
      return next(request);
    },
  };
}

export interface AcsClientOptions extends CommunicationIdentityClientOptions {
  /** Per call, retries included; default 10 s. */
  readonly timeoutMs?: number;
}

/**
 * Builds the SDK client from config: connection string (access-key HMAC) or endpoint + managed
 * identity, with a per-attempt timeout and bounded retries like the app's other clients. Plain http
 * is allowed only towards loopback hosts (the local emulator).
 */
export function createCommunicationIdentityClient(
  { access }: Pick<AcsConfig, 'access'>,
  { timeoutMs = ACS_TIMEOUT_MS, ...options }: AcsClientOptions = {},
): CommunicationIdentityClient {
  const insecureLoopback =
    access.endpoint.protocol === 'http:' && isLoopbackHost(access.endpoint.hostname);
  const clientOptions: CommunicationIdentityClientOptions = {
    retryOptions: ACS_RETRY_OPTIONS,
    ...options,
    additionalPolicies: [
      { policy: timeoutPolicy(timeoutMs), position: 'perCall' },
      ...(options.additionalPolicies ?? []),
    ],
    ...(insecureLoopback ? { allowInsecureConnection: true } : {}),
  };
  if (access.kind === 'connectionString') {
    return new CommunicationIdentityClient(access.connectionString, clientOptions);
  }
  return new CommunicationIdentityClient(
    access.endpoint.href,
    new DefaultAzureCredential(),
    clientOptions,
  );
}

/** {@link AcsIdentityService} on `@azure/communication-identity`. */
export class CommunicationIdentityService implements AcsIdentityService {
  constructor(private readonly client: CommunicationIdentityClient) {}

  async createIdentity(options: {
    scopes?: readonly AcsScope[];
    expiresInMinutes?: number;
  }): Promise<AcsIdentityWithToken> {
    return this.call('create', async () => {
      if (options.scopes === undefined) {
        const user = await this.client.createUser();
        return { communicationUserId: user.communicationUserId };
      }
      const result = await this.client.createUserAndToken(
        [...options.scopes],
        tokenOptions(options.expiresInMinutes),
      );
      return {
        communicationUserId: result.user.communicationUserId,
        token: result.token,
        expiresOn: result.expiresOn.toISOString(),
      };
    });
  }

  async issueToken(
    communicationUserId: string,
    scopes: readonly AcsScope[],
    expiresInMinutes?: number,
  ): Promise<AcsToken> {
    return this.call('issue', async () => {
      const result = await this.client.getToken(
        { communicationUserId },
        [...scopes],
        tokenOptions(expiresInMinutes),
      );
      return { token: result.token, expiresOn: result.expiresOn.toISOString() };
    });
  }

  async revokeTokens(communicationUserId: string): Promise<void> {
    return this.call('revoke', () => this.client.revokeTokens({ communicationUserId }));
  }

  async deleteIdentity(communicationUserId: string): Promise<void> {
    return this.call('delete', () => this.client.deleteUser({ communicationUserId }));
  }

  async exchangeTeamsToken(request: TeamsTokenRequest): Promise<AcsToken> {
    return this.call('teams', async () => {
      const result = await this.client.getTokenForTeamsUser({
        teamsUserAadToken: request.teamsUserAadToken,
        clientId: request.clientId,
        userObjectId: request.userObjectId,
      });
      return { token: result.token, expiresOn: result.expiresOn.toISOString() };
    });
  }

  private async call<T>(operation: AcsOperation, run: () => Promise<T>): Promise<T> {
    try {
      return await withSpan(`acs.identity.${operation}`, { 'peer.service': SERVICE }, run);
    } catch (error: unknown) {
      throw mapAcsError(error, operation);
    }
  }
}

export type AcsOperation = 'create' | 'issue' | 'revoke' | 'delete' | 'teams';

function tokenOptions(expiresInMinutes: number | undefined): { tokenExpiresInMinutes?: number } {
  return expiresInMinutes === undefined ? {} : { tokenExpiresInMinutes: expiresInMinutes };
}

interface RestErrorLike {
  readonly statusCode?: number;
  readonly code?: string;
  readonly response?: { readonly headers?: { get(name: string): string | undefined } };
}

function asRestError(error: unknown): RestErrorLike | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { name?: unknown }).name === 'RestError' ? error : undefined;
}

/**
 * Maps SDK failures to AppErrors. ACS answers 401 `IdentityNotOwned` for ids of another resource
 * (and for unknown ids), which to our caller is simply "no such identity". The ACS message is not
 * copied into ours: only status and error code are used.
 */
export function mapAcsError(error: unknown, operation: AcsOperation): AppError {
  const rest = asRestError(error);
  const status = rest?.statusCode;
  const code = rest?.code;
  if (status === undefined) {
    // No answer at all: aborted by the timeout (504) or a network failure (503), as for the other
    // clients. The SDK error carries the request, so it is not kept as a cause.
    return isAbortError(error)
      ? new UpstreamTimeoutError(SERVICE, 'Azure Communication Services did not answer in time.')
      : new UpstreamUnavailableError(SERVICE, 'Azure Communication Services could not be reached.');
  }
  if (operation === 'teams' && status === 401) {
    return new ValidationError({
      field: 'teamsUserAadToken',
      message: 'was rejected by Azure Communication Services (invalid or expired)',
    });
  }
  if (operation === 'teams' && status === 400) {
    return new ValidationError({
      field: 'body',
      message: 'clientId or userObjectId do not match the Teams token',
    });
  }
  if (status === 404 || ((status === 401 || status === 403) && code === 'IdentityNotOwned')) {
    return new NotFoundError('No such communication identity.');
  }
  if (status === 429) {
    return new RateLimitedError(
      'Azure Communication Services is throttling requests; retry later.',
      retryAfterSeconds(rest) ?? DEFAULT_RETRY_AFTER_SECONDS,
    );
  }
  const suffix = code === undefined ? '' : ` (${code})`;
  if (status === 401 || status === 403) {
    return new UpstreamError(
      SERVICE,
      `Azure Communication Services rejected the app's credentials${suffix}.`,
      status,
    );
  }
  return new UpstreamError(
    SERVICE,
    `Azure Communication Services failed with HTTP ${status}${suffix}.`,
    status,
  );
}

function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'AbortError'
  );
}

function retryAfterSeconds(rest: RestErrorLike | undefined): number | undefined {
  const headers = rest?.response?.headers;
  if (headers === undefined || typeof headers.get !== 'function') return undefined;
  const ms = headers.get('retry-after-ms') ?? headers.get('x-ms-retry-after-ms');
  if (ms !== undefined && /^\d+$/.test(ms)) return Number(ms) / 1000;
  const retryAfter = headers.get('retry-after');
  if (retryAfter === undefined) return undefined;
  if (/^\d+$/.test(retryAfter)) return Number(retryAfter);
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}
