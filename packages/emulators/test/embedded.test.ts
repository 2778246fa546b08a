import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmbeddedServices, SystemClock, type HostLog } from '@local/durable-runtime';
import {
  detectEmulatorNeeds,
  embeddedServices,
  emulatorNeeds,
  needsEmulators,
} from '../src/embedded';

/** The emulators as the runtime starts them from an app's `local.services.cjs`, with the sample's dev values. */
function startEmbeddedEmulators(
  settings: Readonly<Record<string, string>>,
  log: HostLog,
  options: { dataDir: string },
): ReturnType<typeof startEmbeddedServices> {
  const embedded = embeddedServices({ sampleSettings: { SIDECAR_URL: 'http://localhost:5000' } });
  return startEmbeddedServices(
    { embedded },
    { settings, force: false, dataDir: options.dataDir, clock: new SystemClock(), log },
  );
}

const devValues = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  TwilioAccountSid: 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  TwilioAuthToken: 'local-emulator-auth-token',
  TwilioPhoneNumber: '+15005550006',
  COMMUNICATION_SERVICES_CONNECTION_STRING:
    'endpoint=http://127.0.0.1:PORT/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0',
  SIDECAR_URL: 'http://localhost:5000',
};

describe('when the embedded emulators are needed', () => {
  it('starts them for missing settings and for the sample dev values', () => {
    expect(emulatorNeeds({})).toEqual({ twilio: true, acs: true, storage: true });
    expect(emulatorNeeds(devValues)).toEqual({ twilio: true, acs: true, storage: true });
  });

  it('uses real services when real settings are present', () => {
    const real = {
      TwilioAccountSid: 'AC0123456789abcdef0123456789abcdef',
      TwilioAuthToken: 'real-token',
      COMMUNICATION_SERVICES_CONNECTION_STRING:
        'endpoint=https://x.communication.azure.com/;accesskey=cmVhbA==',
      AzureWebJobsStorage:
        'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=b;EndpointSuffix=core.windows.net',
    };
    expect(needsEmulators(real)).toBe(false);
    expect(
      emulatorNeeds({
        ...real,
        COMMUNICATION_SERVICES_CONNECTION_STRING: '',
        COMMUNICATION_SERVICES_ENDPOINT: 'https://x',
      }).acs,
    ).toBe(false);
    // A non-loopback Twilio base URL is somebody's real service.
    expect(
      emulatorNeeds({ ...devValues, TwilioApiBaseUrl: 'https://twilio-proxy.example.com' }).twilio,
    ).toBe(false);
  });

  it("treats the sample's loopback URLs as dev values, unless something already listens there", async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const running = { ...devValues, TwilioApiBaseUrl: `http://127.0.0.1:${port}` };
      expect(emulatorNeeds(running).twilio).toBe(true);
      expect((await detectEmulatorNeeds(running)).twilio).toBe(false);
      // Port 9 (discard) is not listening here: the emulator is needed.
      const stopped = { ...devValues, TwilioApiBaseUrl: 'http://127.0.0.1:9' };
      expect((await detectEmulatorNeeds(stopped)).twilio).toBe(true);
      const acsRunning = {
        ...devValues,
        COMMUNICATION_SERVICES_CONNECTION_STRING: `endpoint=http://127.0.0.1:${port}/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0`,
      };
      expect((await detectEmulatorNeeds(acsRunning)).acs).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('starting the embedded emulators', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('points dev settings at in-process emulators and Azurite, and keeps real ones', async () => {
    const lines: string[] = [];
    const started = await startEmbeddedEmulators(
      // Blank storage needs no probe of port 10002, which another local Azurite may hold.
      { ...devValues, AzureWebJobsStorage: '', SIDECAR_URL: 'http://127.0.0.1:5999' },
      (_level, line) => lines.push(line),
      { dataDir },
    );
    try {
      const settings = started.appSettings();
      expect(settings.TwilioApiBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(settings.TwilioAccountSid).toMatch(/^AC[0-9a-f]{32}$/i);
      expect(settings.COMMUNICATION_SERVICES_CONNECTION_STRING).toMatch(
        /^endpoint=http:\/\/127\.0\.0\.1:\d+\/;accesskey=/,
      );
      expect(settings.AzureWebJobsStorage).toMatch(/TableEndpoint=http:\/\/127\.0\.0\.1:\d+/);
      // A non-default sidecar URL is a real sidecar: it stays.
      expect(settings.SIDECAR_URL).toBeUndefined();
      expect(started.banner.join('\n')).toContain('Twilio emulator');
      expect(started.banner.join('\n')).toContain('Azurite');

      // SMS bodies are printed so a developer can read the code.
      const response = await fetch(
        `${settings.TwilioApiBaseUrl}/2010-04-01/Accounts/${settings.TwilioAccountSid}/Messages.json`,
        {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${settings.TwilioAccountSid}:${settings.TwilioAuthToken}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({
            To: '+14255550100',
            From: settings.TwilioPhoneNumber ?? '',
            Body: 'Your verification code is 123456',
          }).toString(),
        },
      );
      expect(response.status).toBe(201);
      expect(lines).toContain('SMS to +14255550100: Your verification code is 123456');
    } finally {
      await started.close();
    }
  });
});
