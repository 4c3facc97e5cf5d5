// ESLint (flat config): typescript-eslint's type-checked recommended rules over everything tsconfig.json covers
// (src, test, bench, collectors). What is tuned, and why, is said next to each rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NODE_GLOBALS = Object.fromEntries(
  ['process', 'console', 'performance', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Buffer', 'URL'].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/out/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/it/test return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      // `async` without `await` is how a function keeps a promise-returning signature (a Shipper, a StateStore,
      // a test double) and turns a throw into a rejection; requiring an await there would only add noise.
      '@typescript-eslint/require-await': 'off',
      // Control characters are this tool's business: escaping them in outside text, scanning CSV.
      'no-control-regex': 'off',
      // Rethrowing or forwarding what was caught (typed `unknown`) is the normal case, not a smell.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
      // Our seams are interfaces with methods (a Shipper's send, the tarball queue's write, a packager's hooks)
      // handed around as functions; none of them uses `this`, and `this: void` on each would only be noise.
      '@typescript-eslint/unbound-method': 'off',
      // `let { a, b } = …` where only `a` is reassigned reads better than splitting the destructuring.
      'prefer-const': ['error', { destructuring: 'all' }],
      // `_name` marks a parameter kept for its position (an interface's signature).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read JSON documents, lock files and database rows as they come (`any`) and check them with assertions.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript outside tsconfig.json (this file, the benchmark's preload): no type information.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: NODE_GLOBALS, parserOptions: { projectService: false } },
  },
  {
    // CommonJS the bin requires before anything else loads (bin/cache-dir.cjs): plain JavaScript too.
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'commonjs',
      globals: { ...NODE_GLOBALS, require: 'readonly', module: 'writable' },
      parserOptions: { projectService: false },
    },
    // `require` is how CommonJS imports.
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
);
