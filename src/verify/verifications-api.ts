import type { HttpResponseInit } from '@azure/functions';
import { createHmac } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { ValidationError } from '../errors';
import type { GetVerificationClient, VerificationClient } from '../verification/durable-client';
import { findStatus } from '../verification/durable-client';
import type { HeaderSource } from '../verification/guard/client-ip';
import {
  GUARD_REASONS,
  GuardUnavailableError,
  PhoneNumberInvalidError,
  PhonePolicyError,
  VelocityLimitError,
} from '../verification/guard/errors';
import type { CheckOptions, GuardedSend } from '../verification/guard/send-guard';
import { ConversionBlockedError } from '../verification/guard/conversion';
import { deriveKey } from '../verification/crypto/key-derivation';
import { sealAnswer } from '../verification/crypto/sealed-answer';
import { parseLocale } from '../verification/sms-templates';
import { customCodeScope } from './activity';
import type { ChannelSenders } from './channels';
import { json } from '../http/respond';
import { VerifyApiError, invalidParameter } from './errors';
import { findBySid } from './lookup';
import type { RateLimitMeter } from './rate-limits';
import { inferLocale } from './messages';
import { VERIFY_EVENT, VERIFY_ORCHESTRATION } from './names';
import { newRequestId, raiseAndAwait, toVerdict, type ReplyWait, type Verdict } from './replies';
import {
  initialStatus,
  toCheckResource,
  toVerificationResource,
  type ResourceContext,
} from './resources';
import { maskRecipient } from '../redact';
import {
  SID_PATTERN,
  attemptSid,
  type OpenedVerifyInput,
  type VerifyInput,
  type VerifyStatus,
} from './rules';
import { openTo, sealTo } from './recipient';
import {
  CheckForm,
  CreateVerificationForm,
  UpdateVerificationForm,
  isEmailAddress,
  parseParams,
} from './schemas';
import type { ServiceRecord, VerifyStore } from './store';
import type { VerifyCall } from './router';
import type { VerifySettings } from './settings';

