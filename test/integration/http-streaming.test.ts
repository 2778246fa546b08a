/**
 * Request bodies stream (`app.setup({ enableHttpStream: true })` and the local runtime's streaming host): eight
 * concurrent 95 MiB bodies to the anonymous starter are each answered 413 by the app after at most its 16 KiB
 * limit was read, and the rest is never buffered: each client got its answer long before it had sent its
 * body (back-pressure held the rest), and the process grew by far less than one body. Needs the built app.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { startLocalHost, type LocalHost } from '@local/durable-runtime';

const repoRoot = path.resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;
const BODY_BYTES = 95 * MiB;
const CONCURRENT = 8;

let host: LocalHost;

beforeAll(async () => {
  host = await startLocalHost({
    appDir: repoRoot,
    settingsFile: false,
    databasePath: ':memory:',
    settings: { FUNCTIONS_WORKER_RUNTIME: 'node' },
  });
});

afterAll(() => host.stop());

/** Sends `BODY_BYTES` of JSON-ish filler as fast as the server takes it; stops writing once it answers. */
function postLargeBody(url: string): Promise<{ status: number; body: string; sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let answered = false;
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(BODY_BYTES) },
    });
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(parts).toString(),
          sentBytes: sent,
        });
        req.destroy();
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const write = (): void => {
      while (!answered && sent < BODY_BYTES) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      if (!answered) req.end();
    };
    write();
  });
}

it('answers eight concurrent 95 MiB bodies with the handler’s 413 without buffering them', async () => {
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 5);
  const url = `${host.url}/api/orchestrators/SmsPhoneVerification`;
  const answers = await Promise.all(
    Array.from({ length: CONCURRENT }, () => postLargeBody(url)),
  ).finally(() => clearInterval(sampler));
  for (const answer of answers) {
    expect(answer.status).toBe(413);
    // The app's problem (its 16 KiB limit), not the host's 100 MiB one or its buffer budget's 429.
    expect(JSON.parse(answer.body)).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(answer.sentBytes).toBeLessThan(BODY_BYTES / 4);
  }
  // One body buffered whole would be 95 MiB; all of them 760 MiB. Streams and socket buffers stay far below.
  expect(rssPeak - rssBefore).toBeLessThan(95 * MiB);
});
