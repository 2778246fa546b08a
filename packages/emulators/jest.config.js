/** @type {import('jest').Config} */
module.exports = {
  // The emulators' tests use the runtime's clock: the same preset as every suite in the repository.
  ...require('@local/durable-runtime/jest-preset'),
  displayName: 'emulators',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
};
