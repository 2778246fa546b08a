import { EmailClient, type EmailClientOptions } from '@azure/communication-email';
import { SmsClient, type SmsClientOptions } from '@azure/communication-sms';
import { DefaultAzureCredential } from '@azure/identity';
import type { AcsAccess } from '../acs/settings';
import {
  RateLimitedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  type AppError,
} from '../errors';
import { isLoopbackHost } from '../loopback';
import { withSpan } from '../telemetry';
import type { ChannelSender } from './channels';
import type { EmailContent } from './texts';

/**
 * The ACS channels, on the official SDKs: SMS (`@azure/communication-sms`) and Email
 * (`@azure/communication-email`, a long-running operation polled to its end). By connection string (access
 * key: the local emulator) or by the app's managed identity (Azure), like the token service.
 */

const SMS_SERVICE = 'acs-sms';
const EMAIL_SERVICE = 'acs-email';
/** One quick retry inside a provider; failing over to the next provider is the real remedy. */
const RETRY_OPTIONS = { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1000 } as const;
const EMAIL_POLL_INTERVAL_MS = 500;

function clientArgs<O extends SmsClientOptions | EmailClientOptions>(
  access: AcsAccess,
  options: O,
): { readonly endpoint: string; readonly options: O } {
  // Plain http only towards loopback (the local emulator); the connection string carries the key.
  const insecure = access.endpoint.protocol === 'http:' && isLoopbackHost(access.endpoint.hostname);
  return {
    endpoint: access.kind === 'connectionString' ? access.connectionString : access.endpoint.href,
    options: {
      retryOptions: RETRY_OPTIONS,
      ...options,
      ...(insecure ? { allowInsecureConnection: true } : {}),
    },
  };
}

export function createSmsClient(access: AcsAccess): SmsClient {
  const { endpoint, options } = clientArgs<SmsClientOptions>(access, {});
  return access.kind === 'connectionString'
    ? new SmsClient(endpoint, options)
    : new SmsClient(endpoint, new DefaultAzureCredential(), options);
}

export function createEmailClient(access: AcsAccess): EmailClient {
  const { endpoint, options } = clientArgs<EmailClientOptions>(access, {});
  return access.kind === 'connectionString'
    ? new EmailClient(endpoint, options)
    : new EmailClient(endpoint, new DefaultAzureCredential(), options);
}

/**
 * One SMS for a provider. `occurrence` and `deduplicate` are the re-run identity of `SmsMessage`
 * (src/verification/sms-sender.ts): Twilio's sender honours them by looking for earlier copies; ACS SMS
 * has no message list to look in, so a crash re-run that lands on ACS may text the code twice.
 */
export interface SmsText {
  readonly to: string;
  readonly body: string;
  readonly occurrence?: number;
  readonly deduplicate?: boolean;
}

export class AcsSmsSender implements ChannelSender<SmsText> {
  constructor(
    private readonly client: SmsClient,
    private readonly from: string,
    private readonly timeoutMs: number,
  ) {}

  async send(message: SmsText): Promise<{ readonly id: string }> {
    let results;
    try {
      results = await withSpan('acs.sms.send', { 'peer.service': SMS_SERVICE }, () =>
        this.client.send(
          { from: this.from, to: [message.to], message: message.body },
          { abortSignal: AbortSignal.timeout(this.timeoutMs) },
        ),
      );
    } catch (error: unknown) {
      throw mapAcsDeliveryError(error, SMS_SERVICE);
    }
    // A refused recipient is a result, not an exception: its status decides like an HTTP status.
    const [result] = results;
    if (result?.successful === true && result.messageId !== undefined)
      return { id: result.messageId };
    const status = result?.httpStatusCode ?? 500;
    throw statusError(SMS_SERVICE, status, 'refused the message');
  }
}

export interface EmailText extends EmailContent {
  readonly to: string;
}

export class AcsEmailSender implements ChannelSender<EmailText> {
  constructor(
    private readonly client: EmailClient,
    private readonly sender: string,
    private readonly timeoutMs: number,
  ) {}

  async send(message: EmailText): Promise<{ readonly id: string }> {
    const abortSignal = AbortSignal.timeout(this.timeoutMs);
    try {
      return await withSpan('acs.email.send', { 'peer.service': EMAIL_SERVICE }, async () => {
        const poller = await this.client.beginSend(
          {
            senderAddress: this.sender,
            content: { subject: message.subject, plainText: message.plainText, html: message.html },
            recipients: { to: [{ address: message.to }] },
          },
          { updateIntervalInMs: EMAIL_POLL_INTERVAL_MS, abortSignal },
        );
        const result = await poller.pollUntilDone({ abortSignal });
        return { id: result.id };
      });
    } catch (error: unknown) {
      throw mapAcsDeliveryError(error, EMAIL_SERVICE);
    }
  }
}

interface RestErrorLike {
  readonly name?: unknown;
  readonly statusCode?: unknown;
  readonly code?: unknown;
}

/** SDK failures as AppErrors; the ACS message is not copied (it may echo the request). */
export function mapAcsDeliveryError(error: unknown, service: string): AppError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as RestErrorLike;
  if (typeof e.statusCode === 'number') return statusError(service, e.statusCode, 'failed');
  if (e.name === 'AbortError') {
    return new UpstreamTimeoutError(
      service,
      'Azure Communication Services did not answer in time.',
    );
  }
  if (e.name === 'RestError') {
    return new UpstreamUnavailableError(
      service,
      'Azure Communication Services could not be reached.',
    );
  }
  // The long-running email operation ended Failed (the poller throws a plain Error for it).
  return new UpstreamError(
    service,
    'Azure Communication Services could not deliver the email.',
    422,
  );
}

function statusError(service: string, status: number, what: string): AppError {
  if (status === 429)
    return new RateLimitedError('Azure Communication Services throttled the request.');
  return new UpstreamError(
    service,
    `Azure Communication Services ${what} (HTTP ${status}).`,
    status,
  );
}
