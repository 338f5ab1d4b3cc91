// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const botFramework = {
  group: ['botbuilder*', 'botframework-*', '@microsoft/teams-ai'],
  message: 'Bot Framework types stay in src/bot/ and src/server.ts.',
};

export default tseslint.config(
  {
    ignores: ['dist/', 'build/', 'node_modules/', 'coverage/', '.registrar/', 'devTools/', 'test-results/', '*.tmp.js'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      // Only config.ts reads the environment (tests and local launchers set it for child processes).
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config.ts.' },
      ],
    },
  },
  {
    files: ['src/config.ts', 'src/index.ts', 'src/local/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  // The layers (ARCHITECTURE.md): each leak across them is a lint error. Flat config replaces a rule per file
  // rather than merging it, so every block lists all that its files may not import.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/bot/**', 'src/server.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [botFramework] }] },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            botFramework,
            { regex: '^\\.\\./', message: 'domain/ is pure rules: it imports only domain/ (and Node built-ins).' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            botFramework,
            {
              group: ['../adapters/*', '../adapters/**', '../bot/*', '../local/*', '../local/**'],
              message:
                'Services reach the outside through the ports in services/ports.ts; adapters are built in container.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/bot/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../adapters/*', '../adapters/**'],
              message: 'Handlers call services; adapters are built in container.ts.',
            },
            { group: ['../services/request-records'], message: 'Handlers call services; the store is theirs.' },
          ],
          paths: [
            {
              name: '../services/ports',
              importNames: ['Store', 'Collection'],
              message: 'Handlers call services; the store is theirs.',
            },
          ],
        },
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
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
  },
);
