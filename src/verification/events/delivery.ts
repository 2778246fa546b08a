import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { Webhook } from 'standardwebhooks';

import type { VerificationClient } from '../durable-client';
import { maskPhoneNumber } from '../../redact';
import {
  blockedEventId,
  lifecycleEventId,
  type EventData,
  type EventEnvelope,
  type PublishRequest,
} from './model';
import type { EventSettings } from './settings';
import { openPhoneNumber, type OpenRecipient } from '../recipient';

/** The orchestration that delivers one event; its instance id is the event id. */
export const DELIVERY_ORCHESTRATION = 'DeliverVerificationEvent';
export const PUBLISH_ACTIVITY = 'PublishVerificationEvents';
export const WEBHOOK_ACTIVITY = 'SendVerificationWebhook';

/** Input of the delivery orchestration: decided by the publisher, recorded in history. */
export interface DeliveryInput {
  readonly event: EventEnvelope;
  /** Indexes into `VERIFICATION_WEBHOOK_URLS` (URLs stay out of history: they may hold tokens). */
  readonly endpoints: readonly number[];
  readonly retry: { readonly firstRetryMs: number; readonly maxAttempts: number };
}

export interface WebhookInput {
  readonly event: EventEnvelope;
  readonly endpoint: number;
}

export interface DeliveryOutcome {
  readonly eventId: string;
  readonly type: string;
  readonly endpoints: readonly { readonly endpoint: number; readonly delivered: boolean }[];
}

export type Fetch = (url: URL, init: RequestInit) => Promise<Response>;

/**
 * `DeliverVerificationEvent`: each endpoint gets the event through `SendVerificationWebhook`
 * with durable retries (exponential backoff, timers on the runtime's clock). One endpoint failing
 * for good does not stop the others; the outcome is the orchestration's output and custom status,
 * which the dashboard lists.
 */
export function createDeliveryOrchestrator(): OrchestrationHandler {
  return function* deliverVerificationEvent(
    context: OrchestrationContext,
  ): Generator<Task, DeliveryOutcome, unknown> {
    const input = context.df.getInput<DeliveryInput>();
    const retry = new df.RetryOptions(input.retry.firstRetryMs, input.retry.maxAttempts);
    retry.backoffCoefficient = 2;
    const endpoints: { endpoint: number; delivered: boolean }[] = [];
    for (const endpoint of input.endpoints) {
      const request: WebhookInput = { event: input.event, endpoint };
      try {
        yield context.df.callActivityWithRetry(WEBHOOK_ACTIVITY, retry, request);
        endpoints.push({ endpoint, delivered: true });
      } catch {
        endpoints.push({ endpoint, delivered: false });
      }
      // Scalars only, so the dashboard's list shows them: `event`, `delivered`, `failed`.
      context.df.setCustomStatus({
        event: input.event.type,
        delivered: endpoints.filter((e) => e.delivered).length,
        failed: endpoints.filter((e) => !e.delivered).length,
      });
    }
    return { eventId: input.event.id, type: input.event.type, endpoints };
  };
}

/**
 * `SendVerificationWebhook`: one signed POST (Standard Webhooks headers `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`). Anything but 2xx throws, so the durable retry runs;
 * the error names the endpoint's index and status only (its URL may hold a token).
 */
export function createSendWebhook(deps: {
  readonly settings: () => EventSettings;
  readonly now: () => Date;
  readonly fetch?: Fetch;
}) {
  return async function sendVerificationWebhook(input: unknown): Promise<{ status: number }> {
    const { event, endpoint } = input as WebhookInput;
    const settings = deps.settings();
    const url = settings.endpoints[endpoint];
    if (url === undefined || settings.secret === undefined) {
      throw new Error(`webhook endpoint ${endpoint} is no longer configured`);
    }
    const body = JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
    const sentAt = deps.now();
    const signature = new Webhook(settings.secret).sign(event.id, sentAt, body);
    const response = await (deps.fetch ?? fetch)(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutSeconds * 1000),
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`webhook endpoint ${endpoint} answered HTTP ${response.status}`);
    }
    return { status: response.status };
  };
}

/**
 * `PublishVerificationEvents`: starts one delivery orchestration per event, its instance id the
 * event id, so a re-run of this activity starts nothing twice. Returns false when events are off,
 * and the orchestrator stops asking.
 */
export function createPublishEvents(deps: {
  readonly settings: () => EventSettings;
  readonly getClient: (context: InvocationContext) => VerificationClient;
  readonly now: () => Date;
  /** Opens the sealed number of the request's instance, which is masked before it leaves. */
  readonly openRecipient: OpenRecipient;
}) {
  return async function publishVerificationEvents(
    input: unknown,
    context: InvocationContext,
  ): Promise<boolean> {
    const settings = deps.settings();
    if (settings.endpoints.length === 0) return false;
    const request = input as PublishRequest;
    const client = deps.getClient(context);
    const phoneNumber = openPhoneNumber(deps.openRecipient, request.instanceId, request);
    if (phoneNumber === undefined)
      throw new TypeError('The events have no number of this instance');
    const number = describeNumber(phoneNumber);
    for (const event of request.events) {
      const data: EventData = {
        verificationId: request.instanceId,
        ...number,
        ...(event.channel === undefined ? {} : { channel: event.channel }),
        ...(event.sendNumber === undefined ? {} : { sendNumber: event.sendNumber }),
      };
      const envelope: EventEnvelope = {
        id: lifecycleEventId(request.instanceId, event),
        type: event.type,
        timestamp: deps.now().toISOString(),
        data,
      };
      await startDelivery(client, settings, envelope);
    }
    return true;
  };
}

/** A start the guard refused: its rule, status and (when it is one) the number, to be masked. */
export interface BlockedStart {
  readonly reason: string;
  readonly status: number;
  /** E.164, when the input was a valid number. */
  readonly phoneNumber?: string;
}

/** For the starters: a start the guard refused, announced within the per-minute budget. */
export async function publishBlocked(
  client: VerificationClient,
  settings: EventSettings,
  now: Date,
  refusal: BlockedStart,
): Promise<void> {
  const envelope: EventEnvelope = {
    id: blockedEventId(),
    type: 'verification.blocked',
    timestamp: now.toISOString(),
    data: {
      ...(refusal.phoneNumber === undefined ? {} : describeNumber(refusal.phoneNumber)),
      reason: refusal.reason,
      status: refusal.status,
    },
  };
  await startDelivery(client, settings, envelope);
}

async function startDelivery(
  client: VerificationClient,
  settings: EventSettings,
  event: EventEnvelope,
): Promise<void> {
  const input: DeliveryInput = {
    event,
    endpoints: settings.endpoints.map((_url, index) => index),
    retry: { firstRetryMs: settings.firstRetrySeconds * 1000, maxAttempts: settings.maxAttempts },
  };
  try {
    await client.startNew(DELIVERY_ORCHESTRATION, { instanceId: event.id, input });
  } catch (error: unknown) {
    // Already started by an earlier run of the publisher: the event is on its way.
    if (error instanceof Error && /\b(409|already exists)\b/i.test(error.message)) return;
    throw error;
  }
}

/** Masked number and its country; never the number itself. */
function describeNumber(e164: string): { phoneNumber: string; country?: string } {
  const country = parsePhoneNumberFromString(e164)?.country;
  return { phoneNumber: maskPhoneNumber(e164), ...(country === undefined ? {} : { country }) };
}
