/**
 * Jest settings for tests that load an app on this runtime in-process (`@local/durable-runtime/jest-preset`):
 * the runtime provides the worker's core API (`@azure/functions-core`) through Node's resolver hook, which
 * jest's module registry does not see, so it is mapped here; and the workspace packages resolve to their
 * TypeScript sources (their `exports` under the `@local/source` condition).
 */
const path = require('node:path');

module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@local/source', 'node', 'node-addons'] },
  moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
  moduleNameMapper: {
    '^@azure/functions-core$': path.join(__dirname, 'src', 'host', 'core-api.ts'),
  },
};