export interface VerificationsApiDeps {
  readonly store: () => VerifyStore;
  readonly resources: () => ResourceContext;
  readonly getClient: GetVerificationClient;
  readonly guard: () => {
    check(phone: unknown, headers: HeaderSource, options?: CheckOptions): Promise<GuardedSend>;
    /** The email channel: the per-recipient, per-client and global limits, no phone rules. */
    checkEmail(
      address: string,
      headers: HeaderSource,
      options?: CheckOptions,
    ): Promise<{ readonly degraded: boolean }>;
    /** Issue 22: an approval counts for conversion and the owner's grace. */
    recordVerified?(e164: string): Promise<void>;
  };
  readonly channels: ChannelSenders;
  /** The service's programmable rate limits, applied to the values a create names. */
  readonly rateLimits: RateLimitMeter;
  readonly codeSecret: () => string;
  readonly settings: () => VerifySettings;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

const PENDING_KEY_LABEL = 'verify/pending-number/hmac-sha256/v1';
/** A create that loses the race for a number's slot retries as a resend of the winner. */
const MAX_CLAIM_TRIES = 3;

export function createVerificationsApi(deps: VerificationsApiDeps) {
  const slots = new SlotMemory(() => deps.settings().codeValiditySeconds * 1000);
  /** The account holder's answers carry `To`: opened from the input, which holds it sealed. */
  const openInput = (sid: string, input: VerifyInput): string | undefined =>
    openTo(deps.codeSecret(), sid, input);
  const wait = (): ReplyWait => ({
    waitMs: deps.settings().checkWaitMs,
    sleep: deps.sleep,
    openTo: openInput,
  });
  const numberKey = (serviceSid: string, e164: string): string =>
    createHmac('sha256', deriveKey(deps.codeSecret(), PENDING_KEY_LABEL))
      .update(`${serviceSid}\n${e164}`, 'utf8')
      .digest('hex');
  const service = (sid: string): Promise<ServiceRecord> =>
    findBySid(SID_PATTERN.service, sid, (s) => deps.store().getService(s));
  /** A verification of this service, by sid; 20404 for anything else. */
  const verification = async (
    client: VerificationClient,
    serviceSid: string,
    sid: string,
  ): Promise<Verdict> => {
    const status = SID_PATTERN.verification.test(sid) ? await findStatus(client, sid) : undefined;
    if (status === undefined) throw new VerifyApiError('notFound');
    const verdict = toVerdict(status, openInput);
    if (verdict.input.serviceSid !== serviceSid) throw new VerifyApiError('notFound');
    return verdict;
  };
  const isPending = (verdict: Verdict): boolean =>
    !verdict.finished &&
    (verdict.custom === undefined ||
      (verdict.custom.status === 'pending' &&
        Date.parse(verdict.custom.expiresAt) > deps.now().getTime()));

  return {
    /** `POST /Verifications`: a new verification, or the same code again on the number's pending one. */
    create: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const svc = await service(call.routeParam('ServiceSid'));
      const form = parseParams(CreateVerificationForm, call.params);
      if (deps.channels[form.Channel] === undefined) {
        throw new VerifyApiError('channelDisabled', form.Channel);
      }
      if (form.CustomCode !== undefined && !svc.customCodeEnabled) {
        throw invalidParameter('CustomCode', 'is not enabled on this service');
      }
      if (svc.psd2Enabled && (form.Amount === undefined || form.Payee === undefined)) {
        throw invalidParameter(
          form.Amount === undefined ? 'Amount' : 'Payee',
          'is required with PSD2',
        );
      }
      const locale = readLocale(form.Locale);
      const email = form.Channel === 'email';
      const lineType = email ? undefined : parsePhoneNumberFromString(form.To.trim())?.getType();
      if (form.Channel === 'sms' && svc.skipSmsToLandlines && lineType === 'FIXED_LINE') {
        throw new VerifyApiError('landline');
      }
      if (form.RateLimits !== undefined) {
        // Before the guard, so a send refused here is counted by nothing else.
        const { rateLimits } = await deps.store().getRateLimits(svc.sid);
        await deps.rateLimits.admit(rateLimits, form.RateLimits);
      }
      const accepted = email
        ? await guardedEmail(deps, form.To, form.DeviceIp)
        : await guarded(deps, form.To, form.DeviceIp);
      const client = deps.getClient(call.context);
      const key = numberKey(svc.sid, accepted.key);
      const ctx = deps.resources();

      for (let tries = 0; tries < MAX_CLAIM_TRIES; tries++) {
        // A number this instance has not seen takes its slot with one insert, no read first; a
        // conflict (the number has a slot) reads it on the next try.
        const blind = tries === 0 && slots.get(key) === undefined;
        const slot = blind ? undefined : await deps.store().getPending(svc.sid, key);
        if (slot !== undefined) {
          const status = await findStatus(client, slot.verificationSid);
          const current = status === undefined ? undefined : toVerdict(status, openInput);
          if (current !== undefined && isPending(current)) {
            const verdict = await raiseAndAwait(
              client,
              slot.verificationSid,
              VERIFY_EVENT.Resend,
              { requestId: newRequestId() },
              wait(),
            );
            if (verdict.reply === 'max_sends') throw new VerifyApiError('maxSendAttempts');
            if (verdict.reply === 'sent' && verdict.custom !== undefined) {
              await recordAttempt(
                deps,
                verdict.input,
                slot.verificationSid,
                verdict.custom.sendCodeAttempts.length,
                accepted.country,
              );
              return json(
                201,
                toVerificationResource(ctx, slot.verificationSid, verdict.input, verdict.custom),
              );
            }
            // It ended meanwhile: a new verification takes the slot.
          }
        }
        const sid = `VE${newRequestId()}`;
        if (!(await deps.store().claimPending(svc.sid, key, sid, slot?.etag))) continue;
        slots.remember(key, sid);
        const input: VerifyInput = {
          serviceSid: svc.sid,
          // Sealed to this sid before anything reaches history; the account's answers open it.
          ...sealTo(deps.codeSecret(), sid, accepted.to),
          channel: form.Channel,
          friendlyName: form.CustomFriendlyName ?? svc.friendlyName,
          codeLength: form.CustomCode?.length ?? svc.codeLength,
          doNotShareWarning: svc.doNotShareWarningEnabled,
          lookupEnabled: svc.lookupEnabled,
          ...optional('locale', locale ?? inferLocale(accepted.country)),
          ...optional('lineType', lineType),
          ...(svc.psd2Enabled ? { amount: form.Amount, payee: form.Payee } : {}),
          ...optional('appHash', form.AppHash),
          ...optional(
            'sealedCustomCode',
            form.CustomCode === undefined
              ? undefined
              : sealAnswer(deps.codeSecret(), customCodeScope(sid), {
                  code: form.CustomCode,
                  receivedAt: deps.now(),
                }).sealedAnswer,
          ),
        };
        await client.startNew(VERIFY_ORCHESTRATION, { instanceId: sid, input });
        call.context.log(`Started Verify verification ${sid} on ${svc.sid}`);
        const { sealedTo: _sealed, maskedTo: _masked, ...parameters } = input;
        const opened: OpenedVerifyInput = { ...parameters, to: accepted.to };
        await recordAttempt(deps, opened, sid, 1, accepted.country);
        const custom = initialStatus(sid, input, deps.now());
        return json(201, toVerificationResource(ctx, sid, opened, custom));
      }
      throw new VerifyApiError('tooManyRequests', undefined, { 'Retry-After': '1' });
    },

    fetch: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const client = deps.getClient(call.context);
      const sid = call.routeParam('Sid');
      const verdict = await verification(client, call.routeParam('ServiceSid'), sid);
      const custom = verdict.custom ?? initialStatus(sid, verdict.input, verdict.createdTime);
      return json(200, toVerificationResource(deps.resources(), sid, verdict.input, custom));
    },

