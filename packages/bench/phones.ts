/**
 * The phone numbers the benchmark texts: a valid US number per scenario and index (`+1425` and 7 digits), as
 * the load driver uses, since the fraud guard refuses numbers that libphonenumber-js calls invalid.
 */
export function phoneFor(scenario: number, index: number): string {
  if (index >= 1_000_000) throw new Error('at most 1,000,000 numbers per scenario');
  return `+1425${(scenario - 198) * 1_000_000 + index}`;
}

/**
 * How many of `messages` went to one of the first `count` numbers of `scenario`. Counted against the numbers
 * themselves, not a prefix: the numbers' prefix changed once and a prefix test waited forever.
 */
export function countSentTo(
  messages: readonly { readonly to: string }[],
  scenario: number,
  count: number,
): number {
  const numbers = new Set(Array.from({ length: count }, (_, i) => phoneFor(scenario, i)));
  return messages.filter((m) => numbers.has(m.to)).length;
}
