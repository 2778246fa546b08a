/**
 * The `twilioSms` output binding (Microsoft.Azure.WebJobs.Extensions.Twilio) on the official `twilio` SDK.
 *
 * As in the extension: the account comes from the settings named by `accountSidSetting` / `authTokenSetting`
 * (default `AzureWebJobsTwilioAccountSid` / `AzureWebJobsTwilioAuthToken`); each value (or each element of an
 * array value) is a message object read case-insensitively (`to`, `from`, `body`, `statusCallback`,
 * `mediaUrl`, `messagingServiceSid`, ...), and the binding's own `to` / `from` / `body` fill what it leaves out.
 * Locally, the runtime's own setting `AzureWebJobsTwilioApiBaseUrl` (set by a Twilio emulator) redirects the
 * SDK to another origin.
 */
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient';
import type TwilioResponse from 'twilio/lib/http/response';
import type { MessageListInstanceCreateOptions } from 'twilio/lib/rest/api/v2010/account/message';
import type { RegisteredBinding } from '../host/rpc-types';
import type { AppSettings } from './binding-values';
import { BindingError, stringOption } from './binding-values';

export const TWILIO_SMS_BINDING_TYPE = 'twiliosms';
const DEFAULT_ACCOUNT_SID_SETTING = 'AzureWebJobsTwilioAccountSid';
const DEFAULT_AUTH_TOKEN_SETTING = 'AzureWebJobsTwilioAuthToken';
/** Not an extension setting: the local runtime's, for pointing the binding at a Twilio emulator. */
const API_BASE_URL_SETTING = 'AzureWebJobsTwilioApiBaseUrl';
const TIMEOUT_MS = 15_000;

/** Sends every request to another origin (the emulator); the SDK builds absolute `*.twilio.com` URLs. */
class RebasingRequestClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super({ timeout: TIMEOUT_MS });
  }

  override request<TData>(
    opts: TwilioRequestClient.RequestOptions<TData>,
  ): Promise<TwilioResponse<TData>> {
    return super.request<TData>({
      ...opts,
      uri: opts.uri.replace(/^https:\/\/([a-z0-9-]+\.)*twilio\.com(?=\/|$)/i, this.base),
    });
  }
}

/** The message properties the extension reads, and their twilio-node names. */
const STRING_FIELDS = [
  'to',
  'from',
  'body',
  'statusCallback',
  'applicationSid',
  'messagingServiceSid',
  'pathAccountSid',
] as const;
const BOOLEAN_FIELDS = ['forceDelivery', 'provideFeedback'] as const;
const NUMBER_FIELDS = ['maxPrice', 'validityPeriod'] as const;

function property(message: Readonly<Record<string, unknown>>, name: string): unknown {
  const wanted = name.toLowerCase();
  const key = Object.keys(message).find((k) => k.toLowerCase() === wanted);
  return key === undefined ? undefined : message[key];
}

function toCreateOptions(
  message: Readonly<Record<string, unknown>>,
  defaults: { to?: string; from?: string; body?: string },
): MessageListInstanceCreateOptions & Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const field of STRING_FIELDS) {
    const value = property(message, field);
    if (typeof value === 'string' && value.length > 0) options[field] = value;
  }
  for (const field of BOOLEAN_FIELDS) {
    const value = property(message, field);
    if (typeof value === 'boolean') options[field] = value;
  }
  for (const field of NUMBER_FIELDS) {
    const value = property(message, field);
    if (typeof value === 'number' && Number.isFinite(value)) options[field] = value;
  }
  const media = property(message, 'mediaUrl');
  if (Array.isArray(media)) options.mediaUrl = media.map(String);
  options.to ??= defaults.to;
  options.from ??= defaults.from;
  options.body ??= defaults.body;
  if (typeof options.to !== 'string') {
    throw new BindingError("A twilioSms message needs 'to' (in the value or the binding).");
  }
  return options as MessageListInstanceCreateOptions & Record<string, unknown>;
}

/** Why Twilio refused, without the request or Twilio's message (both can hold the phone number and body). */
function describeFailure(error: unknown): string {
  if (error instanceof twilio.RestException) {
    return `Twilio answered HTTP ${error.status} (error ${error.code ?? 'unknown'}).`;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code)
    ? `Twilio could not be reached (${code}).`
    : 'Sending the SMS failed.';
}

export class TwilioSmsOutput {
  private readonly clients = new Map<string, twilio.Twilio>();

  constructor(private readonly settings: () => AppSettings) {}

  private client(sid: string, token: string, base: string | undefined): twilio.Twilio {
    const key = JSON.stringify([sid, token, base]);
    let client = this.clients.get(key);
    if (!client) {
      client = twilio(sid, token, {
        // Only the binding's settings count; an empty env stops the SDK reading TWILIO_* itself.
        env: {},
        timeout: TIMEOUT_MS,
        ...(base === undefined ? {} : { httpClient: new RebasingRequestClient(base) }),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /** Sends every message in `value` (an object or an array of them); the first failure fails the binding. */
  async send(bindingName: string, binding: RegisteredBinding, value: unknown): Promise<void> {
    const settings = this.settings();
    const sidSetting =
      stringOption(binding, 'accountSidSetting', settings) ?? DEFAULT_ACCOUNT_SID_SETTING;
    const tokenSetting =
      stringOption(binding, 'authTokenSetting', settings) ?? DEFAULT_AUTH_TOKEN_SETTING;
    const sid = settings[sidSetting];
    const token = settings[tokenSetting];
    if (!sid)
      throw new BindingError(
        `The Twilio AccountSID must be set via the '${sidSetting}' app setting.`,
      );
    if (!token)
      throw new BindingError(
        `The Twilio AuthToken must be set via the '${tokenSetting}' app setting.`,
      );
    const base = settings[API_BASE_URL_SETTING]?.trim().replace(/\/+$/, '') || undefined;
    const defaults = {
      to: stringOption(binding, 'to', settings),
      from: stringOption(binding, 'from', settings),
      body: stringOption(binding, 'body', settings),
    };
    const messages = Array.isArray(value) ? value : [value];
    const client = this.client(sid, token, base);
    for (const message of messages) {
      if (typeof message !== 'object' || message === null || Array.isArray(message)) {
        throw new BindingError(`The twilioSms output '${bindingName}' needs a message object.`);
      }
      const options = toCreateOptions(message as Record<string, unknown>, defaults);
      try {
        await client.messages.create(options);
      } catch (error) {
        throw new BindingError(
          `The twilioSms output '${bindingName}' failed: ${describeFailure(error)}`,
        );
      }
    }
  }
}
