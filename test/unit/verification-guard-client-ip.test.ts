import { clientIpFrom } from '../../src/verification/guard/client-ip';
import { loadClientIpSettings, type ClientIpSettings } from '../../src/verification/guard/settings';
import { configError } from './helpers/env';

const CLIENT_IP_DEFAULTS = { header: 'x-forwarded-for', trustedProxyHops: 1 };

function headers(values: Record<string, string>): Headers {
  return new Headers(values);
}

const AZURE_DEFAULT = loadClientIpSettings({});

describe('clientIpFrom', () => {
  it('defaults to the rightmost X-Forwarded-For entry: the one the App Service front end appends', () => {
    expect(AZURE_DEFAULT).toEqual(CLIENT_IP_DEFAULTS);
    expect(
      clientIpFrom(headers({ 'x-forwarded-for': '203.0.113.7:52311' }), AZURE_DEFAULT),
    ).toEqual({ address: '203.0.113.7', limitKey: '203.0.113.7' });
  });

  it('never trusts entries the client put to the left of the trusted hops', () => {
    const forged = headers({ 'X-Forwarded-For': '1.1.1.1, 2.2.2.2, 198.51.100.9' });
    expect(clientIpFrom(forged, AZURE_DEFAULT)?.address).toBe('198.51.100.9');
    const twoHops: ClientIpSettings = { header: 'x-forwarded-for', trustedProxyHops: 2 };
    expect(clientIpFrom(forged, twoHops)?.address).toBe('2.2.2.2');
  });

  it('counts rotating spoofed values as one client once the front end (or the local host) appends the peer', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 50; i++) {
      // The client's own header (any value, any number of entries), then the peer it came from.
      const spoofed = `${i}.${i}.${i}.${i}, 10.0.${i}.1`;
      for (const appended of [`${spoofed}, 127.0.0.8`, `${spoofed}, 127.0.0.8:50123`]) {
        keys.add(clientIpFrom(headers({ 'x-forwarded-for': appended }), AZURE_DEFAULT)!.limitKey);
      }
    }
    expect([...keys]).toEqual(['127.0.0.8']);
  });

  it('gives up when the header has fewer entries than trusted hops, or is absent', () => {
    const twoHops: ClientIpSettings = { header: 'x-forwarded-for', trustedProxyHops: 2 };
    expect(clientIpFrom(headers({ 'x-forwarded-for': '198.51.100.9' }), twoHops)).toBeUndefined();
    expect(clientIpFrom(headers({}), AZURE_DEFAULT)).toBeUndefined();
  });

  it('refuses entries that are not IP addresses rather than falling back to another entry', () => {
    for (const value of ['unknown', '198.51.100.9, evil', '999.1.1.1', '', 'example.com']) {
      expect(clientIpFrom(headers({ 'x-forwarded-for': value }), AZURE_DEFAULT)).toBeUndefined();
    }
    const huge = `${'1.2.3.4,'.repeat(400)}5.6.7.8`;
    expect(clientIpFrom(headers({ 'x-forwarded-for': huge }), AZURE_DEFAULT)).toBeUndefined();
  });

  it('reads a single-value header such as X-Azure-ClientIP when configured', () => {
    const frontDoor = loadClientIpSettings({ VERIFICATION_CLIENT_IP_HEADER: 'X-Azure-ClientIP' });
    expect(frontDoor.header).toBe('x-azure-clientip');
    const request = headers({ 'x-azure-clientip': '192.0.2.44', 'x-forwarded-for': '10.0.0.1' });
    expect(clientIpFrom(request, frontDoor)?.address).toBe('192.0.2.44');
  });

  it('normalises IPv6 and counts it per /64', () => {
    const a = clientIpFrom(headers({ 'x-forwarded-for': '[2001:DB8:0:12::1]:443' }), AZURE_DEFAULT);
    const b = clientIpFrom(headers({ 'x-forwarded-for': '2001:db8:0:12:ffff::9' }), AZURE_DEFAULT);
    expect(a).toEqual({ address: '2001:db8:0:12::1', limitKey: '2001:db8:0:12::/64' });
    expect(b?.limitKey).toBe(a?.limitKey);
    const other = clientIpFrom(headers({ 'x-forwarded-for': '2001:db8:0:13::1' }), AZURE_DEFAULT);
    expect(other?.limitKey).toBe('2001:db8:0:13::/64');
    expect(clientIpFrom(headers({ 'x-forwarded-for': '::ffff:192.0.2.1' }), AZURE_DEFAULT)).toEqual(
      { address: '192.0.2.1', limitKey: '192.0.2.1' },
    );
    expect(clientIpFrom(headers({ 'x-forwarded-for': '::1' }), AZURE_DEFAULT)?.limitKey).toBe(
      '0:0:0:0::/64',
    );
  });

  it('is off with VERIFICATION_CLIENT_IP_HEADER=none', () => {
    const off = loadClientIpSettings({ VERIFICATION_CLIENT_IP_HEADER: 'none' });
    expect(clientIpFrom(headers({ 'x-forwarded-for': '192.0.2.1' }), off)).toBeUndefined();
  });
});

describe('loadClientIpSettings', () => {
  it('reports every bad setting at once', () => {
    expect(
      configError(() =>
        loadClientIpSettings({
          VERIFICATION_CLIENT_IP_HEADER: 'x forwarded for',
          VERIFICATION_TRUSTED_PROXY_HOPS: '0',
        }),
      ).problems.map((p) => p.field),
    ).toEqual(['VERIFICATION_CLIENT_IP_HEADER', 'VERIFICATION_TRUSTED_PROXY_HOPS']);
  });
});
