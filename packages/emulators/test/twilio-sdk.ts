// Shared by the Twilio emulator suites: the SDK pointed at the emulator, its failures as RestException, and a
// receiver of the emulator's signed status callbacks.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** A status callback as the receiver saw it: its full URL (path and query kept), signature and form fields. */
export interface ReceivedCallback {
  url: string;
  signature: string;
  params: Record<string, string>;
}

export interface CallbackReceiver {
  /** `http://127.0.0.1:<port>`: callbacks may go to any path below it. */
  readonly origin: string;
  close(): Promise<void>;
}

/** A loopback HTTP server that hands every status callback to `onCallback` and answers 204. */
export async function startCallbackReceiver(
  onCallback: (callback: ReceivedCallback) => void,
): Promise<CallbackReceiver> {
  let origin = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      onCallback({
        url: `${origin}${req.url ?? ''}`,
        signature: String(req.headers['x-twilio-signature'] ?? ''),
        params: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
