/** @type {import('jest').Config} */
const base = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // Type checking runs once in `pretest` (tsc); ts-jest only transpiles, which keeps the suite fast.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The local runtime provides the worker's core API; jest's registry does not see Node's resolver hook.
  moduleNameMapper: { '^@azure/functions-core$': '<rootDir>/local-runtime/src/host/core-api.ts' },
};

module.exports = {
  testTimeout: 30000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    { ...base, displayName: 'emulators', testMatch: ['<rootDir>/emulators/test/**/*.test.ts'] },
    { ...base, displayName: 'runtime', testMatch: ['<rootDir>/local-runtime/test/**/*.test.ts'] },
    // Headless Chromium against the dashboard, only when asked for by name:
    // `npm run test:browser` (= `jest --selectProjects browser`); `npm test` never starts a browser.
    ...(process.argv.includes('browser')
      ? [{ ...base, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] }]
      : []),
  ],
};
