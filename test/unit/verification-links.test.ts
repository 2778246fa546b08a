import { ConfigError } from '../../src/errors';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LINK_PURPOSES,
  ROUTE_PREFIX,
  buildVerificationLinks,
  type LinkPurpose,
} from '../../src/verification/links';
import { linkToken, verifyLinkToken } from '../../src/verification/crypto/link-tokens';
import { VERIFICATION_FUNCTIONS } from '../../src/verification/names';
import { loadLinkSettings } from '../../src/verification/settings';

/** The route each purpose's link of the 202 answer points at. */
const LINK_ROUTES: Record<LinkPurpose, string> = {
  status: VERIFICATION_FUNCTIONS.verificationStatus.route,
  code: VERIFICATION_FUNCTIONS.raiseVerificationEvent.route,
  cancel: VERIFICATION_FUNCTIONS.cancelVerification.route,
  purge: VERIFICATION_FUNCTIONS.purgeVerification.route,
  resend: VERIFICATION_FUNCTIONS.resendVerificationCode.route,
};

const SECRET = 'links-test-secret-0123456789abcdef';
const OTHER_SECRET = 'another-secret-0123456789abcdefgh';
const A = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const B = 'b1b2c3d4e5f60718293a4b5c6d7e8f90';
const SETTINGS = loadLinkSettings({ VERIFICATION_PUBLIC_ORIGIN: 'https://verify.contoso.com' });

describe('linkToken / verifyLinkToken', () => {
  it('accepts the token of the same instance and purpose only', () => {
    for (const purpose of LINK_PURPOSES) {
      const token = linkToken(SECRET, A, purpose);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(verifyLinkToken(SECRET, A, purpose, token)).toBe(true);
      expect(verifyLinkToken(SECRET, B, purpose, token)).toBe(false);
      expect(verifyLinkToken(OTHER_SECRET, A, purpose, token)).toBe(false);
      for (const other of LINK_PURPOSES.filter((p) => p !== purpose)) {
        expect(verifyLinkToken(SECRET, A, other, token)).toBe(false);
      }
    }
  });

  it('is stable across calls and differs per instance and purpose', () => {
    expect(linkToken(SECRET, A, 'status')).toBe(linkToken(SECRET, A, 'status'));
    const all = new Set(
      [A, B].flatMap((id) => LINK_PURPOSES.map((purpose) => linkToken(SECRET, id, purpose))),
    );
    expect(all.size).toBe(2 * LINK_PURPOSES.length);
  });

  it('does not let "purpose\\nid" boundaries be shifted to forge another pair', () => {
    expect(linkToken(SECRET, 'x', 'status')).not.toBe(linkToken(SECRET, 'status\nx', 'status'));
  });

  it('rejects missing, altered, truncated and non-string tokens', () => {
    const token = linkToken(SECRET, A, 'code');
    const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    for (const bad of [
      undefined,
      null,
      '',
      flipped,
      token.slice(0, 42),
      `${token}A`,
      42,
      [token],
    ]) {
      expect(verifyLinkToken(SECRET, A, 'code', bad)).toBe(false);
    }
  });
});

describe('buildVerificationLinks', () => {
  const links = buildVerificationLinks(SECRET, SETTINGS, A);

  it('gives the seed shape plus resendPostUri on the configured origin, never a key', () => {
    expect(Object.keys(links).sort()).toEqual(
      [
        'id',
        'purgeHistoryDeleteUri',
        'resendPostUri',
        'sendEventPostUri',
        'statusQueryGetUri',
        'terminatePostUri',
      ].sort(),
    );
    expect(links.id).toBe(A);
    const uris = [
      links.statusQueryGetUri,
      links.sendEventPostUri,
      links.terminatePostUri,
      links.purgeHistoryDeleteUri,
      links.resendPostUri,
    ];
    for (const uri of uris) {
      expect(uri.startsWith(`https://verify.contoso.com/api/verifications/${A}`)).toBe(true);
      expect(new URL(uri).searchParams.has('code')).toBe(false);
    }
    expect(links.sendEventPostUri).toBe(
      `https://verify.contoso.com/api/verifications/${A}/events/{eventName}?token=${linkToken(SECRET, A, 'code')}`,
    );
  });

  it('carries in each URI the token of its own purpose', () => {
    const byUri: Record<string, LinkPurpose> = {
      statusQueryGetUri: 'status',
      sendEventPostUri: 'code',
      terminatePostUri: 'cancel',
      purgeHistoryDeleteUri: 'purge',
      resendPostUri: 'resend',
    };
    for (const [name, purpose] of Object.entries(byUri)) {
      const uri = links[name as keyof typeof links];
      const token = new URL(uri.replace('{eventName}', 'SmsChallengeResponse')).searchParams.get(
        'token',
      );
      expect(verifyLinkToken(SECRET, A, purpose, token)).toBe(true);
      expect(new URL(uri.replace('{eventName}', 'x')).pathname).toBe(
        `/api/${LINK_ROUTES[purpose].replace('{id}', A).replace('{eventName}', 'x')}`,
      );
    }
  });

  it('builds the links below the route prefix host.json gives the Functions host', () => {
    const host = JSON.parse(readFileSync(join(__dirname, '..', '..', 'host.json'), 'utf8')) as {
      extensions: { http: { routePrefix: string } };
    };
    expect(host.extensions.http.routePrefix).toBe(ROUTE_PREFIX);
    const links = buildVerificationLinks(SECRET, SETTINGS, A);
    expect(new URL(links.statusQueryGetUri).pathname.startsWith(`/${ROUTE_PREFIX}/`)).toBe(true);
  });

  it('percent-encodes the instance id in the path', () => {
    const odd = buildVerificationLinks(SECRET, SETTINGS, 'a/b?c');
    expect(odd.statusQueryGetUri).toContain('/api/verifications/a%2Fb%3Fc/status?token=');
  });
});

describe('loadLinkSettings', () => {
  it('prefers VERIFICATION_PUBLIC_ORIGIN, then WEBSITE_HOSTNAME over https, then localhost:7071', () => {
    expect(
      loadLinkSettings({
        VERIFICATION_PUBLIC_ORIGIN: 'https://verify.contoso.com',
        WEBSITE_HOSTNAME: 'app.azurewebsites.net',
      }).publicOrigin.origin,
    ).toBe('https://verify.contoso.com');
    expect(
      loadLinkSettings({ WEBSITE_HOSTNAME: 'app.azurewebsites.net' }).publicOrigin.origin,
    ).toBe('https://app.azurewebsites.net');
    expect(loadLinkSettings({}).publicOrigin.origin).toBe('http://localhost:7071');
    expect(
      loadLinkSettings({ VERIFICATION_PUBLIC_ORIGIN: 'http://127.0.0.1:40123' }).publicOrigin
        .origin,
    ).toBe('http://127.0.0.1:40123');
  });

  it.each([
    'http://verify.contoso.com',
    'https://verify.contoso.com/base',
    'https://user:pw@verify.contoso.com',
    'https://verify.contoso.com?x=1',
    'ftp://verify.contoso.com',
    'not a url',
  ])('refuses %s', (origin) => {
    expect(() => loadLinkSettings({ VERIFICATION_PUBLIC_ORIGIN: origin })).toThrow(ConfigError);
  });

  it('refuses a WEBSITE_HOSTNAME that is not a host name', () => {
    expect(() => loadLinkSettings({ WEBSITE_HOSTNAME: 'evil.com/path' })).toThrow(ConfigError);
  });
});
