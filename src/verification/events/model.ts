import { createHash, randomUUID } from 'node:crypto';

import type { Channel, LifecycleEvent, VerificationEventType } from '../rules';

export { EVENT_TYPES } from '../names';
export type { LifecycleEvent, PublishRequest, VerificationEventType } from '../rules';

export interface EventData {
  /** The verification (instance id); absent for a start the guard refused. */
  readonly verificationId?: string;
  /** Masked: `+1******0100`. */
  readonly phoneNumber?: string;
  readonly country?: string;
  readonly channel?: Channel;
  readonly sendNumber?: number;
  /** The guard rule that refused a start (`verification.blocked`). */
  readonly reason?: string;
  readonly status?: number;
}

export interface EventEnvelope {
  readonly id: string;
  readonly type: VerificationEventType;
  readonly timestamp: string;
  readonly data: EventData;
}

/**
 * The stable id of a lifecycle event: the same however often the activity that publishes it
 * runs, so receivers can deduplicate on `webhook-id`.
 */
export function lifecycleEventId(instanceId: string, event: LifecycleEvent): string {
  const digest = createHash('sha256')
    // A fallback sends the same code (send number) by another channel: a code-sent event of its own.
    .update(`${instanceId}\n${event.type}\n${event.sendNumber ?? 0}${channelPart(event)}`, 'utf8')
    .digest('base64url');
  return `evt_${digest.slice(0, 27)}`;
}

/** SMS, the first channel there was, keeps the ids it always had. */
function channelPart(event: LifecycleEvent): string {
  return event.channel === undefined || event.channel === 'sms' ? '' : `\n${event.channel}`;
}

/** A refused start has no instance: its event gets a fresh id once, when it is published. */
export function blockedEventId(): string {
  return `evt_${randomUUID().replace(/-/g, '')}`;
}

/**
 * At most `perMinute` events a minute pass; the rest are dropped (and counted), so a spray of
 * refused starts cannot turn this instance into a webhook flood. Bounded memory: two numbers.
 */
export class MinuteBudget {
  private windowStart = 0;
  private used = 0;
  dropped = 0;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  take(): boolean {
    const now = this.now();
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.perMinute) {
      this.dropped += 1;
      return false;
    }
    this.used += 1;
    return true;
  }
}
