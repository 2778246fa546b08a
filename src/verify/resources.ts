import type { DurableOrchestrationStatus } from 'durable-functions';
import type {
  ApiKeyResource,
  AttemptResource,
  BucketResource,
  PageMeta,
  RateLimitResource,
  SafeListResource,
  ServiceResource,
  VerificationCheckResource,
  VerificationResource,
} from './schemas';
import type {
  ApiKeyRecord,
  AttemptRecord,
  BucketRecord,
  RateLimitRecord,
  ServiceRecord,
} from './store';
import {
  attemptSid,
  type OpenedVerifyInput,
  type VerifyInput,
  type VerifyParameters,
  type VerifyStatus,
} from './rules';
import { VERIFY_ROUTE_BASE } from './names';

/** Records and orchestration statuses as Verify's own answers carry them (snake_case, ISO 8601). */
export interface ResourceContext {
  readonly origin: string;
  readonly accountSid: string;
}

export function verifyBaseUrl(origin: string): string {
  return `${origin}/api/${VERIFY_ROUTE_BASE}`;
}

export function serviceUrl(ctx: ResourceContext, sid: string): string {
  return `${verifyBaseUrl(ctx.origin)}/v2/Services/${sid}`;
}

export function toServiceResource(ctx: ResourceContext, s: ServiceRecord): ServiceResource {
  const url = serviceUrl(ctx, s.sid);
  return {
    sid: s.sid,
    account_sid: ctx.accountSid,
    friendly_name: s.friendlyName,
    code_length: s.codeLength,
    lookup_enabled: s.lookupEnabled,
    psd2_enabled: s.psd2Enabled,
    skip_sms_to_landlines: s.skipSmsToLandlines,
    dtmf_input_required: s.dtmfInputRequired,
    tts_name: s.ttsName,
    do_not_share_warning_enabled: s.doNotShareWarningEnabled,
    custom_code_enabled: s.customCodeEnabled,
    push: { include_date: false, apn_credential_sid: null, fcm_credential_sid: null },
    totp: { issuer: null, time_step: null, code_length: null, skew: null },
    default_template_sid: s.defaultTemplateSid,
    whatsapp: { msg_service_sid: null, from: null },
    passkeys: null,
    verify_event_subscription_enabled: s.verifyEventSubscriptionEnabled,
    date_created: s.dateCreated,
    date_updated: s.dateUpdated,
    url,
    links: {
      verification_checks: `${url}/VerificationCheck`,
      verifications: `${url}/Verifications`,
    },
  };
}

export function toApiKeyResource(key: ApiKeyRecord, secret?: string): ApiKeyResource {
  return {
    sid: key.sid,
    friendly_name: key.friendlyName,
    date_created: toRfc2822(key.dateCreated),
    date_updated: toRfc2822(key.dateUpdated),
    ...(secret === undefined ? {} : { secret }),
  };
}

/** A send as Verify's VerificationAttempt: the number masked in `channel_data`. */
export function toAttemptResource(ctx: ResourceContext, a: AttemptRecord): AttemptResource {
  return {
    sid: a.sid,
    account_sid: ctx.accountSid,
    service_sid: a.serviceSid,
    verification_sid: a.verificationSid,
    date_created: a.dateCreated,
    date_updated: a.dateUpdated,
    conversion_status: a.conversionStatus,
    channel: a.channel,
    price: null,
    channel_data: { to: a.maskedTo, country: a.country === '' ? null : a.country },
    url: `${verifyBaseUrl(ctx.origin)}/v2/Attempts/${a.sid}`,
  };
}

export function rateLimitUrl(ctx: ResourceContext, serviceSid: string, sid: string): string {
  return `${serviceUrl(ctx, serviceSid)}/RateLimits/${sid}`;
}

export function toRateLimitResource(
  ctx: ResourceContext,
  serviceSid: string,
  r: RateLimitRecord,
): RateLimitResource {
  const url = rateLimitUrl(ctx, serviceSid, r.sid);
  return {
    sid: r.sid,
    service_sid: serviceSid,
    account_sid: ctx.accountSid,
    unique_name: r.uniqueName,
    description: r.description,
    date_created: r.dateCreated,
    date_updated: r.dateUpdated,
    url,
    links: { buckets: `${url}/Buckets` },
  };
}

export function toBucketResource(
  ctx: ResourceContext,
  serviceSid: string,
  rateLimitSid: string,
  b: BucketRecord,
): BucketResource {
  return {
    sid: b.sid,
    rate_limit_sid: rateLimitSid,
    service_sid: serviceSid,
    account_sid: ctx.accountSid,
    max: b.max,
    interval: b.interval,
    date_created: b.dateCreated,
    date_updated: b.dateUpdated,
    url: `${rateLimitUrl(ctx, serviceSid, rateLimitSid)}/Buckets/${b.sid}`,
  };
}

