/** @type {import('jest').Config} */
const base = {
  // Maps the runtime's core API for in-process hosts, resolves the workspace packages to their sources.
  ...require('@local/durable-runtime/jest-preset'),
  // Type checking runs once in `pretest` (tsc); ts-jest only transpiles, which keeps the suite fast.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
};

/** The app's suites, then every workspace package's own jest project (each package's jest.config.js). */
module.exports = {
  testTimeout: 30000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    '<rootDir>/packages/emulators',
    '<rootDir>/packages/local-runtime',
    // Headless Chromium against the dashboard, only when asked for by name:
    // `npm run test:browser` (= `jest --selectProjects browser`); `npm test` never starts a browser.
    ...(process.argv.includes('browser')
      ? [{ ...base, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] }]
      : []),
  ],
};
