// Type-aware lint for every TypeScript file in the project.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** One `no-restricted-imports` block per folder; register.ts files are the features' only way in to composition. */
function layer(files, patterns, ignores = []) {
  return [{ files, ignores, rules: { 'no-restricted-imports': ['error', { patterns }] } }];
}

/** A feature folder: none of `forbidden` features, and composition only from its register.ts. */
function featureLayer(name, forbidden) {
  const others = forbidden.map(feature);
  return [
    ...layer(
      [`src/${name}/**/*.ts`],
      [COMPOSITION_ONLY_IN_REGISTER, DOCUMENT_COMPOSER, ...others],
      ['**/register.ts'],
    ),
    ...layer([`src/${name}/register.ts`], others),
  ];
}

function feature(name) {
  return {
    group: [`../${name}/**`, `**/src/${name}/**`],
    message: `Features must not depend on the ${name} feature.`,
  };
}

/** The OpenAPI document imports the features (their `register<Feature>OpenApi`), never the reverse. */
const DOCUMENT_COMPOSER = {
  group: ['../openapi/**', '**/src/openapi/**'],
  message:
    'Features describe their routes with http/openapi; only src/openapi composes the document.',
};

/** Only register.ts may import the composition root. */
const COMPOSITION_ONLY_IN_REGISTER = {
  group: ['../composition', '../../composition'],
  message:
    "Handlers take their dependencies as parameters; only a feature's register.ts wires composition.",
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'packages/*/dist/**',
      'packages/*/jest.config.js',
      'node_modules/**',
      'coverage/**',
      '.data/**',
      '.package/**',
      '*.js',
      '*.mjs',
      'packages/bench/driver.mjs',
      // The timer benchmark's app: plain CommonJS, loaded as is by both hosts of an A/B run.
      'packages/bench/apps/**',
      // A plain CommonJS preload for child hosts (no TypeScript project covers it).
      'packages/local-runtime/test/ts-fixture-loader.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  // Layering of the app (src/): shared modules know no feature; features know no other feature
  // (except /api/me, which builds on ACS) and reach the composition root only from register.ts.
  ...layer(
    ['src/http/**/*.ts', 'src/errors.ts', 'src/loopback.ts', 'src/redact.ts'],
    [
      {
        group: [
          '**/verification/**',
          '**/verify/**',
          '**/acs/**',
          '**/me/**',
          '**/composition',
          '**/config',
        ],
        message:
          'Shared modules must not depend on a feature, the settings or the composition root.',
      },
    ],
  ),
  // The settings toolkit and the shared storage know no feature; config.ts names the features'
  // section types in its Config record, nothing else of them.
  ...layer(
    ['src/config.ts', 'src/storage/**/*.ts'],
    [
      {
        group: ['**/verification/**', '**/acs/**', '**/me/**', '**/composition'],
        allowTypeImports: true,
        message: 'The settings toolkit and the storage may use only the types of a feature.',
      },
    ],
  ),
  ...featureLayer('verification', ['acs', 'me', 'verify']),
  ...featureLayer('acs', ['verification', 'me', 'verify']),
  ...featureLayer('me', ['verification', 'verify']),
  // The Verify API builds on the verification feature (its guard, SMS sender and code crypto).
  ...featureLayer('verify', ['acs', 'me']),
  {
    // Orchestrators replay: they must be deterministic (no I/O, clock, randomness or environment),
    // and may use only the pure rules and names of their feature.
    files: ['src/**/orchestrator.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'http', 'https', 'crypto', 'net', 'child_process', 'os'] },
            {
              group: ['../**', './**', '!./rules', '!./names'],
              message:
                'An orchestrator may import only ./rules and ./names (pure values and types).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'fetch',
        'setTimeout',
        'setInterval',
        'setImmediate',
        'queueMicrotask',
        'process',
        'crypto',
        'performance',
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now' },
        { object: 'Math', property: 'random' },
        { object: 'globalThis', property: 'crypto' },
        { object: 'globalThis', property: 'performance' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'new Date() reads the wall clock; use context.df.currentUtcDateTime.',
        },
        {
          selector: "CallExpression[callee.name='Date']",
          message: 'Date() reads the wall clock; use context.df.currentUtcDateTime.',
        },
      ],
    },
  },
  {
    // The local dashboard's browser script: plain JS served as is, so no type information.
    files: ['packages/local-runtime/src/dashboard/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'fetch', 'URLSearchParams', 'FormData', 'Node']
          .concat(['setInterval', 'clearInterval'])
          .map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['**/test/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
