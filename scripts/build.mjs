#!/usr/bin/env node
// build.mjs: compiles TypeScript with tsc (TypeScript 5.9; ncc cannot use
// TypeScript 7's native compiler) into build/, then bundles each entry point
// with @vercel/ncc into dist/<name>/index.js. dist/ is committed; CI fails
// when a fresh build changes it.
import { spawnSync } from 'node:child_process';
import { rmSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const entries = {
  main: 'build/src/action/main.js',
  post: 'build/src/action/post.js',
  cli: 'build/src/cli/index.js',
};

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

rmSync('build', { recursive: true, force: true });
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
for (const [name, entry] of Object.entries(entries)) {
  const out = join('dist', name);
  rmSync(out, { recursive: true, force: true });
  run(process.execPath, ['node_modules/@vercel/ncc/dist/ncc/cli.js', 'build', entry, '-o', out, '--quiet', '--no-source-map-register', '--license', 'licenses.txt']);
  // ncc emits ESM as index.js; mark the folder as ESM for Node.
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(out, { recursive: true });
  console.log(`dist/${name}: ${readdirSync(out).join(', ')}`);
}
