import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emulatorNeeds, needsEmulators, startEmbeddedEmulators } from '../src/host/embedded-defaults';

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
      COMMUNICATION_SERVICES_CONNECTION_STRING: 'endpoint=https://x.communication.azure.com/;accesskey=cmVhbA==',
      AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=b;EndpointSuffix=core.windows.net',
    };
    expect(needsEmulators(real)).toBe(false);
    expect(emulatorNeeds({ ...real, COMMUNICATION_SERVICES_CONNECTION_STRING: '', COMMUNICATION_SERVICES_ENDPOINT: 'https://x' }).acs).toBe(false);
    // An explicit Twilio base URL means someone already points the app at a Twilio (e.g. a test's emulator).
    expect(emulatorNeeds({ ...devValues, TwilioApiBaseUrl: 'http://127.0.0.1:1234' }).twilio).toBe(false);
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
      { ...devValues, SIDECAR_URL: 'http://127.0.0.1:5999' },
      (_level, line) => lines.push(line),
      { dataDir },
    );
    try {
      const settings = started.appSettings();
      expect(settings.TwilioApiBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(settings.TwilioAccountSid).toMatch(/^AC[0-9a-f]{32}$/i);
      expect(settings.COMMUNICATION_SERVICES_CONNECTION_STRING).toMatch(/^endpoint=http:\/\/127\.0\.0\.1:\d+\/;accesskey=/);
      expect(settings.AzureWebJobsStorage).toMatch(/TableEndpoint=http:\/\/127\.0\.0\.1:\d+/);
      // A non-default sidecar URL is a real sidecar: it stays.
      expect(settings.SIDECAR_URL).toBeUndefined();
      expect(started.banner.join('\n')).toContain('Twilio emulator');
      expect(started.banner.join('\n')).toContain('Azurite');

      // SMS bodies are printed so a developer can read the code.
      const response = await fetch(`${settings.TwilioApiBaseUrl}/2010-04-01/Accounts/${settings.TwilioAccountSid}/Messages.json`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${settings.TwilioAccountSid}:${settings.TwilioAuthToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ To: '+14255550100', From: settings.TwilioPhoneNumber ?? '', Body: 'Your verification code is 123456' }).toString(),
      });
      expect(response.status).toBe(201);
      expect(lines).toContain('SMS to +14255550100: Your verification code is 123456');
    } finally {
      await started.close();
    }
  });
});
