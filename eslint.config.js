// ESLint flat config: typescript-eslint's recommended rules over every TypeScript file, no import
// cycles (eslint-plugin-import-x), and the one-way layering of docs/architecture.md ("Code
// layout"): each folder of src/core may import only the folders listed in CORE_LAYERS.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

/** CORE_LAYERS: for each folder of src/core, the other src/core folders it may import. */
const CORE_LAYERS = {
  base: [],
  kube: ['base'],
  inputs: ['base'],
  manifest: ['base', 'inputs'],
  google: ['base', 'inputs', 'kube'],
  gcs: ['base', 'inputs', 'google'],
  plan: ['base', 'inputs'],
  dispatch: ['base', 'inputs'],
  build: ['base', 'inputs', 'manifest', 'kube', 'google', 'gcs'],
};
const FOLDERS = Object.keys(CORE_LAYERS);

/** restrict(groups): a no-restricted-imports rule refusing each group of patterns with its message. */
const restrict = (groups) => ['error', { patterns: groups }];
const OUTSIDE_CORE = {
  group: ['**/action/**', '**/cli/**', '**/functions/**', '**/lab/**', '**/test/**', '**/bench/**'],
  message: 'src/core is imported by the entry points, never the other way (docs/architecture.md)',
};

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '.lab/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Every relative import names its file (`./x.ts`), so Node's own resolution finds it.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs'] })],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'off',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  ...FOLDERS.map((folder) => ({
    files: [`src/core/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': restrict([
        OUTSIDE_CORE,
        {
          group: FOLDERS.filter((f) => f !== folder && !CORE_LAYERS[folder].includes(f)).map(
            (f) => `../${f}/**`,
          ),
          message: `src/core/${folder} may import only ${CORE_LAYERS[folder].join(', ') || 'nothing else in src/core'} (CORE_LAYERS in eslint.config.js)`,
        },
      ]),
    },
  })),
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/action/**', '**/functions/**', '**/lab/**'],
          message: 'the CLI uses src/core only',
        },
      ]),
    },
  },
  {
    files: ['src/action/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/cli/**', '**/functions/**', '**/lab/**'],
          message: 'the action uses src/core only',
        },
      ]),
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/src/action/**', '**/src/cli/**', '**/lab/**'],
          message: 'the dispatcher uses src/core only; its lab launcher lives in lab/',
        },
      ]),
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
