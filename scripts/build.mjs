#!/usr/bin/env node
// build.mjs: bundles the TypeScript sources with esbuild (types are checked
// apart, by `npm run typecheck`).
//
//   dist/              the action, committed (CI fails when a fresh build changes it):
//     main.js, post.js   action.yml's `runs.main` and `runs.post`; each checks the Node
//                        version, then loads its step's code from the shared chunks
//     chunks/            code shared by both steps, split at every dynamic import
//                        (a mode's code loads only when that mode runs)
//     licenses.txt       the licenses of the bundled packages
//     pod/index.js       kbuild's pod program (src/pod), which the action puts in a ConfigMap
//   build/cli/         the `kbuild` CLI (package.json `bin`), not committed
//   build/dispatcher/  the dispatcher, deployed from there (docs/dispatcher.md), not committed;
//     pod/index.js       a copy of the pod program, for its `upload: cluster` builds
//
//   node scripts/build.mjs [--metafile DIR]   DIR/<name>.json: esbuild's metafile of each
//                                             bundle (where the bytes come from)
//
// esbuild drops the unused parts of ES modules (tree shaking), which is what keeps
// `@kubernetes/client-node`'s generated API groups out (docs/benchmarks.md, "Bundle").
// The output is deterministic: same sources and lockfile, same bytes.
import { build } from 'esbuild';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { metafile: { type: 'string' } } });

// CommonJS dependencies bundled into ES modules still call require() for Node's
// built-in modules and read __dirname; give every output file both.
const BANNER = [
  "import { createRequire as __kbCreateRequire } from 'node:module';",
  "import { fileURLToPath as __kbFileURLToPath } from 'node:url';",
  'const require = __kbCreateRequire(import.meta.url);',
  'const __filename = __kbFileURLToPath(import.meta.url);',
  "const __dirname = __kbFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/**
 * builtinsAsCommonJs loads Node's built-in modules with require() instead of ESM imports.
 * An ESM import of a built-in makes Node build the module's ESM facade, which reads every
 * export, and `node:http`'s lazy exports (WebSocket, EventSource...) load Node's internal
 * undici: about 20 ms of every start-up, measured with `node --cpu-prof` (docs/benchmarks.md).
 * Each built-in becomes a CommonJS module `module.exports = require(name)` whose named
 * imports esbuild reads as properties when used.
 */
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const builtinsAsCommonJs = {
  name: 'builtins-as-commonjs',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!BUILTINS.has(args.path)) return undefined;
      if (args.kind === 'require-call') return { path: args.path, external: true };
      return { path: args.path, namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * LAZY_UNDICI: packages that import undici (the `undici` package, 430-730 KB minified) at load
 * but use it only in paths a build rarely takes, and the classes they import. Every step
 * would compile undici before its first input; the lazyUndici plugin hands them classes that
 * require undici on first use (docs/benchmarks.md, "Bundle").
 * - @actions/http-client (under @actions/core): `ProxyAgent`, used when a proxy is configured.
 * - @kubernetes/client-node's KubeConfig (config.js, loaded only for the `kubeconfig` input):
 *   `Agent` and `ProxyAgent`, used by its generated API clients, which the core does not use
 *   (it reads a kubeconfig's credentials through `applyToHTTPSOptions`, kube/kubeconfig-file.ts).
 */
const LAZY_UNDICI = [
  { importer: /[\\/]@actions[\\/]http-client[\\/]/, names: ['ProxyAgent'] },
  {
    importer: /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]config\.js$/,
    names: ['Agent', 'ProxyAgent'],
  },
];
const lazyUndici = {
  name: 'lazy-undici',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) => {
      if (args.kind !== 'import-statement') return undefined;
      const lazy = LAZY_UNDICI.find((l) => l.importer.test(args.importer));
      if (!lazy) return undefined;
      // A path relative to the repository: esbuild hashes module paths into chunk names, and an
      // absolute one would make dist/ differ between checkouts.
      const path = relative(process.cwd(), args.importer);
      return {
        path,
        namespace: 'lazy-undici',
        pluginData: { resolveDir: args.resolveDir, names: lazy.names },
      };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-undici' }, (args) => ({
      contents: [
        'let undici;',
        ...args.pluginData.names.flatMap((name) => [
          `export class ${name} {`,
          '  constructor(...args) {',
          "    undici ??= require('undici');",
          `    return new undici.${name}(...args);`,
          '  }',
          '}',
        ]),
      ].join('\n'),
      resolveDir: args.pluginData.resolveDir,
      loader: 'js',
    }));
  },
};

