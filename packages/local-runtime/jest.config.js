/** @type {import('jest').Config} */
module.exports = {
  displayName: 'runtime',
  preset: 'ts-jest',
  testEnvironment: 'node',
  // Sibling workspace packages resolve to their TypeScript sources (their `exports` under this condition).
  testEnvironmentOptions: { customExportConditions: ['@local/source', 'node', 'node-addons'] },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
  // This package provides the worker's core API; jest's registry does not see Node's resolver hook.
  moduleNameMapper: { '^@azure/functions-core$': '<rootDir>/src/host/core-api.ts' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
};
