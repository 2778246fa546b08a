import {
  codeMatches,
  generateCode,
  hashCode,
  isWellFormedCode,
  normalizeCode,
  renderMessage,
} from '../../src/domain/verification';

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
});