/** common: the options every bundle shares. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  metafile: true,
  // Paths as seen from the checkout, even through a symlinked node_modules (a worktree's):
  // esbuild's chunk names hash the input paths, so the output must not depend on where the
  // packages really are.
  preserveSymlinks: true,
  logLevel: 'warning',
  banner: { js: BANNER },
  // Split at every dynamic import (a mode's code loads only when that mode runs).
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [builtinsAsCommonJs, lazyUndici],
};

// The dispatcher is deployed from build/dispatcher (docs/dispatcher.md): the Functions
// Framework stays outside the bundle, so the runtime's invoker and the function share one
// copy (and one function registry); its package.json names it for the buildpack to install.
const FRAMEWORK = '@google-cloud/functions-framework';
const root = JSON.parse(readFileSync('package.json', 'utf8'));

const bundles = [
  {
    name: 'action',
    outdir: 'dist',
    entryPoints: { main: 'src/action/entry-main.ts', post: 'src/action/entry-post.ts' },
    packageJson: { type: 'module' },
  },
  {
    // kbuild's pod program (src/pod): the action puts it in a ConfigMap of each `upload: cluster`
    // or `staging: bucket` build, so it is one small file with no Kubernetes client or Google SDK.
    name: 'pod',
    outdir: 'dist/pod',
    entryPoints: { index: 'src/pod/main.ts' },
    splitting: false,
    packageJson: { type: 'module' },
  },
  {
    name: 'cli',
    outdir: 'build/cli',
    entryPoints: { index: 'src/cli/index.ts' },
    packageJson: { type: 'module' },
  },
  {
    name: 'dispatcher',
    outdir: 'build/dispatcher',
    entryPoints: { index: 'functions/dispatcher/index.ts' },
    external: [FRAMEWORK],
    packageJson: {
      name: 'kbuild-dispatcher',
      private: true,
      type: 'module',
      main: 'index.js',
      engines: { node: '>=24' },
      dependencies: { [FRAMEWORK]: root.dependencies[FRAMEWORK] },
    },
  },
];

/**
 * licenses answers the text of licenses.txt: for every package a bundle holds (from the
 * metafile's inputs), its name, version, license and the text of its license file, sorted
 * by name (deterministic).
 */
function licenses(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    if (/^[a-z-]+:/.test(input)) continue; // a plugin's module (builtin:, lazy-undici:)
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(m[1]);
  }
  const parts = [];
  for (const dir of [...dirs].sort()) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
    const text = file ? readFileSync(join(dir, file), 'utf8').trim() : '(no license file)';
    parts.push(`${pkg.name} ${pkg.version}\n${pkg.license ?? ''}\n${text}\n`);
  }
  return parts.join('\n');
}

for (const b of bundles) {
  rmSync(b.outdir, { recursive: true, force: true });
  mkdirSync(b.outdir, { recursive: true });
  const result = await build({
    ...common,
    entryPoints: b.entryPoints,
    outdir: b.outdir,
    external: b.external ?? [],
    ...(b.splitting === false ? { splitting: false } : {}),
  });
  writeFileSync(join(b.outdir, 'package.json'), `${JSON.stringify(b.packageJson, null, 2)}\n`);
  writeFileSync(join(b.outdir, 'licenses.txt'), licenses(result.metafile));
  if (values.metafile) {
    mkdirSync(values.metafile, { recursive: true });
    writeFileSync(join(values.metafile, `${b.name}.json`), JSON.stringify(result.metafile));
  }
  const outputs = Object.entries(result.metafile.outputs);
  const bytes = outputs.reduce((s, [, o]) => s + o.bytes, 0);
  console.log(`${b.outdir}: ${outputs.length} files, ${(bytes / 2 ** 20).toFixed(2)} MiB`);
}
// The dispatcher puts the pod program into a ConfigMap of each `upload: cluster` build: it is
// deployed with it (src/core/build/pod-program-file.ts finds it at pod/index.js beside index.js).
mkdirSync('build/dispatcher/pod', { recursive: true });
copyFileSync('dist/pod/index.js', 'build/dispatcher/pod/index.js');
// The CLI runs as `kbuild` (package.json `bin`; esbuild keeps the entry's `#!` line).
chmodSync(join('build/cli', 'index.js'), 0o755);
