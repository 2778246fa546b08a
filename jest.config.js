/** @type {import('jest').Config} */
const base = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // The workspace packages resolve to their TypeScript sources (their `exports` under this condition).
  testEnvironmentOptions: { customExportConditions: ['@local/source', 'node', 'node-addons'] },
  // Type checking runs once in `pretest` (tsc); ts-jest only transpiles, which keeps the suite fast.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The local runtime provides the worker's core API; jest's registry does not see Node's resolver hook.
  moduleNameMapper: {
    '^@azure/functions-core$': '<rootDir>/packages/local-runtime/src/host/core-api.ts',
  },
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
    '<rootDir>/packages/bench',
    // Headless Chromium against the dashboard, only when asked for by name:
    // `npm run test:browser` (= `jest --selectProjects browser`); `npm test` never starts a browser.
    ...(process.argv.includes('browser')
      ? [{ ...base, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] }]
      : []),
  ],
};