    /** `POST /Verifications/{Sid}` with `Status=canceled|approved`: only a pending one changes. */
    update: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const form = parseParams(UpdateVerificationForm, call.params);
      const client = deps.getClient(call.context);
      const sid = call.routeParam('Sid');
      const current = await verification(client, call.routeParam('ServiceSid'), sid);
      if (!isPending(current)) throw new VerifyApiError('notFound');
      const verdict = await raiseAndAwait(
        client,
        sid,
        VERIFY_EVENT.Update,
        { requestId: newRequestId(), status: form.Status },
        wait(),
      );
      if (verdict.reply !== 'updated' || verdict.custom === undefined) {
        throw new VerifyApiError('notFound');
      }
      return json(
        200,
        toVerificationResource(deps.resources(), sid, verdict.input, verdict.custom),
      );
    },

    /** `POST /VerificationCheck`: the orchestration judges; this waits for its verdict. */
    check: async (call: VerifyCall): Promise<HttpResponseInit> => {
      const serviceSid = call.routeParam('ServiceSid');
      const form = parseParams(CheckForm, call.params);
      if (form.To === undefined && form.VerificationSid === undefined) {
        throw new VerifyApiError('missingToOrSid');
      }
      if (form.Code === undefined) throw invalidParameter('Code', 'is required');
      if (!/^\d{1,10}$/.test(form.Code)) throw invalidParameter('Code', 'must be 1-10 digits');
      const client = deps.getClient(call.context);
      const code = form.Code;
      const judge = async (sid: string): Promise<Verdict> => {
        const sealed = sealAnswer(deps.codeSecret(), sid, { code, receivedAt: deps.now() });
        return raiseAndAwait(
          client,
          sid,
          VERIFY_EVENT.Check,
          { requestId: newRequestId(), sealedAnswer: sealed.sealedAnswer },
          wait(),
        );
      };
      let sid = form.VerificationSid;
      let verdict: Verdict;
      if (sid !== undefined) {
        // A sid from the caller: it must be this service's, and still open, before it counts.
        const current = await verification(client, serviceSid, sid);
        if (!isPending(current)) throw endedError(current);
        verdict = await judge(sid);
      } else {
        // The number's slot of this service names its verification: no status read before the
        // event. A slot this instance remembers may be stale (a newer verification took it
        // elsewhere): an answer from an ended one reads the table once more.
        const key = numberKey(serviceSid, checkedRecipientKey(form.To!));
        const remembered = slots.get(key);
        sid = remembered ?? (await deps.store().getPending(serviceSid, key))?.verificationSid;
        if (sid === undefined) throw new VerifyApiError('notFound');
        verdict = await judge(sid);
        if (remembered !== undefined && verdict.reply === undefined && verdict.finished) {
          slots.forget(key);
          const current = (await deps.store().getPending(serviceSid, key))?.verificationSid;
          if (current !== undefined && current !== sid) {
            sid = current;
            verdict = await judge(sid);
          }
        }
        if (verdict.input.serviceSid !== serviceSid) throw new VerifyApiError('notFound');
      }
      if (verdict.reply === 'approved') await recordApproval(deps, verdict.input, sid);
      if ((verdict.reply === 'approved' || verdict.reply === 'pending') && verdict.custom) {
        const custom: VerifyStatus = { ...verdict.custom, status: verdict.reply };
        return json(200, toCheckResource(deps.resources(), sid, verdict.input, custom));
      }
      throw endedError(verdict);
    },
  };
}

