import type { TestNumber } from './settings';

/**
 * Test numbers (Firebase's and Prelude's "fictional numbers"): a number, or every number under a prefix,
 * verifies with a fixed code and nothing is sent. The exact number wins over a prefix, a longer prefix over
 * a shorter one.
 */
export function testCodeFor(
  testNumbers: readonly TestNumber[],
  phoneNumber: string,
): string | undefined {
  let best: TestNumber | undefined;
  for (const t of testNumbers) {
    const matches = t.prefix ? phoneNumber.startsWith(t.number) : phoneNumber === t.number;
    if (!matches) continue;
    if (
      best === undefined ||
      (best.prefix && !t.prefix) ||
      (best.prefix === t.prefix && t.number.length > best.number.length)
    ) {
      best = t;
    }
  }
  return best?.code;
}
