/** @type {import('jest').Config} */
module.exports = {
  displayName: 'bench',
  preset: 'ts-jest',
  testEnvironment: 'node',
  // Sibling workspace packages resolve to their TypeScript sources (their `exports` under this condition).
  testEnvironmentOptions: { customExportConditions: ['@local/source', 'node', 'node-addons'] },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
};
