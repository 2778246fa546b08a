import { createHmac, hkdfSync } from 'node:crypto';

import { deriveCode } from '../../src/verification/crypto/derived-code';

const SECRET = 'derived-code-secret-0123456789abc';
const ID = '6f1c0a7e2b9d4c3e8a5f0b1d2c3e4f50';

describe('deriveCode', () => {
  it('gives the same code for the same secret, instance and send number (a re-run sends it again)', () => {
    expect(deriveCode(SECRET, ID, 1, 6)).toBe(deriveCode(SECRET, ID, 1, 6));
  });

  it('gives codes of exactly the asked length, 4 to 10 digits, leading zeros kept', () => {
    for (let length = 4; length <= 10; length++) {
      for (let send = 1; send <= 50; send++) {
        expect(deriveCode(SECRET, ID, send, length)).toMatch(new RegExp(`^\\d{${length}}$`));
      }
    }
  });

  it('changes with the send number, the instance and the secret', () => {
    const base = deriveCode(SECRET, ID, 1, 10);
    expect(deriveCode(SECRET, ID, 2, 10)).not.toBe(base);
    expect(deriveCode(SECRET, `${ID}x`, 1, 10)).not.toBe(base);
    expect(deriveCode('other-secret-0123456789abcdefgh', ID, 1, 10)).not.toBe(base);
  });

  it('follows HOTP dynamic truncation over HMAC-SHA256 of "instance\\nsend" under the HKDF key', () => {
    const key = Buffer.from(
      hkdfSync(
        'sha256',
        SECRET,
        Buffer.alloc(0),
        'sms-verification/derived-code/hmac-sha256/v1',
        32,
      ),
    );
    const mac = createHmac('sha256', key).update(`${ID}\n3`).digest();
    const offset = mac[31]! & 0x0f;
    const value = mac.readBigUInt64BE(offset) & 0x7fffffffffffffffn;
    expect(deriveCode(SECRET, ID, 3, 8)).toBe((value % 100_000_000n).toString().padStart(8, '0'));
  });

  it('spreads codes over the whole range (first digits of 10-digit codes are not stuck at 0-2)', () => {
    const firstDigits = new Set<string>();
    const counts = new Array<number>(10).fill(0);
    for (let send = 1; send <= 2000; send++) {
      const code = deriveCode(SECRET, ID, send, 10);
      firstDigits.add(code[0]!);
      counts[Number(code[9])]! += 1;
    }
    expect(firstDigits.size).toBe(10);
    // 200 expected per last digit; a broken truncation lands far outside this band.
    for (const count of counts) expect(count).toBeGreaterThan(120);
  });

  it('refuses bad lengths, send numbers and empty instance ids', () => {
    expect(() => deriveCode(SECRET, ID, 1, 3)).toThrow(RangeError);
    expect(() => deriveCode(SECRET, ID, 1, 11)).toThrow(RangeError);
    expect(() => deriveCode(SECRET, ID, 0, 6)).toThrow(RangeError);
    expect(() => deriveCode(SECRET, ID, 1.5, 6)).toThrow(RangeError);
    expect(() => deriveCode(SECRET, '', 1, 6)).toThrow(RangeError);
  });
});
