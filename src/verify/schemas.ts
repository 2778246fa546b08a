import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { ApiTag } from '../http/openapi';
import { CODE_LENGTH_RANGE, EMAIL_PATTERN, MAX_EMAIL_LENGTH } from '../verification/rules';
import { invalidParameter } from './errors';
import { VERIFY_ROUTE_BASE } from './names';
import { VERIFICATION_STATUSES, VERIFY_CHANNELS } from './rules';
import { MAX_RATE_LIMITS_PER_SERVICE } from './rate-limits';

/**
 * Every request and answer shape of the Verify API, once: validation (form fields as the `twilio`
 * SDK sends them), TypeScript types and the OpenAPI document. Field names and types follow
 * `twilio/twilio-oai` `spec/json/twilio_verify_v2.json`.
 */

const formBool = z
  .enum(['true', 'false', 'True', 'False'])
  .transform((v) => v.toLowerCase() === 'true');
const formInt = z
  .string()
  .regex(/^\d{1,6}$/, 'must be an integer')
  .transform(Number);

/** Letters, digits, spaces, dashes, underscores, dots: Verify refuses links and special characters. */
const FRIENDLY_NAME = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(30, 'must be at most 30 characters')
  .regex(
    /^[\p{L}\p{N} ._'-]+$/u,
    'may hold only letters, digits, spaces, dots, dashes, underscores',
  );

const CODE_LENGTH = formInt.pipe(
  z
    .number()
    .int()
    .min(CODE_LENGTH_RANGE.min, `must be ${CODE_LENGTH_RANGE.min}..${CODE_LENGTH_RANGE.max}`)
    .max(CODE_LENGTH_RANGE.max, `must be ${CODE_LENGTH_RANGE.min}..${CODE_LENGTH_RANGE.max}`),
);

const serviceFields = {
  CodeLength: CODE_LENGTH.optional(),
  LookupEnabled: formBool.optional(),
  SkipSmsToLandlines: formBool.optional(),
  DtmfInputRequired: formBool.optional(),
  TtsName: z.string().max(64).optional(),
  Psd2Enabled: formBool.optional(),
  DoNotShareWarningEnabled: formBool.optional(),
  CustomCodeEnabled: formBool.optional(),
  DefaultTemplateSid: z
    .string()
    .regex(/^HJ[0-9a-fA-F]{32}$/, 'must be HJ followed by 32 hex characters')
    .optional(),
  VerifyEventSubscriptionEnabled: formBool.optional(),
};

export const CreateServiceForm = z
  .object({ FriendlyName: FRIENDLY_NAME, ...serviceFields })
  .meta({ id: 'VerifyCreateServiceRequest' });
export type CreateServiceForm = z.infer<typeof CreateServiceForm>;

export const UpdateServiceForm = z
  .object({ FriendlyName: FRIENDLY_NAME.optional(), ...serviceFields })
  .meta({ id: 'VerifyUpdateServiceRequest' });
export type UpdateServiceForm = z.infer<typeof UpdateServiceForm>;

export const ListQuery = z.object({
  PageSize: formInt.pipe(z.number().int().min(1).max(1000)).optional(),
  Page: formInt.pipe(z.number().int().min(0)).optional(),
  /** The Table continuation token our `next_page_url` carries: base64 of a small JSON object. */
  PageToken: z
    .string()
    .max(2048)
    .refine((token) => {
      try {
        const value: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
        return typeof value === 'object' && value !== null && !Array.isArray(value);
      } catch {
        return false;
      }
    }, 'is not a token this API answered')
    .optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

/** `Tags`: a JSON object of at most 10 string pairs, each up to 128 characters (Verify's limits). */
const TAGS = z
  .string()
  .max(4096)
  .refine((text) => {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const entries = Object.entries(value);
      return (
        entries.length <= 10 &&
        entries.every(([k, v]) => k.length <= 128 && typeof v === 'string' && v.length <= 128)
      );
    } catch {
      return false;
    }
  }, 'must be a JSON object of at most 10 string tags');

/**
 * `RateLimits`: a JSON object of rate-limit unique names to the values to meter, as the SDK
 * serialises `rateLimits`; numbers are taken as their text. Values may be personal data: they are
 * hashed before they are stored and never logged.
 */
const RATE_LIMIT_VALUES = z
  .string()
  .max(4096)
  .transform((text, ctx) => {
    const values = readRateLimitValues(text);
    if (values === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a JSON object of at most ${MAX_RATE_LIMITS_PER_SERVICE} names to values of up to 256 characters`,
      });
      return z.NEVER;
    }
    return values;
  });

/** A form field holding a JSON object (`RateLimits`, `ChannelConfiguration`), or undefined. */
function jsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function readRateLimitValues(text: string): Record<string, string> | undefined {
  const value = jsonObject(text);
  if (value === undefined) return undefined;
  const entries = Object.entries(value).map(([name, v]): [string, unknown] => [
    name,
    typeof v === 'number' && Number.isFinite(v) ? String(v) : v,
  ]);
  const valid =
    entries.length <= MAX_RATE_LIMITS_PER_SERVICE &&
    entries.every(([, v]) => typeof v === 'string' && v.length >= 1 && v.length <= 256);
  return valid ? (Object.fromEntries(entries) as Record<string, string>) : undefined;
}

/**
 * `ChannelConfiguration` of the email channel: a JSON object. `from` must be an email address, as Twilio's
 * spec says; `from_name`, `substitutions` and `template_id` are accepted. See docs/verify-api.md for what
 * the ACS Email sender makes of them.
 */
const EMAIL_CHANNEL_CONFIGURATION = z
  .string()
  .max(4096)
  .refine(
    isEmailChannelConfiguration,
    "must be the email channel's configuration: from (an email address), from_name, substitutions, template_id",
  );

function isEmailChannelConfiguration(text: string): boolean {
  const value = jsonObject(text);
  if (value === undefined) return false;
  const { from, from_name, template_id, substitutions } = value;
  const optionalString = (v: unknown, max: number): boolean =>
    v === undefined || (typeof v === 'string' && v.length <= max);
  return (
    (from === undefined || (typeof from === 'string' && isEmailAddress(from))) &&
    optionalString(from_name, 256) &&
    optionalString(template_id, 64) &&
    (substitutions === undefined ||
      (typeof substitutions === 'object' &&
        substitutions !== null &&
        !Array.isArray(substitutions)))
  );
}

/** An email address as both front doors take it (the links starter's `email`). */
export function isEmailAddress(text: string): boolean {
  return text.length <= MAX_EMAIL_LENGTH && EMAIL_PATTERN.test(text);
}

export const CreateVerificationForm = z
  .object({
    To: z
      .string()
      .min(1)
      .max(254)
      .meta({ description: 'An E.164 phone number, or an email address with `Channel=email`.' }),
    Channel: z.enum(VERIFY_CHANNELS).meta({
      description:
        '`sms` (Twilio, then ACS SMS on an outage), `call` and `whatsapp` (Twilio), `email` (ACS Email). ' +
        'A channel the deployment does not have, and `sna`, answer 60223.',
    }),
    CustomFriendlyName: FRIENDLY_NAME.optional(),
    Locale: z.string().min(1).max(35).optional(),
    CustomCode: z
      .string()
      .regex(/^\d{4,10}$/, 'must be 4-10 digits')
      .optional(),
    Amount: z.string().min(1).max(64).optional(),
    Payee: z.string().min(1).max(64).optional(),
    AppHash: z
      .string()
      .regex(/^[A-Za-z0-9+/]{11}$/, 'must be an 11-character app hash')
      .optional(),
    Tags: TAGS.optional(),
    RateLimits: RATE_LIMIT_VALUES.optional(),
    RiskCheck: z.enum(['enable', 'disable']).optional(),
    DeviceIp: z.string().max(64).optional(),
    ChannelConfiguration: EMAIL_CHANNEL_CONFIGURATION.optional().meta({
      description:
        'Email only: JSON `{"from", "from_name", "substitutions", "template_id"}`, validated (`from` an ' +
        "email address) but not applied: ACS sends from the deployment's sender with the app's localized text.",
    }),
  })
  .meta({ id: 'VerifyCreateVerificationRequest' });
export type CreateVerificationForm = z.infer<typeof CreateVerificationForm>;

export const UpdateVerificationForm = z
  .object({ Status: z.enum(['canceled', 'approved']) })
  .meta({ id: 'VerifyUpdateVerificationRequest' });

export const CheckForm = z
  .object({
    Code: z.string().min(1).max(32).optional(),
    To: z.string().min(1).max(254).optional(),
    VerificationSid: z.string().max(64).optional(),
    Amount: z.string().max(64).optional(),
    Payee: z.string().max(64).optional(),
  })
  .meta({ id: 'VerifyVerificationCheckRequest' });

export const CreateKeyForm = z
  .object({ FriendlyName: z.string().max(64).optional() })
  .meta({ id: 'VerifyCreateApiKeyRequest' });

/** Max and Interval: positive integers (Interval up to 30 days, in seconds). */
const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be a positive integer').max(max, `must be at most ${max}`));
const BUCKET_MAX = positiveInt(1_000_000);
const BUCKET_INTERVAL = positiveInt(2_592_000);
const DESCRIPTION = z.string().max(255, 'must be at most 255 characters');

/** The format (60209) is checked by the API, so only presence is the schema's. */
export const CreateRateLimitForm = z
  .object({ UniqueName: z.string(), Description: DESCRIPTION.optional() })
  .meta({ id: 'VerifyCreateRateLimitRequest' });

export const UpdateRateLimitForm = z
  .object({ Description: DESCRIPTION.optional() })
  .meta({ id: 'VerifyUpdateRateLimitRequest' });

export const CreateBucketForm = z
  .object({ Max: BUCKET_MAX, Interval: BUCKET_INTERVAL })
  .meta({ id: 'VerifyCreateBucketRequest' });

export const UpdateBucketForm = z
  .object({ Max: BUCKET_MAX.optional(), Interval: BUCKET_INTERVAL.optional() })
  .meta({ id: 'VerifyUpdateBucketRequest' });

const ATTEMPT_CHANNEL = z.enum(['sms', 'call', 'email', 'whatsapp', 'rbm']);
const isoDate = z.iso.datetime({ offset: true });
const country = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code');

export const SummaryQuery = z
  .object({
    VerifyServiceSid: z
      .string()
      .regex(/^VA[0-9a-fA-F]{32}$/)
      .optional(),
    DateCreatedAfter: isoDate.optional(),
    DateCreatedBefore: isoDate.optional(),
    Country: country.optional(),
    Channel: ATTEMPT_CHANNEL.optional(),
    DestinationPrefix: z
      .string()
      .regex(/^\+\d{1,15}$/, 'must be + and digits')
      .optional(),
  })
  .meta({ id: 'VerifyAttemptsSummaryQuery' });

export const ListAttemptsQuery = ListQuery.extend({
  VerifyServiceSid: z
    .string()
    .regex(/^VA[0-9a-fA-F]{32}$/)
    .optional(),
  VerificationSid: z
    .string()
    .regex(/^VE[0-9a-fA-F]{32}$/)
    .optional(),
  DateCreatedAfter: isoDate.optional(),
  DateCreatedBefore: isoDate.optional(),
  Country: country.optional(),
  Channel: ATTEMPT_CHANNEL.optional(),
  Status: z.enum(['converted', 'unconverted']).optional(),
}).meta({ id: 'VerifyListAttemptsQuery' });

/** E.164: `+`, a country code and up to 15 digits in all. */
export const E164_NUMBER = /^\+[1-9]\d{6,14}$/;

export const CreateSafeListForm = z
  .object({ PhoneNumber: z.string().regex(E164_NUMBER, 'must be an E.164 phone number') })
  .meta({ id: 'VerifyCreateSafeListRequest' });

/** Parses a form (or query) into a shape; the first bad parameter answers 60200 naming it. */
export function parseParams<S extends z.ZodType>(schema: S, params: URLSearchParams): z.infer<S> {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) if (!(key in raw)) raw[key] = value;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0] ?? 'body');
  throw invalidParameter(name, issue.code === 'invalid_type' ? 'is required' : issue.message);
}

/** The parameters given, under the record's names: `[['CodeLength', 'codeLength'], ...]`. */
export function renamed<P extends object, R>(
  params: P,
  names: readonly (readonly [keyof P, keyof R])[],
): Partial<R> {
  const out: Partial<Record<keyof R, unknown>> = {};
  for (const [param, field] of names) if (params[param] !== undefined) out[field] = params[param];
  return out as Partial<R>;
}

// Answers ----------------------------------------------------------------------------------------

const sid = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`));

export const ServiceResource = z
  .object({
    sid: sid('VA'),
    account_sid: sid('AC'),
    friendly_name: z.string(),
    code_length: z.number().int(),
    lookup_enabled: z.boolean(),
    psd2_enabled: z.boolean(),
    skip_sms_to_landlines: z.boolean(),
    dtmf_input_required: z.boolean(),
    tts_name: z.string().nullable(),
    do_not_share_warning_enabled: z.boolean(),
    custom_code_enabled: z.boolean(),
    push: z.object({
      include_date: z.boolean(),
      apn_credential_sid: z.null(),
      fcm_credential_sid: z.null(),
    }),
    totp: z.object({
      issuer: z.null(),
      time_step: z.null(),
      code_length: z.null(),
      skew: z.null(),
    }),
    default_template_sid: z.string().nullable(),
    whatsapp: z.object({ msg_service_sid: z.null(), from: z.null() }),
    passkeys: z.null(),
    verify_event_subscription_enabled: z.boolean(),
    date_created: z.string(),
    date_updated: z.string(),
    url: z.string(),
    links: z.record(z.string(), z.string()),
  })
  .meta({ id: 'VerifyService' });
export type ServiceResource = z.infer<typeof ServiceResource>;

export const SendCodeAttemptResource = z.object({
  attempt_sid: sid('VL'),
  channel: z.enum(VERIFY_CHANNELS),
  time: z.string(),
});

/** A resource: its `sid` (with its prefix) and its own fields. */
const resource = <F extends z.ZodRawShape>(prefix: string, fields: F) =>
  z.object({ sid: sid(prefix), ...fields });

/** What every resource of a service carries: its sid, its service's and account's, its dates. */
const inServiceResource = <F extends z.ZodRawShape>(prefix: string, fields: F) =>
  resource(prefix, {
    service_sid: sid('VA'),
    account_sid: sid('AC'),
    date_created: z.string(),
    date_updated: z.string(),
    ...fields,
  });

/** A verification's own fields, in its answers and in its checks'. */
const verificationFields = {
  to: z.string(),
  channel: z.enum(VERIFY_CHANNELS),
  status: z.enum(VERIFICATION_STATUSES),
  valid: z.boolean(),
  amount: z.string().nullable(),
  payee: z.string().nullable(),
};

export const VerificationResource = inServiceResource('VE', {
  ...verificationFields,
  lookup: z.record(z.string(), z.unknown()),
  send_code_attempts: z.array(SendCodeAttemptResource),
  sna: z.null(),
  url: z.string(),
}).meta({ id: 'VerifyVerification' });
export type VerificationResource = z.infer<typeof VerificationResource>;

export const VerificationCheckResource = inServiceResource('VE', {
  ...verificationFields,
  sna_attempts_error_codes: z.array(z.unknown()),
}).meta({ id: 'VerifyVerificationCheck' });
export type VerificationCheckResource = z.infer<typeof VerificationCheckResource>;

export const ApiKeyResource = resource('SK', {
  friendly_name: z.string(),
  date_created: z.string(),
  date_updated: z.string(),
  secret: z.string().optional(),
}).meta({ id: 'VerifyApiKey' });
export type ApiKeyResource = z.infer<typeof ApiKeyResource>;

export const SafeListResource = resource('GN', { phone_number: z.string(), url: z.string() }).meta({
  id: 'VerifySafeList',
});
export type SafeListResource = z.infer<typeof SafeListResource>;

export const AttemptResource = inServiceResource('VL', {
  verification_sid: sid('VE'),
  conversion_status: z.enum(['converted', 'unconverted']),
  channel: z.string(),
  price: z.null(),
  channel_data: z.object({ to: z.string(), country: z.string().nullable() }),
  url: z.string(),
}).meta({ id: 'VerifyAttempt' });
export type AttemptResource = z.infer<typeof AttemptResource>;

export const RateLimitResource = inServiceResource('RK', {
  unique_name: z.string(),
  description: z.string().nullable(),
  url: z.string(),
  links: z.object({ buckets: z.string() }),
}).meta({ id: 'VerifyRateLimit' });
export type RateLimitResource = z.infer<typeof RateLimitResource>;

export const BucketResource = inServiceResource('BL', {
  rate_limit_sid: sid('RK'),
  max: z.number().int(),
  interval: z.number().int(),
  url: z.string(),
}).meta({ id: 'VerifyRateLimitBucket' });
export type BucketResource = z.infer<typeof BucketResource>;

export const AttemptsSummaryResource = z
  .object({
    total_attempts: z.number().int(),
    total_converted: z.number().int(),
    total_unconverted: z.number().int(),
    conversion_rate_percentage: z.string(),
    url: z.string(),
  })
  .meta({ id: 'VerifyAttemptsSummary' });

export const PageMeta = z.object({
  page: z.number().int(),
  page_size: z.number().int(),
  first_page_url: z.string(),
  previous_page_url: z.string().nullable(),
  url: z.string(),
  next_page_url: z.string().nullable(),
  key: z.string(),
});
export type PageMeta = z.infer<typeof PageMeta>;

export const TwilioError = z
  .object({
    code: z.number().int(),
    message: z.string(),
    more_info: z.string(),
    status: z.number().int(),
  })
  .meta({ id: 'VerifyError' });

/**
 * The Verify routes in the app's OpenAPI document: each operation as Twilio documents it, below
 * `/api/verify`, with HTTP Basic (account SID and auth token, or API key and secret).
 */
export function registerVerifyApiOpenApi(registry: OpenAPIRegistry): ApiTag {
  const basic = registry.registerComponent('securitySchemes', 'verifyBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'Account SID and auth token, or API key SID (SK…) and secret.',
  });
  const base = `/api/${VERIFY_ROUTE_BASE}/v2`;
  const form = (schema: z.ZodType) => ({
    content: { 'application/x-www-form-urlencoded': { schema } },
  });
  const answer = (description: string, schema: z.ZodType) => ({
    description,
    content: { 'application/json': { schema } },
  });
  const error = (description: string) => answer(description, TwilioError);
  const errors = {
    400: error(
      'Invalid parameter (60200), or neither To nor VerificationSid (60221), or channel disabled (60223).',
    ),
    401: error('Wrong or missing credentials (20003).'),
    404: error('No such resource (20404).'),
  };
  const security = [{ [basic.name]: [] }];
  const tag: ApiTag = {
    name: 'Verify v2',
    description:
      "Twilio Verify v2, self-hosted: the `twilio` SDK works with `client.verify.baseUrl = '<origin>/api/verify'`. HTTP Basic (account SID and auth token, or API key and secret); errors in Twilio's shape `{code, message, more_info, status}`.",
  };
  const tags = [tag.name];
  const inService = z.object({ ServiceSid: sid('VA') });
  type PathSpec = Parameters<OpenAPIRegistry['registerPath']>[0];
  /**
   * A Twilio list-and-instance resource: create and list on `list`, fetch, update and delete on
   * `list/{Sid}` (a sid with `prefix`). Its names come from the path's last segment (`RateLimits`:
   * "a rate limit", the page's `rate_limits`); `invalid` adds its own 400 codes.
   */
  const resourcePaths = (
    list: string,
    listParams: z.ZodObject | undefined,
    prefix: string,
    r: { readonly schemas: readonly [z.ZodType, z.ZodType, z.ZodType]; readonly invalid?: string },
  ): PathSpec[] => {
    const words = list.slice(list.lastIndexOf('/') + 1).split(/(?=[A-Z])/);
    const many = words.join(' ').toLowerCase();
    const one = many.slice(0, -1);
    const [resource, createForm, updateForm] = r.schemas;
    const page = z
      .object({ [words.join('_').toLowerCase()]: z.array(resource), meta: PageMeta })
      .meta({ id: `${String(resource.meta()?.id)}Page` });
    const itemParams = (listParams ?? z.object({})).extend({ Sid: sid(prefix) });
    const answerOne = answer(`The ${one}.`, resource);
    const writeErrors =
      r.invalid === undefined
        ? errors
        : { ...errors, 400: error(`Invalid parameter (60200), ${r.invalid}.`) };
    const item = `${list}/{Sid}`;
    const inList = listParams === undefined ? {} : { params: listParams };
    return [
      {
        method: 'post',
        path: list,
        summary: `Create a ${one}`,
        request: { ...inList, body: form(createForm) },
        responses: { 201: answerOne, ...writeErrors },
      },
      {
        method: 'get',
        path: list,
        summary: `List ${many}`,
        request: { ...inList, query: ListQuery },
        responses: { 200: answer(`A page of ${many}.`, page), ...errors },
      },
      {
        method: 'get',
        path: item,
        summary: `Fetch a ${one}`,
        request: { params: itemParams },
        responses: { 200: answerOne, ...errors },
      },
      {
        method: 'post',
        path: item,
        summary: `Update a ${one}`,
        request: { params: itemParams, body: form(updateForm) },
        responses: { 200: answerOne, ...writeErrors },
      },
      {
        method: 'delete',
        path: item,
        summary: `Delete a ${one}`,
        request: { params: itemParams },
        responses: { 204: { description: 'Deleted.' }, ...errors },
      },
    ];
  };
  const paths: PathSpec[] = resourcePaths(`${base}/Services`, undefined, 'VA', {
    schemas: [ServiceResource, CreateServiceForm, UpdateServiceForm],
  });
  const verifications = `${base}/Services/{ServiceSid}/Verifications`;
  const verification = inService.extend({ Sid: sid('VE') });
  const theVerification = answer('The verification.', VerificationResource);
  paths.push(
    {
      method: 'post',
      path: verifications,
      summary: 'Start a verification (sends the code)',
      request: { params: inService, body: form(CreateVerificationForm) },
      responses: {
        201: theVerification,
        ...errors,
        403: error(
          'Landline with SkipSmsToLandlines (60205), or refused by the fraud guard (60605).',
        ),
        429: error(
          'Max send attempts (60203), or rate limited by the guard or a bucket of the RateLimits named (20429, Retry-After).',
        ),
      },
    },
    {
      method: 'get',
      path: `${verifications}/{Sid}`,
      summary: 'Fetch a verification',
      request: { params: verification },
      responses: { 200: theVerification, ...errors },
    },
    {
      method: 'post',
      path: `${verifications}/{Sid}`,
      summary: 'Cancel or approve a verification',
      request: { params: verification, body: form(UpdateVerificationForm) },
      responses: { 200: theVerification, ...errors },
    },
    {
      method: 'post',
      path: `${base}/Services/{ServiceSid}/VerificationCheck`,
      summary: 'Check a code',
      request: { params: inService, body: form(CheckForm) },
      responses: {
        200: answer('approved, or pending for a wrong code.', VerificationCheckResource),
        ...errors,
        429: error('Max check attempts reached (60202).'),
      },
    },
  );
  paths.push(
    {
      method: 'get',
      path: `${base}/Attempts`,
      summary: 'List send attempts (numbers masked)',
      request: { query: ListAttemptsQuery },
      responses: {
        200: answer(
          'A page of attempts.',
          z.object({ attempts: z.array(AttemptResource), meta: PageMeta }),
        ),
        ...errors,
      },
    },
    {
      method: 'get',
      path: `${base}/Attempts/Summary`,
      summary: 'Conversion of send attempts by service, channel, country, prefix, dates',
      request: { query: SummaryQuery },
      responses: { 200: answer('The summary.', AttemptsSummaryResource), ...errors },
    },
    {
      method: 'get',
      path: `${base}/Attempts/{Sid}`,
      summary: 'Fetch a send attempt',
      request: { params: z.object({ Sid: sid('VL') }) },
      responses: { 200: answer('The attempt.', AttemptResource), ...errors },
    },
  );
  // Programmable rate limits: a verification names them in RateLimits; buckets limit each value.
  const rateLimits = `${base}/Services/{ServiceSid}/RateLimits`;
  const inRateLimit = inService.extend({ RateLimitSid: sid('RK') });
  paths.push(
    ...resourcePaths(rateLimits, inService, 'RK', {
      schemas: [RateLimitResource, CreateRateLimitForm, UpdateRateLimitForm],
      invalid: 'on create UniqueName format (60209) or taken (60208), too many (60207)',
    }),
    ...resourcePaths(`${rateLimits}/{RateLimitSid}/Buckets`, inRateLimit, 'BL', {
      schemas: [BucketResource, CreateBucketForm, UpdateBucketForm],
      invalid: 'too many buckets (60210), Interval taken (60211)',
    }),
  );
  const safeNumber = z.object({ PhoneNumber: z.string().regex(E164_NUMBER) });
  paths.push(
    {
      method: 'post',
      path: `${base}/SafeList/Numbers`,
      summary: 'Add a number to the SafeList (exempt from the conversion block)',
      request: { body: form(CreateSafeListForm) },
      responses: { 201: answer('The entry.', SafeListResource), ...errors },
    },
    {
      method: 'get',
      path: `${base}/SafeList/Numbers/{PhoneNumber}`,
      summary: 'Check whether a number is on the SafeList',
      request: { params: safeNumber },
      responses: { 200: answer('The entry.', SafeListResource), ...errors },
    },
    {
      method: 'delete',
      path: `${base}/SafeList/Numbers/{PhoneNumber}`,
      summary: 'Remove a number from the SafeList',
      request: { params: safeNumber },
      responses: { 204: { description: 'Removed.' }, ...errors },
    },
  );
  const accounts = `/api/${VERIFY_ROUTE_BASE}/2010-04-01/Accounts/{AccountSid}`;
  const account = z.object({ AccountSid: sid('AC') });
  const keyParams = account.extend({ Sid: sid('SK') });
  paths.push(
    {
      method: 'post',
      path: `${accounts}/Keys.json`,
      summary: 'Create an API key (account credentials only; the secret is answered once)',
      request: { params: account, body: form(CreateKeyForm) },
      responses: { 201: answer('The key with its secret.', ApiKeyResource), ...errors },
    },
    {
      method: 'get',
      path: `${accounts}/Keys/{Sid}.json`,
      summary: 'Fetch an API key (never its secret)',
      request: { params: keyParams },
      responses: { 200: answer('The key.', ApiKeyResource), ...errors },
    },
    {
      method: 'delete',
      path: `${accounts}/Keys/{Sid}.json`,
      summary: 'Revoke an API key',
      request: { params: keyParams },
      responses: { 204: { description: 'Revoked.' }, ...errors },
    },
  );
  for (const path of paths) {
    registry.registerPath({
      ...path,
      operationId: operationIdOf(path.method, path.path),
      tags,
      security,
    });
  }
  return tag;
}

/** `post /api/verify/v2/Services/{Sid}` → `verifyPostServicesSid`: unique, stable, derived from the route. */
function operationIdOf(method: string, path: string): string {
  const words = path
    .replace(`/api/${VERIFY_ROUTE_BASE}/`, '')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '' && !/^\d/.test(w));
  return `verify${method[0]!.toUpperCase()}${method.slice(1)}${words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}`;
}
