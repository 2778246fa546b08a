import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalHost } from '../src/index';
import { startLocalHost } from '../src/index';
import { chunkGate } from './fixtures/stream-app/index';

let host: LocalHost;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'http-stream-'));
  host = await startLocalHost({
    appDir: path.join(__dirname, 'fixtures', 'stream-app'),
    settingsFile: false,
    dataDir,
    engine: false,
  });
});

afterAll(async () => {
  await host.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('apps with app.setup({ enableHttpStream: true })', () => {
  it('advertises the proxy through the capabilities', () => {
    expect(host.app.capabilities.HttpUri).toMatch(/^http:\/\/localhost:\d+\/$/);
  });

  it('relays the response while the function is still producing it', async () => {
    const firstChunk = await new Promise<{ res: http.IncomingMessage; text: string }>(
      (resolve, reject) => {
        http
          .get(`${host.url}/api/chunks`, (res) => {
            res.once('data', (chunk: Buffer) => resolve({ res, text: chunk.toString() }));
          })
          .on('error', reject);
      },
    );
    expect(firstChunk.res.statusCode).toBe(200);
    expect(firstChunk.res.headers['content-type']).toBe('text/plain');
    expect(firstChunk.text).toBe('first;');
    let rest = '';
    firstChunk.res.on('data', (c: Buffer) => (rest += c.toString()));
    const ended = new Promise<void>((resolve) => firstChunk.res.on('end', resolve));
    chunkGate.release();
    await ended;
    expect(rest).toBe('second');
  });

  it('passes body, route params, query and headers through the proxy', async () => {
    const response = await fetch(`${host.url}/api/echo/bob?q=2`, {
      method: 'POST',
      body: 'hello',
      headers: { 'x-test': 'yes' },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('set-cookie')).toBe('c=1');
    expect(await response.json()).toEqual({
      name: 'bob',
      q: '2',
      header: 'yes',
      body: 'hello',
      url: `${host.url}/api/echo/bob?q=2`,
    });
  });

  it('answers a generic 500 when the function throws', async () => {
    const response = await fetch(`${host.url}/api/throws`);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('secret detail');
  });

  it('answers 204 when the function returns nothing', async () => {
    const response = await fetch(`${host.url}/api/nothing`);
    expect(response.status).toBe(204);
  });
});
