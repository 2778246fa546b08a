/** The benchmark's memory stage waits until every waiting instance's SMS went out: it must see them. */
import { countSentTo, phoneFor } from '../phones';

it('counts the SMS sent to the numbers of a scenario (what the memory stage waits for)', () => {
  const messages = [
    { to: phoneFor(205, 0) },
    { to: phoneFor(205, 2) },
    { to: phoneFor(204, 0) },
    { to: phoneFor(205, 9) },
  ];
  expect(countSentTo(messages, 205, 3)).toBe(2);
  expect(countSentTo([], 205, 3)).toBe(0);
  expect(phoneFor(205, 0)).toBe('+14257000000');
});
