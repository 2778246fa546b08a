import type { HttpRequest, InvocationContext } from '@azure/functions';
import type { DurableOrchestrationStatus } from 'durable-functions';
import { NotFoundError } from '../errors';
import {
  findStatus,
  isInstanceId,
  type GetVerificationClient,
  type VerificationClient,
} from './durable-client';
import { LINK_TOKEN_PARAM, type LinkPurpose } from './links';
import { isVerificationInstance } from './view';

export interface LinkAccessDeps {
  readonly getClient: GetVerificationClient;
  /** Constant-time check of a link token for one instance and purpose. */
  readonly verifyLinkToken: (instanceId: string, purpose: LinkPurpose, token: unknown) => boolean;
}

/** What a valid link opens: its verification, and the client to act on it. */
export interface OpenedLink {
  readonly id: string;
  readonly client: VerificationClient;
  readonly status: DurableOrchestrationStatus;
}

/**
 * Opens the verification a link names, for one purpose. A malformed id, a missing, altered or
 * foreign token, a token of another purpose and an unknown instance all get the same 404, so a
 * caller learns nothing about instances it holds no link for. The token is checked before the
 * store is asked anything.
 */
export async function openLink(
  deps: LinkAccessDeps,
  request: HttpRequest,
  context: InvocationContext,
  purpose: LinkPurpose,
): Promise<OpenedLink> {
  const id = request.params.id ?? '';
  const token = request.query.get(LINK_TOKEN_PARAM);
  if (!isInstanceId(id) || !deps.verifyLinkToken(id, purpose, token)) {
    throw noSuchVerification();
  }
  const client = deps.getClient(context);
  const status = await findStatus(client, id);
  if (status === undefined || !isVerificationInstance(status)) throw noSuchVerification();
  return { id, client, status };
}

export function noSuchVerification(): NotFoundError {
  return new NotFoundError('No such verification.');
}
