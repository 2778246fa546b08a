import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import {
  codeMatches,
  generateCode,
  hashCode,
  isWellFormedCode,
  normalizeCode,
  renderMessage,
  sealCode,
  unsealCode,
} from '../../src/verification/codes';

const SECRET = 'domain-test-secret-0123456789';

describe('verification domain', () => {
  it('generates codes of the requested length from the random source, keeping leading zeros', () => {
    const digits = [0, 0, 7, 1, 0, 9];
    const random = jest.fn((min: number, max: number) => {
      expect([min, max]).toEqual([0, 10]);
      return digits.shift()!;
    });
    expect(generateCode(6, random)).toBe('007109');
    expect(random).toHaveBeenCalledTimes(6);
  });

  it('generates only digit strings with crypto.randomInt by default, for 4..10 digits', () => {
    for (let length = 4; length <= 10; length++)
      expect(generateCode(length)).toMatch(new RegExp(`^\\d{${length}}$`));
    expect(() => generateCode(3)).toThrow(RangeError);
    expect(() => generateCode(11)).toThrow(RangeError);
  });

  it('renders every {code} placeholder', () => {
    expect(renderMessage('Your verification code is {code}', '123456')).toBe(
      'Your verification code is 123456',
    );
    expect(renderMessage('{code} / {code}', '42')).toBe('42 / 42');
  });

  it('binds the hash to secret, instance and code', () => {
    const base = hashCode(SECRET, 'i1', '123456');
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(hashCode(SECRET, 'i2', '123456')).not.toBe(base);
    expect(hashCode(`${SECRET}x`, 'i1', '123456')).not.toBe(base);
    expect(hashCode(SECRET, 'i1', '123457')).not.toBe(base);
    expect(base).not.toContain('123456');
  });

  it('normalises numbers with zero padding and strings as given', () => {
    expect(normalizeCode(2168, 6)).toBe('002168');
    expect(normalizeCode(0, 4)).toBe('0000');
    expect(normalizeCode('002168', 6)).toBe('002168');
    expect(normalizeCode(' 2168 ', 6)).toBe('2168');
    expect(normalizeCode(-1, 6)).toBeUndefined();
    expect(normalizeCode(21.5, 6)).toBeUndefined();
    expect(normalizeCode('12a4', 4)).toBeUndefined();
    expect(normalizeCode({ code: '1234' }, 4)).toBeUndefined();
    expect(normalizeCode(null, 4)).toBeUndefined();
  });

  it('matches codes by hash, for numbers and strings', () => {
    const hash = hashCode(SECRET, 'i1', '002168');
    expect(codeMatches(SECRET, 'i1', hash, '002168', 6)).toBe(true);
    expect(codeMatches(SECRET, 'i1', hash, 2168, 6)).toBe(true);
    expect(codeMatches(SECRET, 'i1', hash, '2168', 6)).toBe(false);
    expect(codeMatches(SECRET, 'i1', hash, '002169', 6)).toBe(false);
    expect(codeMatches(SECRET, 'i2', hash, '002168', 6)).toBe(false);
    expect(codeMatches(SECRET, 'i1', 'not-hex', '002168', 6)).toBe(false);
    expect(codeMatches(SECRET, 'i1', hash, undefined, 6)).toBe(false);
  });

  it('accepts 4-10 digit strings and non-negative integers as well-formed submissions', () => {
    for (const ok of ['1234', '0000000000', 0, 2168, 9_999_999_999])
      expect(isWellFormedCode(ok)).toBe(true);
    for (const bad of [
      '123',
      '12345678901',
      '12 34',
      'abcd',
      -1,
      1.5,
      1e10,
      null,
      undefined,
      {},
      [],
    ]) {
      expect(isWellFormedCode(bad)).toBe(false);
    }
  });

  describe('sealed codes', () => {
    const IV = Buffer.from('000102030405060708090a0b', 'hex');
    const flip = (sealed: string, index: number): string => {
      const bytes = Buffer.from(sealed, 'base64url');
      bytes[index] = (bytes[index] ?? 0) ^ 0x01;
      return bytes.toString('base64url');
    };

    it('round-trips a code for the same secret and instance, without the digits in the output', () => {
      const sealed = sealCode(SECRET, 'i1', '002168');
      expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
      // iv 12 + ciphertext 6 + tag 16 bytes.
      expect(Buffer.from(sealed, 'base64url')).toHaveLength(34);
      expect(sealed).not.toContain('2168');
      expect(unsealCode(SECRET, 'i1', sealed)).toBe('002168');
      for (let length = 1; length <= 10; length++) {
        const code = '9'.repeat(length);
        expect(unsealCode(SECRET, 'i1', sealCode(SECRET, 'i1', code))).toBe(code);
      }
    });

    it('uses a fresh IV per seal, and is deterministic for a given IV (unsealing is replay-safe)', () => {
      expect(sealCode(SECRET, 'i1', '002168')).not.toBe(sealCode(SECRET, 'i1', '002168'));
      const fixed = sealCode(SECRET, 'i1', '002168', IV);
      expect(fixed).toBe(sealCode(SECRET, 'i1', '002168', IV));
      expect(Buffer.from(fixed, 'base64url').subarray(0, 12)).toEqual(IV);
      expect(() => sealCode(SECRET, 'i1', '002168', Buffer.alloc(16))).toThrow(RangeError);
    });

    it('encrypts under a key derived from the secret, not the HMAC key itself', () => {
      const secret = 'k'.repeat(32);
      const bytes = Buffer.from(sealCode(secret, 'i1', '002168', IV), 'base64url');
      const opensWith = (key: Buffer): boolean => {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
        decipher.setAAD(Buffer.from('i1', 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - 16));
        try {
          decipher.update(bytes.subarray(12, bytes.length - 16));
          decipher.final();
          return true;
        } catch {
          return false;
        }
      };
      expect(opensWith(Buffer.from(secret, 'utf8'))).toBe(false);
      expect(opensWith(createHash('sha256').update(secret).digest())).toBe(false);
      expect(opensWith(createHmac('sha256', secret).digest())).toBe(false);
    });

    it('rejects a tampered IV, ciphertext or tag, another instance and another secret', () => {
      const sealed = sealCode(SECRET, 'i1', '002168');
      for (const index of [0, 11, 12, 17, 18, 33]) {
        expect(unsealCode(SECRET, 'i1', flip(sealed, index))).toBeUndefined();
      }
      expect(unsealCode(SECRET, 'i2', sealed)).toBeUndefined();
      expect(unsealCode(`${SECRET}x`, 'i1', sealed)).toBeUndefined();
      const truncated = Buffer.from(sealed, 'base64url').subarray(0, 33).toString('base64url');
      expect(unsealCode(SECRET, 'i1', truncated)).toBeUndefined();
    });

    it('never throws on values that are not sealed codes', () => {
      for (const junk of [
        undefined,
        null,
        2168,
        '',
        '!!!!',
        'A'.repeat(38),
        'A'.repeat(52),
        'A'.repeat(100_000),
        hashCode(SECRET, 'i1', '002168'),
        { sealedCode: sealCode(SECRET, 'i1', '002168') },
      ]) {
        expect(unsealCode(SECRET, 'i1', junk)).toBeUndefined();
      }
    });

    it('opens only digit codes: a sealed non-code is not a code', () => {
      expect(unsealCode(SECRET, 'i1', sealCode(SECRET, 'i1', '12ab'))).toBeUndefined();
      expect(unsealCode(SECRET, 'i1', sealCode(SECRET, 'i1', ''))).toBeUndefined();
    });

    it('matches { sealedCode } by hash, and nothing else of object shape', () => {
      const hash = hashCode(SECRET, 'i1', '002168');
      const sealed = sealCode(SECRET, 'i1', '002168');
      expect(codeMatches(SECRET, 'i1', hash, { sealedCode: sealed }, 6)).toBe(true);
      expect(
        codeMatches(SECRET, 'i1', hash, { sealedCode: sealCode(SECRET, 'i1', '002169') }, 6),
      ).toBe(false);
      expect(
        codeMatches(SECRET, 'i1', hash, { sealedCode: sealCode(SECRET, 'i1', '2168') }, 6),
      ).toBe(false);
      expect(
        codeMatches(SECRET, 'i2', hashCode(SECRET, 'i2', '002168'), { sealedCode: sealed }, 6),
      ).toBe(false);
      expect(codeMatches(`${SECRET}x`, 'i1', hash, { sealedCode: sealed }, 6)).toBe(false);
      expect(codeMatches(SECRET, 'i1', hash, { sealedCode: flip(sealed, 20) }, 6)).toBe(false);
      for (const other of [
        { sealedCode: sealed, extra: 1 },
        { sealedcode: sealed },
        { code: '002168' },
        { sealedCode: 2168 },
        [sealed],
        {},
      ]) {
        expect(codeMatches(SECRET, 'i1', hash, other, 6)).toBe(false);
      }
    });

    it('does not accept the expected HMAC itself, raw or as a sealed code', () => {
      const hash = hashCode(SECRET, 'i1', '002168');
      expect(codeMatches(SECRET, 'i1', hash, hash, 6)).toBe(false);
      expect(codeMatches(SECRET, 'i1', hash, { sealedCode: hash }, 6)).toBe(false);
      const asBase64url = Buffer.from(hash, 'hex').toString('base64url');
      expect(codeMatches(SECRET, 'i1', hash, { sealedCode: asBase64url }, 6)).toBe(false);
    });
  });
});
