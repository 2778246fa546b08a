// Shared by the Twilio emulator suites: the SDK pointed at the emulator, and its failures as RestException.
import twilio from 'twilio';
import RestException from 'twilio/lib/base/RestException';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type Response from 'twilio/lib/http/response';

/** Sends the SDK's requests to the emulator instead of api.twilio.com; the rest of the SDK is unchanged. */
export class EmulatorRequestClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  override request<T>(opts: RequestClient.RequestOptions<T>): Promise<Response<T>> {
    return super.request<T>({ ...opts, uri: opts.uri.replace(/^https:\/\/[^/]+/, this.base) });
  }
}

export async function rejection(p: Promise<unknown>): Promise<RestException> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RestException) return err;
    throw err;
  }
  throw new Error('expected the SDK call to fail');
}
