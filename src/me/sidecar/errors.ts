import { UpstreamError } from '../../errors';
import type { AppErrorOptions } from '../../errors';

/** The service name carried by every sidecar error (`service` extension of the problem document). */
export const SIDECAR_SERVICE = 'auth-sidecar';

/**
 * The sidecar answered 4xx: the request (token, api name, options) was refused. Not retried (except 408/429).
 * The problem `detail` is deliberately not kept: the sidecar echoes MSAL messages that can contain a UPN or OID.
 */
export class SidecarClientError extends UpstreamError {
  /** RFC 9457 `title` of the sidecar's problem document, when it sent one. */
  readonly problemTitle: string | undefined;

  constructor(status: number, problemTitle?: string, options: AppErrorOptions = {}) {
    super(
      SIDECAR_SERVICE,
      `The auth sidecar refused the request (HTTP ${status}).`,
      status,
      options,
    );
    this.problemTitle = problemTitle;
  }
}

/** The sidecar answered 5xx (after retries where allowed). */
export class SidecarServerError extends UpstreamError {
  constructor(status: number, options: AppErrorOptions = {}) {
    super(SIDECAR_SERVICE, `The auth sidecar failed (HTTP ${status}).`, status, options);
  }
}

/**
 * The sidecar reached the downstream API, which answered `downstreamStatus` >= 400. The sidecar itself
 * answers 200 in that case, so this is the only place the downstream failure surfaces.
 */
export class DownstreamApiError extends UpstreamError {
  constructor(
    readonly apiName: string,
    readonly downstreamStatus: number,
    /** The downstream body, parsed as JSON when possible; never put in messages or problem documents. */
    readonly content: unknown,
  ) {
    super(
      apiName,
      `The downstream API '${apiName}' answered HTTP ${downstreamStatus}.`,
      downstreamStatus,
    );
  }
}
