import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTs from 'eslint-config-next/typescript';

/** Next's rules (React, hooks, a11y basics, TypeScript); formatting is Prettier's job. */
const config = [
  ...nextVitals,
  ...nextTs,
  {
    ignores: [
      'node_modules/**',
      '.next*/**',
      'data/**',
      'models/**',
      'datasets/**',
      'test-results/**',
      'playwright-report/**',
      'next-env.d.ts',
    ],
  },
  {
    rules: {
      // The React Compiler's rules: Loupe does not use the compiler, and they misread hooks that
      // return a ref inside an object (useFormAction's formRef) as a ref read during render.
      'react-hooks/refs': 'off',
      'react-hooks/set-state-in-effect': 'off',
      'react-hooks/incompatible-library': 'off',
      // Item images are 28x28 PNGs rendered by the API per item; next/image's resizing and
      // caching buy nothing for them.
      '@next/next/no-img-element': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Every database call is awaited (db/client.ts): a promise dropped on the floor is a write
    // that may not have happened yet, or an assertion that never ran.
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='transaction'][callee.object.name=/^(db|tx)$/]",
          message: 'Use withTransaction from @/db/client: it keeps other requests out of the transaction.',
        },
      ],
    },
  },
  {
    // Playwright fixtures call their `use` callback, which is not React's `use`.
    files: ['tests/e2e/**'],
    rules: { 'react-hooks/rules-of-hooks': 'off' },
  },
  {
    // Tests read whole JSON reports whose shape is what they assert.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
];

export default config;
