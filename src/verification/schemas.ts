import { z } from 'zod';
import { ValidationError } from '../errors';
import { isRecord } from '../http/parse';
import { bodyObject, integerIn, isoDateTime, parseWith, requiredOr, text } from '../http/schema';
import { CHANNELS } from '../delivery/channels';
import { isWellFormedCode, type WellFormedCode } from './codes';
import { LINK_PURPOSES } from './links';
import {
  CODE_LENGTH_RANGE,
  E164_PATTERN,
  EMAIL_PATTERN,
  FALLBACK_AFTER_SECONDS_RANGE,
  MAX_EMAIL_LENGTH,
  MAX_FALLBACK_STEPS,
  VERIFICATION_STATES,
  type FallbackStep,
} from './rules';
import { canonicalLocale, LOCALE_MESSAGE, MAX_LOCALE_LENGTH, SMS_LOCALES } from './sms-templates';

/**
 * The request and response shapes of the verification routes, one zod schema each: the handlers
 * parse with them, their types are `z.infer` of them, and `openapi.ts` documents them. The phone
 * number itself is judged by the guard's phone policy (libphonenumber-js), not here.
 */

export const PhoneNumber = z
  .string()
  .regex(E164_PATTERN)
  .meta({
    id: 'PhoneNumber',
    description: 'E.164: + and 8 to 15 digits.',
    examples: ['+14255550100'],
  });

/** A BCP 47 tag, canonicalised (`ko-kr` → `ko-KR`). */
const Locale = z
  .string({ error: LOCALE_MESSAGE })
  .min(1, { error: LOCALE_MESSAGE, abort: true })
  .max(MAX_LOCALE_LENGTH, { error: LOCALE_MESSAGE, abort: true })
  .transform((tag, ctx) => {
    const canonical = canonicalLocale(tag);
    if (canonical === undefined) {
      ctx.issues.push({ code: 'custom', message: LOCALE_MESSAGE, input: tag });
      return z.NEVER;
    }
    return canonical;
  })
  .meta({
    description: `A BCP 47 language tag for the SMS text; negotiated to one of ${SMS_LOCALES.join(', ')} (else en).`,
    examples: ['ko'],
  });

const CHANNEL_MESSAGE = `must be one of ${CHANNELS.join(', ')}`;
const ChannelName = z.enum(CHANNELS, { error: CHANNEL_MESSAGE }).meta({
  id: 'Channel',
  description:
    'How the code travels: `sms` (Twilio, then ACS SMS on an outage), `call` (spoken twice), `whatsapp` (approved template), `email` (ACS Email). Each must be configured on the deployment.',
});

/** `auto` is the starter's to resolve: a landline gets `call`, any other number `sms`. */
export const AUTO_CHANNEL = 'auto';
const REQUESTED_CHANNELS = [...CHANNELS, AUTO_CHANNEL] as const;
export type RequestedChannel = (typeof REQUESTED_CHANNELS)[number];
const REQUESTED_CHANNEL_MESSAGE = `must be one of ${REQUESTED_CHANNELS.join(', ')}`;
const RequestedChannelName = z.enum(REQUESTED_CHANNELS, { error: REQUESTED_CHANNEL_MESSAGE }).meta({
  id: 'RequestedChannel',
  description:
    "The first send's channel (default `sms`): one of the channels, or `auto`: `call` for a landline (a fixed-line number) when the deployment has calls, else `sms`. The starter resolves `auto` before the verification starts; its status and history name the concrete channel.",
});

const FALLBACK_MESSAGE = `must be a list of at most ${MAX_FALLBACK_STEPS} steps {channel, afterSeconds} (afterSeconds ${FALLBACK_AFTER_SECONDS_RANGE.min}..${FALLBACK_AFTER_SECONDS_RANGE.max}), optionally after the first step {channel}`;
const FallbackStepSchema = z
  .strictObject({
    channel: ChannelName,
    afterSeconds: integerIn(FALLBACK_AFTER_SECONDS_RANGE).optional(),
  })
  .meta({
    id: 'FallbackStep',
    description:
      'A later step: the same code by `channel`, `afterSeconds` after the step before, unless a correct code arrived. A first entry without `afterSeconds` names the first channel instead.',
  });

const StartFields = z.strictObject({
  phoneNumber: PhoneNumber,
  locale: Locale.nullish(),
  channel: RequestedChannelName.optional(),
  fallback: z
    .array(FallbackStepSchema, { error: FALLBACK_MESSAGE })
    .max(MAX_FALLBACK_STEPS + 1, { error: FALLBACK_MESSAGE })
    .optional(),
  email: text({
    maxLength: MAX_EMAIL_LENGTH,
    pattern: EMAIL_PATTERN,
    patternMessage: 'must be an email address',
  })
    .optional()
    .meta({
      description: 'The destination of the `email` channel; required when a step is `email`.',
    }),
});

