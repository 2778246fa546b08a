import type { HttpRequest, InvocationContext } from '@azure/functions';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Channel } from '../delivery/channels';
import { channelNotConfigured } from '../delivery/delivery';
import { AppError, NotFoundError } from '../errors';
import type { BlockedStart } from './events/delivery';
import type { AcceptedPhoneNumber } from './guard/phone-policy';
import { PROOF_OF_WORK_HEADER, type ProofOfWork } from './guard/proof-of-work';
import { readJson, routeParam } from '../http/parse';
import { json, type Handler } from '../http/respond';
import type { ResponseBody } from '../http/schema';
import type { GetVerificationClient, VerificationClient } from './durable-client';
import type { SendGuard } from './guard/send-guard';
import type { VerificationLinks } from './links';
import { HTTP_STARTABLE_ORCHESTRATIONS } from './names';
import {
  AUTO_CHANNEL,
  parseStartRequest,
  type TrustedStart,
  type VerificationLinks as VerificationLinksAnswer,
} from './schemas';
import { CURRENT_INPUT_VERSION, type VerificationInput } from './rules';
import { newInstanceId, sealedRecipient, type SealRecipient } from './recipient';

export interface HttpStartDeps {
  readonly getClient: GetVerificationClient;
  /** Phone policy and velocity limits, before anything is started or sent. */
  readonly guard: () => Pick<SendGuard, 'check'>;
  readonly links: (instanceId: string) => VerificationLinks;
  /** Seals the number and the address to the new instance: history never holds them plain. */
  readonly sealRecipient: SealRecipient;
  /** The new instance's id (the extension's GUID shape by default); tests pin it. */
  readonly newInstanceId?: () => string;
  /** The channels this deployment has: a start naming another is refused (400) before anything else. */
  readonly channels: () => readonly Channel[];
  /** Issue 22: the anonymous starter's optional proof of work (ALTCHA); off by default. */
  readonly proofOfWork?: () => Pick<ProofOfWork, 'requireSolved'>;
  /** Issue 22: a refused start as a `verification.blocked` event; never throws. */
  readonly announceBlocked?: (client: VerificationClient, refusal: BlockedStart) => Promise<void>;
}

/** The extension's own poll interval in its 202 answers. */
const RETRY_AFTER_SECONDS = '10';

/**
 * `POST /api/orchestrators/{orchestratorName}` (anonymous) with `"+14255550100"` or
 * `{"phoneNumber": "...", "locale": "ko", "channel": "sms", "fallback": [...]}`: starts a
 * verification and answers 202 in the official sample's shape, every URI a capability link for this
 * one instance on the configured public origin.
 */
export function createHttpStart(deps: HttpStartDeps): Handler {
  return async (request, context) => {
    await deps.proofOfWork?.().requireSolved(request.headers.get(PROOF_OF_WORK_HEADER));
    const { instanceId } = await startVerification(deps, request, context);
    const links = deps.links(instanceId);
    return json(202, links satisfies ResponseBody<typeof VerificationLinksAnswer>, {
      Location: links.statusQueryGetUri,
      'Retry-After': RETRY_AFTER_SECONDS,
    });
  };
}

export interface TrustedStartDeps extends HttpStartDeps {
  /** The configured public origin (`VERIFICATION_PUBLIC_ORIGIN`), which the capability links use too. */
  readonly publicOrigin: () => URL;
}

/**
 * `POST /api/trusted/orchestrators/{orchestratorName}` (authLevel `function`): the same start,
 * answered with the Durable management payload (system key) for trusted back ends, plus the
 * capability links (`links`), through which codes are answered sealed. The payload's URLs are put on
 * the configured public origin: the client binding builds them from the request's `Host`, which the
 * caller chooses, and a URL carrying the system key must never point where a caller says.
 */
