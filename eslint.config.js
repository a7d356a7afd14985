// Flat config: type-aware rules for the TypeScript packages, plain rules for
// the JavaScript examples and benchmarks.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const globals = { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', WebSocket: 'readonly', document: 'readonly', window: 'readonly', location: 'readonly', performance: 'readonly', crypto: 'readonly', globalThis: 'readonly' };

module.exports = tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', 'test-output/**'] },
  js.configs.recommended,
  {
    files: ['packages/**/*.ts'],
    ignores: ['packages/llhttp/**'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: __dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Bit twiddling on frame headers is the point of this code base.
      'no-bitwise': 'off',
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_' }] },
  },
  {
    files: ['docs/test/**/*.js'],
    languageOptions: { globals: { describe: 'readonly', test: 'readonly', expect: 'readonly', beforeAll: 'readonly', afterAll: 'readonly' } },
  },
);