export const StartVerificationRequest = z.union([PhoneNumber, StartFields]).meta({
  id: 'StartVerificationRequest',
  description:
    'The phone number as a JSON string, or an object with `phoneNumber` (and optionally `locale`, `channel`, `fallback`, `email`).',
});

/** The guard judges the number (with the phone policy's settings), so parsing takes it as sent. */
const StartFieldsAsSent = StartFields.extend({ phoneNumber: z.unknown().optional() });

export interface StartRequest {
  readonly phoneNumber: unknown;
  readonly locale: string | undefined;
  /** The first send's channel (default `sms`), or `auto` for the starter to resolve by number type. */
  readonly channel: RequestedChannel;
  /** Later steps: the same code by other channels, each after its wait. */
  readonly fallback: readonly FallbackStep[];
  /** The `email` channel's destination, when a step uses it. */
  readonly email: string | undefined;
}

/**
 * `"+14255550100"` (the seed sends the bare string) or `{"phoneNumber": "...", "locale": "ko",
 * "channel": "sms", "fallback": [{"channel": "call", "afterSeconds": 30}], "email": "..."}`. The
 * fallback list may also start with the first step itself (`[{"channel": "sms"}, {"channel": "call",
 * "afterSeconds": 30}]`).
 */
export function parseStartRequest(body: unknown): StartRequest {
  if (!isRecord(body)) {
    return { phoneNumber: body, locale: undefined, channel: 'sms', fallback: [], email: undefined };
  }
  const parsed = parseWith(StartFieldsAsSent, body);
  const steps = parsed.fallback ?? [];
  let channel: RequestedChannel = parsed.channel ?? 'sms';
  const later = steps[0]?.afterSeconds === undefined && steps.length > 0 ? steps.slice(1) : steps;
  const named = steps.length > 0 && steps[0]?.afterSeconds === undefined ? steps[0] : undefined;
  const problems: { field: string; message: string }[] = [];
  if (named !== undefined) {
    if (parsed.channel !== undefined && parsed.channel !== named.channel) {
      problems.push({ field: 'fallback', message: 'names another first channel than `channel`' });
    }
    channel = named.channel;
  }
  const fallback: FallbackStep[] = [];
  for (const step of later) {
    if (step.afterSeconds === undefined) {
      problems.push({ field: 'fallback', message: FALLBACK_MESSAGE });
    } else {
      fallback.push({ channel: step.channel, afterSeconds: step.afterSeconds });
    }
  }
  if (fallback.length > MAX_FALLBACK_STEPS)
    problems.push({ field: 'fallback', message: FALLBACK_MESSAGE });
  const usesEmail = channel === 'email' || fallback.some((s) => s.channel === 'email');
  if (usesEmail && parsed.email === undefined) {
    problems.push({ field: 'email', message: 'required for the email channel' });
  }
  if (problems.length > 0) {
    // One problem per field, the first, as parseWith reports them.
    throw new ValidationError(
      problems.filter((p, i) => problems.findIndex((q) => q.field === p.field) === i),
    );
  }
  return {
    phoneNumber: parsed.phoneNumber,
    locale: parsed.locale ?? undefined,
    channel,
    fallback,
    email: usesEmail ? parsed.email : undefined,
  };
}

const CODE_MESSAGE = `must be a string of ${CODE_LENGTH_RANGE.min}-${CODE_LENGTH_RANGE.max} digits or a non-negative integer`;

/** A code as `isWellFormedCode` accepts it: a string of code-length digits, or a non-negative integer. */
function code(error: string | ((issue: { readonly input?: unknown }) => string)) {
  return z.union(
    [
      z
        .string({ error })
        .regex(new RegExp(`^\\d{${CODE_LENGTH_RANGE.min},${CODE_LENGTH_RANGE.max}}$`), { error }),
      z
        .int({ error })
        .min(0, { error })
        .max(10 ** CODE_LENGTH_RANGE.max - 1, { error }),
    ],
    { error },
  );
}

export const EventAnswer = code(CODE_MESSAGE).meta({
  id: 'EventAnswer',
  description: 'The bare code from the SMS, as the sample sends it.',
});

export const SubmitCodeRequest = bodyObject({ code: code(requiredOr(CODE_MESSAGE)) }).meta({
  id: 'SubmitCodeRequest',
});