export function createTrustedStart(deps: TrustedStartDeps): Handler {
  return async (request, context) => {
    const { client, instanceId } = await startVerification(deps, request, context);
    const management = onOrigin(
      client.createHttpManagementPayload(instanceId),
      deps.publicOrigin(),
    );
    return json(
      202,
      { ...management, links: deps.links(instanceId) } satisfies ResponseBody<typeof TrustedStart>,
      { Location: management.statusQueryGetUri, 'Retry-After': RETRY_AFTER_SECONDS },
    );
  };
}

/** The payload with each URL's origin replaced by `origin` (path and query kept). */
function onOrigin<T extends object>(payload: T, origin: URL): T {
  const rebased: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(payload)) {
    rebased[name] =
      typeof value === 'string' && /^https?:\/\//i.test(value)
        ? origin.origin + value.replace(/^https?:\/\/[^/]*/i, '')
        : value;
  }
  return rebased as T;
}

/**
 * Every start is its own instance: deduplicating by number would hand one caller another's. Its id
 * is chosen here, so the recipient is sealed to it before anything reaches history.
 */
async function startVerification(
  deps: HttpStartDeps,
  request: HttpRequest,
  context: InvocationContext,
): Promise<{ readonly client: VerificationClient; readonly instanceId: string }> {
  const requested = routeParam(request, 'orchestratorName');
  const name = HTTP_STARTABLE_ORCHESTRATIONS.find(
    (n) => n.toLowerCase() === requested.toLowerCase(),
  );
  if (name === undefined) {
    throw new NotFoundError('No orchestration with that name can be started over HTTP.');
  }
  const { phoneNumber, locale, channel, fallback, email } = parseStartRequest(
    await readJson(request),
  );
  const enabled = deps.channels();
  // `auto` always can fall to `sms`, so that is what it needs; `call` only when the deployment has it.
  const needed = channel === AUTO_CHANNEL ? 'sms' : channel;
  for (const wanted of [needed, ...fallback.map((s) => s.channel)]) {
    if (!enabled.includes(wanted)) throw channelNotConfigured(wanted, enabled);
  }
  const client = deps.getClient(context);
  let accepted: AcceptedPhoneNumber;
  try {
    accepted = await deps.guard().check(phoneNumber, request.headers);
  } catch (error: unknown) {
    const refusal = blockedStart(error, phoneNumber);
    if (refusal !== undefined) await deps.announceBlocked?.(client, refusal);
    throw error;
  }
  const instanceId = (deps.newInstanceId ?? newInstanceId)();
  const input: VerificationInput = {
    ...sealedRecipient(deps.sealRecipient, instanceId, { phoneNumber: accepted.e164, email }),
    ...(locale === undefined ? {} : { locale }),
    version: CURRENT_INPUT_VERSION,
    // The orchestrator only ever sees a concrete channel, decided here from the guard's number type.
    channel: channel === AUTO_CHANNEL ? autoChannel(accepted, enabled) : channel,
    ...(fallback.length === 0 ? {} : { fallback }),
    reportsLifecycle: true,
  };
  await client.startNew(name, { instanceId, input });
  context.log(`Started ${name} instance ${instanceId}`);
  return { client, instanceId };
}

/** `auto`: a landline (libphonenumber's FIXED_LINE) cannot read a text, so it gets a call when there are calls. */
export function autoChannel(accepted: AcceptedPhoneNumber, enabled: readonly Channel[]): Channel {
  return accepted.type === 'FIXED_LINE' && enabled.includes('call') ? 'call' : 'sms';
}

/** A guard refusal (403, 429, 503 with a `reason`) as an event; invalid input is not "blocked". */
function blockedStart(error: unknown, input: unknown): BlockedStart | undefined {
  if (!(error instanceof AppError) || error.status === 400) return undefined;
  const reason = error.extensions().reason;
  if (typeof reason !== 'string') return undefined;
  const parsed = typeof input === 'string' ? parsePhoneNumberFromString(input) : undefined;
  return {
    reason,
    status: error.status,
    ...(parsed?.isValid() === true ? { phoneNumber: parsed.number } : {}),
  };
}
