/** @type {import('jest').Config} */
module.exports = {
  ...require('./jest-preset.js'),
  displayName: 'runtime',
  // Type checking runs once in `pretest` (tsc); ts-jest only transpiles.
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
};