/** `{"code": "012345"}` or `{"code": 12345}`. */
export function parseCodeSubmission(value: unknown): WellFormedCode {
  return wellFormed(parseWith(SubmitCodeRequest, value).code, 'code');
}

/** The bare body of `sendEventPostUri`: `2168` or `"002168"`, as the seed sends it. */
export function parseEventAnswer(value: unknown): WellFormedCode {
  return wellFormed(parseWith(EventAnswer, value), 'body');
}

/** The schema admits what `isWellFormedCode` does; this gives the parsed code its brand. */
function wellFormed(parsed: string | number, field: string): WellFormedCode {
  if (isWellFormedCode(parsed)) return parsed;
  throw new ValidationError({ field, message: CODE_MESSAGE });
}

const link = (description: string) => z.url().meta({ description });

export const VerificationLinks = z
  .strictObject({
    id: z.string(),
    statusQueryGetUri: link('GET: the Durable-shaped status.'),
    // No `format: uri`: the literal `{eventName}` is a template, not a valid URI yet.
    sendEventPostUri: z.string().meta({
      description:
        'A capability link: POST the bare code with `{eventName}` = `SmsChallengeResponse`.',
    }),
    terminatePostUri: link('POST: cancel the verification.'),
    purgeHistoryDeleteUri: link('DELETE: erase a finished verification.'),
    resendPostUri: link('POST: text a new code.'),
  })
  .meta({
    id: 'VerificationLinks',
    description: `The anonymous start answer, in the Durable management payload's shape but with capability links instead of host URLs: each opens one operation (${LINK_PURPOSES.join(', ')}) on this one verification through its \`token\` query parameter, and none carries a host key. \`sendEventPostUri\` keeps a literal \`{eventName}\` (\`SmsChallengeResponse\`).`,
  });

export const CheckStatus = z
  .object({
    id: z.string(),
    statusQueryGetUri: z.url(),
    sendEventPostUri: z.string(),
    terminatePostUri: z.string(),
    rewindPostUri: z.string().optional(),
    purgeHistoryDeleteUri: z.url().optional(),
    restartPostUri: z.url().optional(),
    suspendPostUri: z.string().optional(),
    resumePostUri: z.string().optional(),
  })
  .meta({
    id: 'CheckStatus',
    description:
      'The Durable Functions management payload: URLs to query and control the instance. They carry the system key, so hand them only to trusted callers.',
  });

export const TrustedStart = CheckStatus.extend({ links: VerificationLinks }).meta({
  id: 'TrustedStart',
  description:
    'The Durable management payload (system key: for trusted callers only) plus the capability links.',
});

/** Any JSON value (`null` included), but present. */
const anyValue = (description: string) => z.unknown().nonoptional().meta({ description });

export const VerificationStatus = z
  .strictObject({
    name: z.string(),
    instanceId: z.string(),
    runtimeStatus: z.string().meta({ examples: ['Running', 'Completed'] }),
    input: z
      .string()
      .regex(/^\+\d\*+\d{4}$/)
      .meta({
        description: 'The number, masked: `+`, its first digit, stars, its last 4 digits.',
        examples: ['+1******0100'],
      }),
    customStatus: anyValue(
      'The verification progress, or null: `{state, attemptsRemaining, expiresAt, codeLength, deliveries: [{channel, provider, sendNumber, at}], nextFallback?: {channel, at}}` (`deliveries` lists every send, the latest 10; `nextFallback` the step waiting for its timer).',
    ),
    output: anyValue('true once verified, false otherwise; null while running.'),
    createdTime: isoDateTime.nullable(),
    lastUpdatedTime: isoDateTime.nullable(),
  })
  .meta({
    id: 'VerificationStatus',
    description:
      'The Durable status shape for the link holder: 202 while running, 200 once finished. `input` is the number the holder sent, masked (a link travels through browsers, proxies and logs).',
  });

export const VerificationAction = z
  .strictObject({ id: z.string(), status: z.enum(['canceling', 'resending']) })
  .meta({ id: 'VerificationAction' });

export const Verification = z
  .strictObject({
    id: z.string(),
    state: z.enum(['pending', ...VERIFICATION_STATES, 'failed', 'terminated']),
    attemptsRemaining: z.int().min(0).nullable(),
    expiresAt: isoDateTime.nullable(),
  })
  .meta({
    id: 'Verification',
    description: 'What a caller may know of a verification: never the code, input or history.',
  });

export const SubmitCodeAccepted = z
  .strictObject({ id: z.string(), status: z.literal('submitted') })
  .meta({ id: 'SubmitCodeAccepted' });
