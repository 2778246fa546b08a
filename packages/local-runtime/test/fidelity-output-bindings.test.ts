/**
 * The official samples' output bindings on the local runtime, against the embedded emulators over real HTTP:
 * `smsPhoneVerification` sends its challenge through `twilioSms` (to the Twilio emulator, with the real
 * `twilio` SDK), and `backupSiteContent` copies files with `storageBlob` (to Azurite, with
 * `@azure/storage-blob`). Manual clock, in-memory database.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { TwilioEmulator } from '@local/emulators';
import type { LocalHost } from '../src/index';
import { startSamplesHost } from './samples-host';
import { sentCodes } from './fixtures/samples-app/functions/smsPhoneVerification';

let host: LocalHost;
let dataDir: string;
let twilio: TwilioEmulator;
const logLines: string[] = [];

beforeAll(async () => {
  // As a developer's local.settings.json would say it; the embedded Azurite serves it.
  ({ host, dataDir } = await startSamplesHost(
    'fidelity-bindings',
    { StorageConnString: 'UseDevelopmentStorage=true' },
    { emulators: true, log: (level, line) => logLines.push(`${level} ${line}`) },
  ));
  twilio = host.emulators?.twilio as TwilioEmulator;
}, 60_000);

afterAll(async () => {
  await host?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Status {
  runtimeStatus: string;
  output: unknown;
}

async function start(
  name: string,
  input: unknown,
): Promise<{ id: string; status: () => Promise<Status> }> {
  const response = await fetch(`${host.url}/api/orchestrators/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  const payload = (await response.json()) as { id: string; statusQueryGetUri: string };
  await host.whenIdle();
  return {
    id: payload.id,
    status: async () => (await (await fetch(payload.statusQueryGetUri)).json()) as Status,
  };
}

it('warns about no binding of the samples (twilioSms and blob outputs are carried out)', () => {
  expect(logLines.filter((l) => /not supported locally/.test(l))).toEqual([]);
});

describe('twilioSms output binding (smsPhoneVerification)', () => {
  it('sends the challenge from %TwilioPhoneNumber% and the orchestration accepts the code', async () => {
    const phone = '+14255550123';
    const run = await start('smsPhoneVerification', phone);
    const sms = twilio.lastMessage(phone);
    expect(sms).toBeDefined();
    expect(sms?.from).toBe(host.settings.TwilioPhoneNumber);
    expect(sms?.body).toBe(`Your verification code is ${sentCodes.get(phone)}`);
    expect((await run.status()).runtimeStatus).toBe('Running');

    const raise = await fetch(
      `${host.url}/runtime/webhooks/durabletask/instances/${run.id}/raiseEvent/SmsChallengeResponse?code=${host.keys.systemKey}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: String(sentCodes.get(phone)),
      },
    );
    expect(raise.status).toBe(202);
    await host.whenIdle();
    expect(await run.status()).toMatchObject({ runtimeStatus: 'Completed', output: true });
  });

  it('accepts a wrong code followed by the right one: the sample passes its one timer to every Task.any', async () => {
    const phone = '+14255550124';
    const run = await start('smsPhoneVerification', phone);
    const answer = async (code: number): Promise<void> => {
      const raise = await fetch(
        `${host.url}/runtime/webhooks/durabletask/instances/${run.id}/raiseEvent/SmsChallengeResponse?code=${host.keys.systemKey}`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: String(code) },
      );
      expect(raise.status).toBe(202);
      await host.whenIdle();
    };
    const sent = sentCodes.get(phone) as number;
    await answer(sent === 1000 ? 1001 : sent - 1);
    expect((await run.status()).runtimeStatus).toBe('Running');
    await answer(sent);
    expect(await run.status()).toMatchObject({ runtimeStatus: 'Completed', output: true });
  });

  it('fails the activity when Twilio refuses the message, without the number in the failure', async () => {
    // Twilio's magic test number for an invalid destination: the emulator answers 400 / 21211.
    const phone = '+15005550001';
    const before = twilio.requestCount();
    const run = await start('smsPhoneVerification', phone);
    expect(twilio.requestCount()).toBe(before + 1);
    const status = await run.status();
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain('HTTP 400 (error 21211)');
    expect(String(status.output)).not.toContain('5550001');
  });
});

describe('storageBlob output binding (backupSiteContent)', () => {
  it('writes every file to backups/{backupPath} in Azurite', async () => {
    const site = fs.mkdtempSync(path.join(os.tmpdir(), 'fidelity-site-'));
    try {
      fs.mkdirSync(path.join(site, 'css'));
      fs.writeFileSync(path.join(site, 'index.html'), '<h1>hello</h1>');
      fs.writeFileSync(path.join(site, 'css', 'site.css'), Buffer.from([0xef, 0xbb, 0xbf, 0x62]));
      const run = await start('backupSiteContent', site);
      expect(await run.status()).toMatchObject({ runtimeStatus: 'Completed', output: 18 });

      const storage = host.settings.StorageConnString ?? '';
      expect(storage).toContain('BlobEndpoint=http://127.0.0.1:');
      const container =
        BlobServiceClient.fromConnectionString(storage).getContainerClient('backups');
      const names: string[] = [];
      for await (const blob of container.listBlobsFlat()) names.push(blob.name);
      expect(names.sort()).toEqual(['css/site.css', 'index.html']);
      const html = await container.getBlobClient('index.html').downloadToBuffer();
      expect(html.toString('utf8')).toBe('<h1>hello</h1>');
      const css = await container.getBlobClient('css/site.css').downloadToBuffer();
      expect([...css]).toEqual([0xef, 0xbb, 0xbf, 0x62]);
    } finally {
      fs.rmSync(site, { recursive: true, force: true });
    }
  });
});
