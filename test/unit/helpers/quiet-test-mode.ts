/**
 * Outside a Functions worker, `@azure/functions` registers nothing and warns once per
 * registration ("... is in test mode"). Import this first in a test file to drop those lines only.
 */
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]): void => {
  if (typeof args[0] === 'string' && args[0].includes('test mode')) return;
  warn(...args);
};
