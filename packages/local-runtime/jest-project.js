/**
 * One jest project of this repository: the runtime's preset, ts-jest transpiling only (type checking runs once
 * in `pretest`), and the `*.test.ts` files under `testDir` of `rootDir`.
 */
module.exports = function jestProject(displayName, rootDir, testDir = 'test') {
  return {
    ...require('./jest-preset.js'),
    displayName,
    rootDir,
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: `${rootDir}/tsconfig.json`, diagnostics: false }],
    },
    testMatch: [`<rootDir>/${testDir}/**/*.test.ts`],
  };
};
