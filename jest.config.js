const jestProject = require('@local/durable-runtime/jest-project');

/**
 * The app's suites, then every workspace package's own jest project (each package's jest.config.js).
 * @type {import('jest').Config}
 */
module.exports = {
  testTimeout: 30000,
  projects: [
    jestProject('unit', __dirname, 'test/unit'),
    jestProject('integration', __dirname, 'test/integration'),
    '<rootDir>/packages/emulators',
    '<rootDir>/packages/local-runtime',
    '<rootDir>/packages/bench',
    // Headless Chromium against the dashboard, only when asked for by name:
    // `npm run test:browser` (= `jest --selectProjects browser`); `npm test` never starts a browser.
    ...(process.argv.includes('browser')
      ? [jestProject('browser', __dirname, 'test/browser')]
      : []),
  ],
};
