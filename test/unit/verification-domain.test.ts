import { isWellFormedCode, normalizeCode } from '../../src/verification/codes';
import { hashCode, judgeAnswer } from '../../src/verification/crypto/code-hash';
import { sealAnswer } from '../../src/verification/crypto/sealed-answer';
import { renderMessage } from '../../src/verification/sms-templates';

const SECRET = 'domain-test-secret-0123456789';

describe('verification domain', () => {
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

  it('judges only sealed answers, by hash, and hands back their receipt time', () => {
    const hash = hashCode(SECRET, 'i1', '002168');
    const receivedAt = new Date('2026-11-22T10:00:00.000Z');
    const sealed = (code: string, id = 'i1') => sealAnswer(SECRET, id, { code, receivedAt });
    expect(judgeAnswer(SECRET, 'i1', hash, sealed('002168'), 6)).toEqual({
      correct: true,
      receivedAt,
    });
    expect(judgeAnswer(SECRET, 'i1', hash, sealed('002169'), 6)?.correct).toBe(false);
    // Too short for the instance's code length: a wrong attempt, never a match.
    expect(judgeAnswer(SECRET, 'i1', hash, sealed('2168'), 6)?.correct).toBe(false);
    expect(judgeAnswer(SECRET, 'i1', 'not-hex', sealed('002168'), 6)?.correct).toBe(false);
    // Sealed for another instance or under another secret: no answer at all.
    expect(judgeAnswer(SECRET, 'i1', hash, sealed('002168', 'i2'), 6)).toBeUndefined();
    expect(judgeAnswer(`${SECRET}x`, 'i1', hash, sealed('002168'), 6)).toBeUndefined();
    // Raw codes (raised with a host key) and the expected hash itself are no answers.
    for (const raw of ['002168', 2168, hash, { sealedCode: hash }, undefined, null]) {
      expect(judgeAnswer(SECRET, 'i1', hash, raw, 6)).toBeUndefined();
    }
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