/** The number as the caller gave it: the guard stores only an HMAC of it. */
export function toSafeListResource(
  ctx: ResourceContext,
  sid: string,
  phoneNumber: string,
): SafeListResource {
  return {
    sid,
    phone_number: phoneNumber,
    url: `${verifyBaseUrl(ctx.origin)}/v2/SafeList/Numbers/${encodeURIComponent(phoneNumber)}`,
  };
}

/** The 2010-04-01 API (where Twilio's keys live) dates in RFC 2822, as Twilio's answers do. */
function toRfc2822(iso: string): string {
  return new Date(iso).toUTCString().replace('GMT', '+0000');
}

/** The custom status as written by the orchestrator, or undefined before its first episode. */
export function readVerifyStatus(status: DurableOrchestrationStatus): VerifyStatus | undefined {
  const custom = status.customStatus as Partial<VerifyStatus> | null | undefined;
  return custom !== null && typeof custom === 'object' && typeof custom.status === 'string'
    ? (custom as VerifyStatus)
    : undefined;
}

/** Opens the `To` of a verification's input (sealed, or plain in verifications created before). */
export type OpenTo = (verificationSid: string, input: VerifyInput) => string | undefined;

/**
 * A verification's input with its `To` opened, for the account's answers; undefined when it is not a
 * Verify input or its recipient does not open (another secret's).
 */
export function readVerifyInput(
  status: DurableOrchestrationStatus,
  open: OpenTo,
): OpenedVerifyInput | undefined {
  const input = status.input as Partial<VerifyInput> | null | undefined;
  if (input === null || typeof input !== 'object' || typeof input.serviceSid !== 'string') {
    return undefined;
  }
  const { sealedTo: _sealed, maskedTo: _masked, to: _plain, ...parameters } = input as VerifyInput;
  const to = open(status.instanceId, input as VerifyInput);
  return to === undefined ? undefined : { ...parameters, to };
}

/** What a verification's answer and its check's share. */
function verificationBase(
  ctx: ResourceContext,
  sid: string,
  input: OpenedVerifyInput,
  custom: VerifyStatus,
) {
  return {
    sid,
    service_sid: input.serviceSid,
    account_sid: ctx.accountSid,
    to: input.to,
    channel: input.channel,
    status: custom.status,
    valid: custom.status === 'approved',
    amount: input.amount ?? null,
    payee: input.payee ?? null,
    date_created: custom.dateCreated,
    date_updated: custom.dateUpdated,
  };
}

export function toVerificationResource(
  ctx: ResourceContext,
  sid: string,
  input: OpenedVerifyInput,
  custom: VerifyStatus,
): VerificationResource {
  return {
    ...verificationBase(ctx, sid, input, custom),
    lookup: lookupOf(input),
    send_code_attempts: [...custom.sendCodeAttempts],
    sna: null,
    url: `${serviceUrl(ctx, input.serviceSid)}/Verifications/${sid}`,
  };
}

export function toCheckResource(
  ctx: ResourceContext,
  sid: string,
  input: OpenedVerifyInput,
  custom: VerifyStatus,
): VerificationCheckResource {
  return { ...verificationBase(ctx, sid, input, custom), sna_attempts_error_codes: [] };
}

const LINE_TYPES: Readonly<Record<string, string>> = {
  MOBILE: 'mobile',
  FIXED_LINE: 'landline',
  FIXED_LINE_OR_MOBILE: 'mobile',
  VOIP: 'voip',
};

/** `lookup`: `{}` as Verify answers without Lookup; the line type the app knows when enabled. */
function lookupOf(input: VerifyParameters): Record<string, unknown> {
  if (!input.lookupEnabled || input.lineType === undefined) return {};
  return {
    carrier: {
      type: LINE_TYPES[input.lineType] ?? null,
      error_code: null,
      mobile_country_code: null,
      mobile_network_code: null,
      name: null,
    },
  };
}

export function pageMeta(
  url: string,
  key: string,
  page: number,
  pageSize: number,
  nextToken: string | undefined,
): PageMeta {
  const at = (p: number, token?: string): string =>
    `${url}?PageSize=${pageSize}&Page=${p}${token === undefined ? '' : `&PageToken=${encodeURIComponent(token)}`}`;
  return {
    page,
    page_size: pageSize,
    first_page_url: at(0),
    previous_page_url: page > 0 ? at(page - 1) : null,
    url: at(page),
    next_page_url: nextToken === undefined ? null : at(page + 1, nextToken),
    key,
  };
}

/**
 * A verification's status before its orchestration's first episode wrote one (just created, the
 * first SMS on its way): pending, with its first send attempt.
 */
export function initialStatus(
  sid: string,
  input: Pick<VerifyParameters, 'serviceSid' | 'channel'>,
  createdAt: Date,
): VerifyStatus {
  const at = createdAt.toISOString();
  return {
    status: 'pending',
    serviceSid: input.serviceSid,
    channel: input.channel,
    dateCreated: at,
    dateUpdated: at,
    expiresAt: at,
    checkAttempts: 0,
    sendCodeAttempts: [{ attempt_sid: attemptSid(sid, 1), channel: input.channel, time: at }],
    replies: {},
  };
}
