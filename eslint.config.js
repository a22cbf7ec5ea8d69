// ESLint flat config: typescript-eslint with type information for the TypeScript
// sources, so promise mistakes (a floating promise in a reconcile loop) fail the lint;
// and the layering of the tree (who may import what, no import cycles), so it stays
// true without anyone having to remember it.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const typed = tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] }));

// ---- Import boundaries ------------------------------------------------------------
// Patterns match the import specifier as written (always relative, with its `.ts`
// extension), so `(^|/)dir/` means "a module under the top-level folder dir".

/** Each controller's one public entry point: everything else in it is internal. */
const controllerInternals = ['apply-controller', 'source-controller'].map((dir) => ({
  regex: `(^|/)${dir}/(?!index\\.ts$)`,
  message: `import ${dir}/index.ts: its other modules are internals that may change at any time.`,
}));

/** Folders no shipped code may import. */
const notShipped = ['hack', 'bench', 'test'].map((dir) => ({
  regex: `(^|/)${dir}/`,
  message: `${dir}/ is development tooling: shipped code must not depend on it.`,
}));

/** Folders above the controllers in the layering. */
const aboveControllers = ['cli', 'packages-cdk8s'].map((dir) => ({
  regex: `(^|/)${dir}/`,
  message: `the controllers sit below ${dir}/ and must not import it.`,
}));

const restrict = (patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });

/** Local-environment commands (`trellis up`, `trellis dev`): they start hack/'s cluster and registry. */
const localEnvironmentCommands = ['cli/up.ts', 'cli/up/**', 'cli/dev.ts'];

/**
 * The one module that may import them: cli/bin/checkout-commands.ts, which the shipped
 * builds (hack/build-cli.ts) replace, so every other CLI module is in what users install.
 */
const checkoutOnly = [
  { regex: '(^|/)(up|dev)\\.ts$', message: 'trellis up/dev exist only in a checkout: register them in cli/bin/checkout-commands.ts.' },
  { regex: '(^|/)up/', message: "cli/up/ is trellis up's, which exists only in a checkout." },
];

const boundaries = [
  {
    // The shipped CLI: controllers only through their public entry points; runtime/ freely;
    // never hack/, nor the local-environment commands that use it.
    files: ['cli/**/*.ts'],
    ignores: [...localEnvironmentCommands, 'cli/bin/checkout-commands.ts'],
    rules: restrict([...controllerInternals, ...notShipped, ...checkoutOnly]),
  },
  {
    // The dashboard (`trellis ui`) ships with the CLI: the same boundaries.
    files: ['ui/**/*.ts'],
    rules: restrict([...controllerInternals, ...notShipped, ...checkoutOnly]),
  },
  {
    // The dashboard's browser modules: plain JavaScript run by the browser (type-checked with ui/web/tsconfig.json).
    files: ['ui/web/**/*.js'],
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', EventSource: 'readonly',
        HTMLElement: 'readonly', Node: 'readonly', Event: 'readonly', CustomEvent: 'readonly', URL: 'readonly', setInterval: 'readonly',
        localStorage: 'readonly', history: 'readonly', clearInterval: 'readonly', setTimeout: 'readonly',
      },
    },
  },
  {
    files: ['cli/bin/checkout-commands.ts'],
    rules: restrict([...controllerInternals, ...notShipped]),
  },
  {
    files: localEnvironmentCommands,
    rules: restrict([...controllerInternals, ...notShipped.filter((p) => !p.regex.includes('hack'))]),
  },
  {
    // The checkout's launchers run hack/bootstrap.mjs, which installs Node 24 when the system's is
    // older. What users install is the bundle of hack/build-cli.ts, which has no launcher.
    files: ['cli/bin/*.mjs'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)hack/(?!bootstrap\\.mjs$)', message: 'hack/ is development tooling: shipped code must not depend on it.' },
      ] }],
    },
  },
  {
    // The apply controller may use the source controller's API module (its resource types and
    // revision format), types only from its entry point, and nothing else of it.
    files: ['apply-controller/**/*.ts'],
    rules: restrict([
      { regex: '(^|/)source-controller/(?!api\\.ts$|index\\.ts$)', message: 'the apply controller may use source-controller/api.ts only.' },
      { regex: '(^|/)source-controller/index\\.ts$', allowTypeImports: true, message: 'the apply controller may use types only from source-controller/index.ts.' },
      ...notShipped, ...aboveControllers,
    ]),
  },
  {
    files: ['source-controller/**/*.ts'],
    rules: restrict([
      { regex: '(^|/)apply-controller/', message: 'the source controller does not depend on the apply controller.' },
      ...notShipped, ...aboveControllers,
    ]),
  },
  {
    // runtime/ is the bottom layer: the shared machinery imports nothing of Trellis above it.
    files: ['runtime/**/*.ts'],
    rules: restrict([
      { regex: '(^|/)(apply-controller|source-controller)/', message: 'runtime/ sits below the controllers and must not import them.' },
      ...notShipped, ...aboveControllers,
    ]),
  },
];

// ---- Import cycles ----------------------------------------------------------------
// Runtime cycles only: `import type` is erased, so a cycle through types alone is harmless.

const cycles = {
  files: ['**/*.ts', '**/*.mjs', '**/*.js'],
  plugins: { 'import-x': importX },
  settings: {
    // Without the extensions setting, import-x reads only `.js` modules and sees no cycle through TypeScript.
    'import-x/extensions': ['.ts', '.mjs', '.js'],
    'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.js'] })],
  },
  rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
};

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
  ...boundaries,
  cycles,
);