/**
 * The verification sid of each number's slot this instance created, for as long as a code lives:
 * a check by `To` then needs no table read. Bounded; a stale entry only costs one more read.
 */
class SlotMemory {
  private readonly entries = new Map<string, { readonly sid: string; readonly until: number }>();

  constructor(private readonly ttlMs: () => number) {}

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until > Date.now()) return entry.sid;
    this.entries.delete(key);
    return undefined;
  }

  remember(key: string, sid: string): void {
    if (this.entries.size >= 10_000) this.entries.clear();
    this.entries.set(key, { sid, until: Date.now() + this.ttlMs() });
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}

/** A check the verification did not count: exhausted answers 60202, anything else ended 20404. */
function endedError(verdict: Verdict): VerifyApiError {
  return verdict.custom?.status === 'max_attempts_reached'
    ? new VerifyApiError('maxCheckAttempts')
    : new VerifyApiError('notFound');
}

function readLocale(locale: string | undefined): string | undefined {
  try {
    return parseLocale(locale, 'Locale');
  } catch (error: unknown) {
    if (error instanceof ValidationError) throw invalidParameter('Locale', 'must be a BCP 47 tag');
    throw error;
  }
}

/**
 * The fraud guard counts approvals (conversion per prefix and country, the owner's grace); losing
 * one only weakens those statistics, so a storage error never fails the check.
 */
async function recordApproval(
  deps: VerificationsApiDeps,
  input: OpenedVerifyInput,
  verificationSid: string,
): Promise<void> {
  try {
    await Promise.all([
      // An approved email says nothing of a phone number's owner or its range's conversion.
      input.channel === 'email' ? undefined : deps.guard().recordVerified?.(input.to),
      deps.store().convertAttempts(verificationSid, deps.now().toISOString()),
    ]);
  } catch {
    console.warn('Could not record a Verify approval for the fraud guard or the attempts');
  }
}

/** Digits of the number kept with an attempt, as the fraud guard's prefix (`+` and 6 digits). */
const ATTEMPT_PREFIX_DIGITS = 6;

/**
 * One row per send for `/v2/Attempts` (number masked, its prefix and country for the summary);
 * a lost row only weakens the statistics, so a storage error never fails the send.
 */
