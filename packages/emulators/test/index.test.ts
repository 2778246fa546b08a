import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommunicationIdentityClient } from '@azure/communication-identity';
import twilio from 'twilio';
import { parseArgs, runCli, USAGE } from '../src/cli';
import { startEmulators, type Emulators } from '../src/index';

describe('startEmulators', () => {
  let emus: Emulators;
  const lines: string[] = [];

  beforeAll(async () => {
    emus = await startEmulators({
      log: (l) => lines.push(l),
      twilio: { port: 0 },
      acs: { port: 0 },
      agentId: { port: 0 },
    });
  });
  afterAll(async () => {
    await emus.close();
  });

  it('returns the settings-contract app settings that point at the emulators', () => {
    const s = emus.appSettings();
    expect(s).toEqual({
      TwilioAccountSid: 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      TwilioAuthToken: 'local-emulator-auth-token',
      TwilioPhoneNumber: '+15005550006',
      TwilioApiBaseUrl: emus.twilio.url,
      TwilioVoiceFrom: '+15005550006',
      TwilioWhatsAppFrom: '+14155238886',
      TwilioWhatsAppContentSid: 'HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      COMMUNICATION_SERVICES_CONNECTION_STRING: `endpoint=${emus.acs.url}/;accesskey=bG9jYWwtYWNzLWVtdWxhdG9yLWtleS1ub3Qtc2VjcmV0`,
      COMMUNICATION_SERVICES_SMS_FROM: '+18335550100',
      COMMUNICATION_SERVICES_EMAIL_SENDER: 'DoNotReply@verify.azurecomm.local',
      SIDECAR_URL: emus.agentId.url,
      SIDECAR_GRAPH_API_NAME: 'graph',
      ACS_TEAMS_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
      IDENTITY_ENDPOINT: `${emus.managedIdentity.url}/msi/token`,
      IDENTITY_HEADER: emus.managedIdentity.identityHeader,
    });
  });

  it('runs the whole Teams flow: user token -> sidecar OBO -> ACS exchange', async () => {
    const s = emus.appSettings();
    const oid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    const user = emus.agentId.issueToken({
      oid,
      tid: '3f2504e0-4f89-41d3-9a0c-0305e82c3302',
      name: 'Teams User',
    });
    const res = await fetch(`${s['SIDECAR_URL']}/AuthorizationHeader/acs-teams`, {
      headers: { authorization: `Bearer ${user}` },
    });
    const { authorizationHeader } = (await res.json()) as { authorizationHeader: string };
    const client = new CommunicationIdentityClient(
      s['COMMUNICATION_SERVICES_CONNECTION_STRING'] ?? '',
      { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } },
    );
    const acsToken = await client.getTokenForTeamsUser({
      teamsUserAadToken: authorizationHeader.slice(7),
      clientId: s['ACS_TEAMS_CLIENT_ID'] ?? '',
      userObjectId: oid,
    });
    expect(emus.acs.validateToken(acsToken.token).valid).toBe(true);
    // Only the sidecar emulator's tokens are trusted: a hand-made unsigned token with the same claims is refused.
    const [h, p] = authorizationHeader.slice(7).split('.');
    await expect(
      client.getTokenForTeamsUser({
        teamsUserAadToken: `${h}.${p}.AAAA`,
        clientId: s['ACS_TEAMS_CLIENT_ID'] ?? '',
        userObjectId: oid,
      }),
    ).rejects.toMatchObject({ statusCode: 401 });
  });

  it('sends an SMS with the settings alone and resets all emulators', async () => {
    const s = emus.appSettings();
    const c = twilio(s['TwilioAccountSid'], s['TwilioAuthToken']);
    c.api.baseUrl = s['TwilioApiBaseUrl'] ?? '';
    await c.messages.create({
      to: '+14255550123',
      from: s['TwilioPhoneNumber'],
      body: 'Your verification code is 000111',
    });
    expect(emus.twilio.messages('+14255550123')).toHaveLength(1);
    emus.reset();
    expect(emus.twilio.messages()).toHaveLength(0);
    expect(lines.join('\n')).not.toContain('000111');
  });
});

describe('emulators CLI', () => {
  it('parses ports, host, flags; rejects bad input', () => {
    expect(parseArgs([])).toEqual({
      twilioPort: 4010,
      acsPort: 4020,
      agentIdPort: 5000,
      host: undefined,
      printMessages: false,
      settingsFile: undefined,
    });
    expect(
      parseArgs([
        '--twilio-port',
        '0',
        '--acs-port=0',
        '--agentid-port',
        '5001',
        '--host',
        '127.0.0.1',
        '--print-messages',
        '--settings-file',
        'x.json',
      ]),
    ).toEqual({
      twilioPort: 0,
      acsPort: 0,
      agentIdPort: 5001,
      host: '127.0.0.1',
      printMessages: true,
      settingsFile: 'x.json',
    });
    expect(parseArgs(['--twilio-port', 'abc'])).toMatch(/port number/);
    expect(parseArgs(['--twilio-port', '70000'])).toMatch(/port number/);
    expect(parseArgs(['--acs-port'])).toMatch(/port number/);
    expect(parseArgs(['--bogus'])).toMatch(/unknown argument/);
    expect(parseArgs(['--help'])).toBe(USAGE);
  });

  it('starts all emulators, prints URLs without secrets, writes the full settings file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-cli-'));
    const file = path.join(dir, 'settings.json');
    const out: string[] = [];
    const emus = await runCli(
      {
        twilioPort: 0,
        acsPort: 0,
        agentIdPort: 0,
        host: undefined,
        printMessages: true,
        settingsFile: file,
      },
      {
        DownstreamApis__weather__BaseUrl: 'http://127.0.0.1:9/w',
        DownstreamApis__weather__Scopes__0: 'api://weather/.default',
      },
      (l) => out.push(l),
    );
    try {
      const text = out.join('\n');
      expect(text).toContain(emus.twilio.url);
      expect(text).toContain(`SIDECAR_URL=${emus.agentId.url}`);
      expect(text).not.toContain('local-emulator-auth-token');
      expect(text).not.toContain(emus.acs.accessKey);
      const written = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        Values: Record<string, string>;
      };
      expect(written.Values['TwilioAuthToken']).toBe('local-emulator-auth-token');
      expect(fs.statSync(file).mode & 0o077).toBe(0);
      expect(emus.agentId.downstreamApis()['weather']).toEqual({
        baseUrl: 'http://127.0.0.1:9/w',
        scopes: ['api://weather/.default'],
      });
    } finally {
      await emus.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
