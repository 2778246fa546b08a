import * as df from 'durable-functions';

import { getEventSettings, getVerificationConfig, lazy } from '../../composition';
import { createVerificationCrypto } from '../crypto';
import { getDurableClient } from '../durable-client';
import {
  DELIVERY_ORCHESTRATION,
  PUBLISH_ACTIVITY,
  WEBHOOK_ACTIVITY,
  createDeliveryOrchestrator,
  createPublishEvents,
  createSendWebhook,
} from './delivery';

/**
 * Registers verification events (issue 22): the activity the verification orchestrator calls
 * to publish, the delivery orchestration (one instance per event, its id the event id) and the
 * webhook activity it retries. Imported by the verification feature's registration.
 */
const now = (): Date => new Date();
/** Opens the sealed number the orchestrator passes; built on first use, like the feature's own. */
const crypto = lazy(() => createVerificationCrypto(getVerificationConfig().codeSecret));

export const publishVerificationEvents = df.app.activity(PUBLISH_ACTIVITY, {
  extraInputs: [df.input.durableClient()],
  handler: createPublishEvents({
    settings: getEventSettings,
    getClient: getDurableClient,
    now,
    openRecipient: (...args) => crypto().openRecipient(...args),
  }),
});

df.app.orchestration(DELIVERY_ORCHESTRATION, createDeliveryOrchestrator());

df.app.activity(WEBHOOK_ACTIVITY, {
  handler: createSendWebhook({ settings: getEventSettings, now }),
});
