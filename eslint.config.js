// ESLint flat config: typescript-eslint with type information for the TypeScript
// sources, so promise mistakes (a floating promise in a reconcile loop) fail the lint.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const typed = tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] }));

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.trellis/**', '**/dist/**', 'crds/**'] },
  js.configs.recommended,
  ...typed,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', SharedArrayBuffer: 'readonly', Atomics: 'readonly' },
    },
  },
);
