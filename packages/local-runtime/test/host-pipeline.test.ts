/**
 * The front door's pipeline steps that decide what other code relies on: CORS never reflects an arbitrary
 * origin with credentials, the app sees the TCP peer appended to X-Forwarded-For (as behind Azure's front end),
 * and stopping the host does not wait on a client that holds a request open.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalHost } from '../src/index';
import { ManualClock, startLocalHost } from '../src/index';

const DRAIN_MS = 300;

let host: LocalHost;
let dataDir: string;
let stopped = false;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-'));
  host = await startLocalHost({
    appDir: path.join(__dirname, 'fixtures', 'pipeline-app'),
    settingsFile: 'pipeline.settings.json',
    dataDir,
    databasePath: ':memory:',
    clock: new ManualClock('2030-01-01T00:00:00.000Z'),
    shutdownDrainMs: DRAIN_MS,
  });
});

afterAll(async () => {
  if (!stopped) await host.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('CORS with "*" and CORSCredentials', () => {
  it('answers any origin with "*" and never with credentials', async () => {
    const answer = await fetch(`${host.url}/api/forwarded`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    const preflight = await fetch(`${host.url}/api/forwarded`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('X-Forwarded-For', () => {
  it('carries the TCP peer as its last entry, after whatever the client sent', async () => {
    const plain = await fetch(`${host.url}/api/forwarded`);
    expect(await plain.json()).toEqual({ forwardedFor: '127.0.0.1' });
    const spoofed = await fetch(`${host.url}/api/forwarded`, {
      headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' },
    });
    expect(await spoofed.json()).toEqual({ forwardedFor: '203.0.113.9, 198.51.100.7, 127.0.0.1' });
  });
});

describe('stopping the host', () => {
  it('does not wait longer than the drain deadline for a client waiting on an instance', async () => {
    const { systemKey } = host.keys;
    // Start-and-wait: the management API holds the request until the instance completes or 600 s pass.
    const held = fetch(
      `${host.url}/runtime/webhooks/durabletask/orchestrators/waitsForever?timeout=600&pollingInterval=1&code=${systemKey}`,
      { method: 'POST' },
    ).then(
      (response) => response.status,
      () => 'cut' as const,
    );
    await host.whenIdle();
    const list = await fetch(
      `${host.url}/runtime/webhooks/durabletask/instances?code=${systemKey}`,
    );
    expect(((await list.json()) as unknown[]).length).toBe(1);

    const started = Date.now();
    stopped = true;
    await host.stop();
    expect(Date.now() - started).toBeLessThan(DRAIN_MS + 3_000);
    // The held client got an answer or a cut connection, not a hang.
    expect(['cut', 200, 202, 500, 503]).toContain(await held);
  });
});