async function recordAttempt(
  deps: VerificationsApiDeps,
  input: OpenedVerifyInput,
  verificationSid: string,
  attempt: number,
  country: string | undefined,
): Promise<void> {
  const at = deps.now().toISOString();
  try {
    await deps.store().recordAttempt({
      sid: attemptSid(verificationSid, attempt),
      serviceSid: input.serviceSid,
      verificationSid,
      channel: input.channel,
      country: country ?? '',
      prefix:
        input.channel === 'email'
          ? ''
          : input.to.slice(0, Math.min(input.to.length - 1, ATTEMPT_PREFIX_DIGITS + 1)),
      maskedTo: maskRecipient(input.to),
      conversionStatus: 'unconverted',
      dateCreated: at,
      dateUpdated: at,
    });
  } catch {
    console.warn('Could not record a Verify send attempt');
  }
}

/** Whom a verification sends to: `to` as the send takes it, `key` as its slot and the guard know it. */
interface Recipient {
  readonly to: string;
  readonly key: string;
  /** The number's ISO country; undefined for an email address or a non-geographic number. */
  readonly country: CountryCode | undefined;
}

/**
 * The slot key of a check's `To`: the E.164 number, or the lower-cased address (the domain is
 * case-insensitive, and mailboxes that differ only in case are one person's in practice).
 */
function checkedRecipientKey(to: string): string {
  const trimmed = to.trim();
  if (trimmed.includes('@')) {
    if (!isEmailAddress(trimmed)) throw invalidParameter('To', 'must be an email address');
    return trimmed.toLowerCase();
  }
  const e164 = parsePhoneNumberFromString(trimmed)?.number;
  if (e164 === undefined) throw invalidParameter('To', 'must be an E.164 phone number');
  return e164;
}

/** The email channel's `To`: an address (60200 otherwise), counted by the guard's per-recipient limits. */
async function guardedEmail(
  deps: VerificationsApiDeps,
  to: string,
  deviceIp: string | undefined,
): Promise<Recipient> {
  const address = to.trim();
  if (!isEmailAddress(address)) throw invalidParameter('To', 'must be an email address');
  const key = address.toLowerCase();
  await withGuardErrors(() => deps.guard().checkEmail(key, deviceIpHeaders(deviceIp), OPTIONS));
  return { to: address, key, country: undefined };
}

/** The app's fraud guard in front of every send to a phone number. */
async function guarded(
  deps: VerificationsApiDeps,
  to: string,
  deviceIp: string | undefined,
): Promise<Recipient> {
  const accepted = await withGuardErrors(() =>
    deps.guard().check(to, deviceIpHeaders(deviceIp), OPTIONS),
  );
  return { to: accepted.e164, key: accepted.e164, country: accepted.country };
}

/** The caller is a back end: the end user's address is what it passes as DeviceIp, if anything. */
const deviceIpHeaders = (deviceIp: string | undefined): HeaderSource => ({
  get: () => deviceIp ?? null,
});

/**
 * Without DeviceIp the back end is not counted per client (issue 22's shared bucket is for anonymous
 * requests); the number, prefix, country and global budgets still apply.
 */
const OPTIONS: CheckOptions = { clientOptional: true };

/** The guard's refusals in Verify's codes. */
async function withGuardErrors<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error: unknown) {
    if (error instanceof PhoneNumberInvalidError)
      throw invalidParameter('To', 'must be a valid phone number');
    if (error instanceof PhonePolicyError || error instanceof ConversionBlockedError) {
      throw new VerifyApiError('blockedByGuard');
    }
    if (error instanceof VelocityLimitError) {
      const retryAfter = { 'Retry-After': String(error.retryAfterSeconds) };
      const perNumber =
        error.reason === GUARD_REASONS.numberLimit || error.reason === GUARD_REASONS.numberCooldown;
      throw new VerifyApiError(
        perNumber ? 'maxSendAttempts' : 'tooManyRequests',
        undefined,
        retryAfter,
      );
    }
    if (error instanceof GuardUnavailableError) throw new VerifyApiError('unavailable');
    throw error;
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
