import { openAnswer, sealAnswer } from '../../src/verification/crypto/sealed-answer';
import { createCipheriv, hkdfSync } from 'node:crypto';

const SECRET = 'sealed-answer-secret-0123456789abc';
const A = 'instance-a';
const B = 'instance-b';
const AT = new Date('2030-01-01T00:01:29.000Z');

describe('sealAnswer / openAnswer', () => {
  it('round-trips the code and the receipt time for the same instance and secret', () => {
    const payload = sealAnswer(SECRET, A, { code: '002168', receivedAt: AT });
    expect(Object.keys(payload)).toEqual(['sealedAnswer']);
    expect(openAnswer(SECRET, A, payload)).toEqual({ code: '002168', receivedAt: AT });
  });

  it('keeps the code and the time out of the sealed text, with a fresh IV each time', () => {
    const first = sealAnswer(SECRET, A, { code: '2168', receivedAt: AT });
    const second = sealAnswer(SECRET, A, { code: '2168', receivedAt: AT });
    expect(first.sealedAnswer).not.toBe(second.sealedAnswer);
    const decoded = Buffer.from(first.sealedAnswer, 'base64url').toString('latin1');
    expect(decoded).not.toContain('2168');
    expect(decoded).not.toContain('2030');
  });

  it('does not open for another instance, another secret, or after any change', () => {
    const payload = sealAnswer(SECRET, A, { code: '2168', receivedAt: AT });
    expect(openAnswer(SECRET, B, payload)).toBeUndefined();
    expect(openAnswer('other-secret-0123456789abcdefgh', A, payload)).toBeUndefined();
    const bytes = Buffer.from(payload.sealedAnswer, 'base64url');
    for (let i = 0; i < bytes.length; i += 7) {
      const altered = Buffer.from(bytes);
      altered[i] = altered[i]! ^ 0x01;
      expect(
        openAnswer(SECRET, A, { sealedAnswer: altered.toString('base64url') }),
      ).toBeUndefined();
    }
  });

  it('refuses anything that is not exactly { sealedAnswer: string }', () => {
    const payload = sealAnswer(SECRET, A, { code: '2168', receivedAt: AT });
    for (const bad of [
      undefined,
      null,
      2168,
      '2168',
      payload.sealedAnswer,
      [payload],
      { ...payload, receivedAt: '2031-01-01T00:00:00.000Z' },
      { sealedAnswer: 'x'.repeat(500) },
      { sealedCode: payload.sealedAnswer },
    ]) {
      expect(openAnswer(SECRET, A, bad)).toBeUndefined();
    }
  });

  it('uses its own key: the same plaintext sealed under another HKDF label does not open', () => {
    const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), 'another/label', 32));
    const iv = Buffer.alloc(12, 1);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(A, 'utf8'));
    const text = JSON.stringify({ code: '2168', receivedAt: AT.toISOString() });
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    expect(openAnswer(SECRET, A, { sealedAnswer: sealed })).toBeUndefined();
  });

  it('seals only well-formed answers', () => {
    expect(() => sealAnswer(SECRET, A, { code: '21a8', receivedAt: AT })).toThrow(RangeError);
    expect(() => sealAnswer(SECRET, A, { code: '2168', receivedAt: new Date(Number.NaN) })).toThrow(
      RangeError,
    );
    expect(() => sealAnswer(SECRET, A, { code: '2168', receivedAt: AT }, Buffer.alloc(8))).toThrow(
      RangeError,
    );
  });

  it('is deterministic to open, as replay needs', () => {
    const payload = sealAnswer(SECRET, A, { code: '0000000001', receivedAt: AT });
    expect(openAnswer(SECRET, A, payload)).toEqual(openAnswer(SECRET, A, payload));
  });
});
