import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { ApiTag } from '../http/openapi';
import { CODE_LENGTH_RANGE } from '../verification/rules';
import { VERIFY_ROUTE_BASE } from './names';
import { VERIFICATION_STATUSES, VERIFY_CHANNELS } from './rules';

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

const JSON_OBJECT = z
  .string()
  .max(4096)
  .refine((text) => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    } catch {
      return false;
    }
  }, 'must be a JSON object');

export const CreateVerificationForm = z
  .object({
    To: z.string().min(1).max(64),
    Channel: z.enum(VERIFY_CHANNELS),
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
    RateLimits: JSON_OBJECT.optional(),
    RiskCheck: z.enum(['enable', 'disable']).optional(),
    DeviceIp: z.string().max(64).optional(),
  })
  .meta({ id: 'VerifyCreateVerificationRequest' });
export type CreateVerificationForm = z.infer<typeof CreateVerificationForm>;

export const UpdateVerificationForm = z
  .object({ Status: z.enum(['canceled', 'approved']) })
  .meta({ id: 'VerifyUpdateVerificationRequest' });

export const CheckForm = z
  .object({
    Code: z.string().min(1).max(32).optional(),
    To: z.string().min(1).max(64).optional(),
    VerificationSid: z.string().max(64).optional(),
    Amount: z.string().max(64).optional(),
    Payee: z.string().max(64).optional(),
  })
  .meta({ id: 'VerifyVerificationCheckRequest' });

export const CreateKeyForm = z
  .object({ FriendlyName: z.string().max(64).optional() })
  .meta({ id: 'VerifyCreateApiKeyRequest' });

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
export function parseParams<S extends z.ZodType>(
  schema: S,
  params: URLSearchParams,
): z.infer<S> | { readonly invalid: string; readonly why: string } {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) if (!(key in raw)) raw[key] = value;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0] ?? 'body');
  return { invalid: name, why: issue.code === 'invalid_type' ? 'is required' : issue.message };
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

export const VerificationResource = z
  .object({
    sid: sid('VE'),
    service_sid: sid('VA'),
    account_sid: sid('AC'),
    to: z.string(),
    channel: z.enum(VERIFY_CHANNELS),
    status: z.enum(VERIFICATION_STATUSES),
    valid: z.boolean(),
    lookup: z.record(z.string(), z.unknown()),
    amount: z.string().nullable(),
    payee: z.string().nullable(),
    send_code_attempts: z.array(SendCodeAttemptResource),
    date_created: z.string(),
    date_updated: z.string(),
    sna: z.null(),
    url: z.string(),
  })
  .meta({ id: 'VerifyVerification' });
export type VerificationResource = z.infer<typeof VerificationResource>;

export const VerificationCheckResource = z
  .object({
    sid: sid('VE'),
    service_sid: sid('VA'),
    account_sid: sid('AC'),
    to: z.string(),
    channel: z.enum(VERIFY_CHANNELS),
    status: z.enum(VERIFICATION_STATUSES),
    valid: z.boolean(),
    amount: z.string().nullable(),
    payee: z.string().nullable(),
    sna_attempts_error_codes: z.array(z.unknown()),
    date_created: z.string(),
    date_updated: z.string(),
  })
  .meta({ id: 'VerifyVerificationCheck' });
export type VerificationCheckResource = z.infer<typeof VerificationCheckResource>;

export const ApiKeyResource = z
  .object({
    sid: sid('SK'),
    friendly_name: z.string(),
    date_created: z.string(),
    date_updated: z.string(),
    secret: z.string().optional(),
  })
  .meta({ id: 'VerifyApiKey' });
export type ApiKeyResource = z.infer<typeof ApiKeyResource>;

export const SafeListResource = z
  .object({
    sid: sid('GN'),
    phone_number: z.string(),
    url: z.string(),
  })
  .meta({ id: 'VerifySafeList' });
export type SafeListResource = z.infer<typeof SafeListResource>;

export const AttemptResource = z
  .object({
    sid: sid('VL'),
    account_sid: sid('AC'),
    service_sid: sid('VA'),
    verification_sid: sid('VE'),
    date_created: z.string(),
    date_updated: z.string(),
    conversion_status: z.enum(['converted', 'unconverted']),
    channel: z.string(),
    price: z.null(),
    channel_data: z.object({ to: z.string(), country: z.string().nullable() }),
    url: z.string(),
  })
  .meta({ id: 'VerifyAttempt' });
export type AttemptResource = z.infer<typeof AttemptResource>;

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

export const ServicePage = z
  .object({ services: z.array(ServiceResource), meta: PageMeta })
  .meta({ id: 'VerifyServicePage' });

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
  const serviceSid = z.object({ Sid: sid('VA') });
  const inService = z.object({ ServiceSid: sid('VA') });
  const paths: Parameters<OpenAPIRegistry['registerPath']>[0][] = [
    {
      method: 'post',
      path: `${base}/Services`,
      summary: 'Create a Service',
      request: { body: form(CreateServiceForm) },
      responses: { 201: answer('The service.', ServiceResource), ...errors },
    },
    {
      method: 'get',
      path: `${base}/Services`,
      summary: 'List Services',
      request: { query: ListQuery },
      responses: { 200: answer('A page of services.', ServicePage), ...errors },
    },
    {
      method: 'get',
      path: `${base}/Services/{Sid}`,
      summary: 'Fetch a Service',
      request: { params: serviceSid },
      responses: { 200: answer('The service.', ServiceResource), ...errors },
    },
    {
      method: 'post',
      path: `${base}/Services/{Sid}`,
      summary: 'Update a Service',
      request: { params: serviceSid, body: form(UpdateServiceForm) },
      responses: { 200: answer('The service.', ServiceResource), ...errors },
    },
    {
      method: 'delete',
      path: `${base}/Services/{Sid}`,
      summary: 'Delete a Service',
      request: { params: serviceSid },
      responses: { 204: { description: 'Deleted.' }, ...errors },
    },
    {
      method: 'post',
      path: `${base}/Services/{ServiceSid}/Verifications`,
      summary: 'Start a verification (sends the code)',
      request: { params: inService, body: form(CreateVerificationForm) },
      responses: {
        201: answer('The verification.', VerificationResource),
        ...errors,
        403: error(
          'Landline with SkipSmsToLandlines (60205), or refused by the fraud guard (60605).',
        ),
        429: error('Max send attempts (60203), or rate limited (20429, Retry-After).'),
      },
    },
    {
      method: 'get',
      path: `${base}/Services/{ServiceSid}/Verifications/{Sid}`,
      summary: 'Fetch a verification',
      request: { params: inService.extend({ Sid: sid('VE') }) },
      responses: { 200: answer('The verification.', VerificationResource), ...errors },
    },
    {
      method: 'post',
      path: `${base}/Services/{ServiceSid}/Verifications/{Sid}`,
      summary: 'Cancel or approve a verification',
      request: { params: inService.extend({ Sid: sid('VE') }), body: form(UpdateVerificationForm) },
      responses: { 200: answer('The verification.', VerificationResource), ...errors },
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
  ];
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
