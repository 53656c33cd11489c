#!/usr/bin/env node
// build.mjs: compiles TypeScript with tsc (TypeScript 5.9; ncc cannot use
// TypeScript 7's native compiler) into build/, then bundles each entry point
// with @vercel/ncc into dist/<name>/index.js. dist/ is committed; CI fails
// when a fresh build changes it.
import { spawnSync } from 'node:child_process';
import { rmSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const entries = {
  main: 'build/src/action/main.js',
  post: 'build/src/action/post.js',
  cli: 'build/src/cli/index.js',
  dispatcher: 'build/functions/dispatcher/index.js',
};

// The dispatcher is deployed from dist/dispatcher (docs/dispatcher.md): the Functions Framework
// stays outside the bundle, so the runtime's invoker and the function share one copy (and one
// function registry); its package.json names it for the buildpack to install.
const FRAMEWORK = '@google-cloud/functions-framework';
const externals = { dispatcher: [FRAMEWORK] };
function packageJsonOf(name) {
  if (name !== 'dispatcher') return '{ "type": "module" }\n';
  const root = JSON.parse(readFileSync('package.json', 'utf8'));
  const pkg = {
    name: 'kbuild-dispatcher',
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: '>=24' },
    dependencies: { [FRAMEWORK]: root.dependencies[FRAMEWORK] },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

rmSync('build', { recursive: true, force: true });
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
for (const [name, entry] of Object.entries(entries)) {
  const out = join('dist', name);
  rmSync(out, { recursive: true, force: true });
  const ext = (externals[name] ?? []).flatMap((m) => ['-e', m]);
  run(process.execPath, [
    'node_modules/@vercel/ncc/dist/ncc/cli.js',
    'build',
    entry,
    '-o',
    out,
    '--quiet',
    '--no-source-map-register',
    '--license',
    'licenses.txt',
    ...ext,
  ]);
  // ncc emits ESM as index.js; mark the folder as ESM for Node.
  writeFileSync(join(out, 'package.json'), packageJsonOf(name));
  mkdirSync(out, { recursive: true });
  console.log(`dist/${name}: ${readdirSync(out).join(', ')}`);
}
