import { app } from '@azure/functions';
import * as df from 'durable-functions';
import {
  getDelivery,
  getSendGuard,
  getVerificationConfig,
  getVerifySettings,
  getVerifyStore,
  lazy,
} from '../composition';
import { createVerificationCrypto } from '../verification/crypto';
import { getDurableClient } from '../verification/durable-client';
import { createSendVerifyCode } from './activity';
import { createChannelSenders } from './channels';
import { createKeysApi } from './keys-api';
import { VERIFY_ACTIVITY, VERIFY_ORCHESTRATION, VERIFY_ROUTE_BASE } from './names';
import { createVerifyOrchestrator } from './orchestrator';
import type { ResourceContext } from './resources';
import { createVerifyHandler, type VerifyRoute } from './router';
import { createAttemptsApi } from './attempts-api';
import { createSafeListApi } from './safe-list-api';
import { RateLimitMeter } from './rate-limits';
import { createRateLimitsApi } from './rate-limits-api';
import { ConfigError } from '../errors';
import { STORAGE_KEYS } from '../storage/settings';
import { TableRowStore, type RowStore } from '../verification/guard/row-store';
import { createServicesApi } from './services-api';
import { createVerificationsApi } from './verifications-api';

/**
 * Registers the Verify v2 API: its orchestration (one per verification), the send activity and
 * the route table below `/api/verify`.
 */

const channels = createChannelSenders(getDelivery);
const codeSecret = (): string => getVerificationConfig().codeSecret;

export const sendVerifyCode = df.app.activity(VERIFY_ACTIVITY.SendVerificationCode, {
  handler: createSendVerifyCode({
    channels,
    codeSecret,
    rules: () => {
      const s = getVerifySettings();
      return {
        validitySeconds: s.codeValiditySeconds,
        maxCheckAttempts: s.maxCheckAttempts,
        maxSendAttempts: s.maxSendAttempts,
      };
    },
  }),
});

/** The verification feature's judge (sealed answers, constant-time hash compare), built on first use. */
const crypto = lazy(() => createVerificationCrypto(getVerificationConfig().codeSecret));

/** Exported so tests can replay exactly what is registered. */
export const verifyOrchestratorHandler = createVerifyOrchestrator({
  sendCode: sendVerifyCode,
  judgeAnswer: (...args) => crypto().judgeAnswer(...args),
});

df.app.orchestration(VERIFY_ORCHESTRATION, verifyOrchestratorHandler);

const now = (): Date => new Date();
const resources = (): ResourceContext => ({
  origin: getVerificationConfig().links.publicOrigin.origin,
  accountSid: getVerifySettings().accountSid,
});
const services = createServicesApi({ store: getVerifyStore, resources, now });
/** Rate-limit counters: the fraud guard's row store, in a partition of the Verify table. */
const rateLimitCounters = lazy((): RowStore => {
  const { storage } = getVerificationConfig();
  if (storage === undefined) {
    throw new ConfigError([{ field: STORAGE_KEYS.connectionString, message: 'required' }]);
  }
  return TableRowStore.create(storage, getVerifySettings().tableName, 'ratelimit-counter');
});
const verifications = createVerificationsApi({
  store: getVerifyStore,
  resources,
  getClient: getDurableClient,
  guard: getSendGuard,
  channels,
  rateLimits: new RateLimitMeter({ store: rateLimitCounters, secret: codeSecret, now }),
  codeSecret,
  settings: getVerifySettings,
  now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});
const keys = createKeysApi({
  store: getVerifyStore,
  accountSid: () => getVerifySettings().accountSid,
  now,
});

const safeList = createSafeListApi({ safeList: () => getSendGuard().safeList, resources });

const attempts = createAttemptsApi({ store: getVerifyStore, resources });

const rateLimits = createRateLimitsApi({ store: getVerifyStore, resources, now });

const v2 = `${VERIFY_ROUTE_BASE}/v2/Services`;
const attemptsRoute = `${VERIFY_ROUTE_BASE}/v2/Attempts`;
const safeListNumbers = `${VERIFY_ROUTE_BASE}/v2/SafeList/Numbers`;
const accounts = `${VERIFY_ROUTE_BASE}/2010-04-01/Accounts/{AccountSid}`;

/** The route table: one entry per path, one operation per method. */
export const VERIFY_ROUTES: readonly VerifyRoute[] = [
  { name: 'verifyServices', route: v2, operations: { GET: services.list, POST: services.create } },
  {
    name: 'verifyService',
    route: `${v2}/{Sid}`,
    operations: { GET: services.fetch, POST: services.update, DELETE: services.remove },
  },
  {
    name: 'verifyRateLimits',
    route: `${v2}/{ServiceSid}/RateLimits`,
    operations: { GET: rateLimits.list, POST: rateLimits.create },
  },
  {
    name: 'verifyRateLimit',
    route: `${v2}/{ServiceSid}/RateLimits/{Sid}`,
    operations: { GET: rateLimits.fetch, POST: rateLimits.update, DELETE: rateLimits.remove },
  },
  {
    name: 'verifyRateLimitBuckets',
    route: `${v2}/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets`,
    operations: { GET: rateLimits.buckets.list, POST: rateLimits.buckets.create },
  },
  {
    name: 'verifyRateLimitBucket',
    route: `${v2}/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid}`,
    operations: {
      GET: rateLimits.buckets.fetch,
      POST: rateLimits.buckets.update,
      DELETE: rateLimits.buckets.remove,
    },
  },
  {
    name: 'verifyVerifications',
    route: `${v2}/{ServiceSid}/Verifications`,
    operations: { POST: verifications.create },
  },
  {
    name: 'verifyVerification',
    route: `${v2}/{ServiceSid}/Verifications/{Sid}`,
    operations: { GET: verifications.fetch, POST: verifications.update },
  },
  {
    name: 'verifyVerificationCheck',
    route: `${v2}/{ServiceSid}/VerificationCheck`,
    operations: { POST: verifications.check },
  },
  { name: 'verifyAttempts', route: attemptsRoute, operations: { GET: attempts.list } },
  {
    name: 'verifyAttemptsSummary',
    route: `${attemptsRoute}/Summary`,
    operations: { GET: attempts.summary },
  },
  { name: 'verifyAttempt', route: `${attemptsRoute}/{Sid}`, operations: { GET: attempts.fetch } },
  { name: 'verifySafeList', route: safeListNumbers, operations: { POST: safeList.create } },
  {
    name: 'verifySafeListNumber',
    route: `${safeListNumbers}/{PhoneNumber}`,
    operations: { GET: safeList.fetch, DELETE: safeList.remove },
  },
  { name: 'verifyApiKeys', route: `${accounts}/Keys.json`, operations: { POST: keys.create } },
  {
    name: 'verifyApiKey',
    route: `${accounts}/Keys/{Sid}.json`,
    operations: { GET: keys.fetch, DELETE: keys.remove },
  },
];

const auth = {
  accountSid: () => getVerifySettings().accountSid,
  authToken: () => getVerifySettings().authToken,
  findKey: (sid: string) => getVerifyStore().getKey(sid),
};

// Anonymous at the host: every route checks Twilio's Basic credentials itself.
for (const route of VERIFY_ROUTES) {
  app.http(route.name, {
    route: route.route,
    methods: Object.keys(route.operations) as ('GET' | 'POST' | 'DELETE')[],
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: createVerifyHandler(route, auth),
  });
}
