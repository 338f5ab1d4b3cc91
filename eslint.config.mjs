// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'coverage/', '.registrar/', 'devTools/', 'test-results/', '*.tmp.js'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      // Only config.ts reads the environment (tests and local launchers set it for child processes).
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through src/config.ts.' }],
    },
  },
  {
    files: ['src/config.ts', 'src/index.ts', 'src/local/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/bot/**', 'src/server.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['botbuilder*', 'botframework-*', '@microsoft/teams-ai'], message: 'Bot Framework types stay in src/bot/ and src/server.ts.' }] },
      ],
    },
  },
  {
    // jest loads global setup and teardown through their default export.
    files: ['test/helpers/global-setup.ts', 'test/helpers/global-teardown.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
  },
);
