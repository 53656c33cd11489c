// bundle.ts: the size of the action's bundle and its cold start.
//
//   npm run bench:bundle              10 runs
//   npm run bench:bundle -- --runs 20
//
// Size: every file of dist/main (and its gzip size, a hint of how much of it
// is code). Cold start, two ways, beside `node -e 0` (the runtime alone), the
// difference being the bundle's cost:
// - input error: `node dist/main/index.js` with no inputs and no GitHub
//   context stops at its first check (what a bad input costs);
// - build mode loaded: valid build inputs (action.yml's defaults, an image)
//   and a `kubeconfig` path that does not exist, so the action loads all the
//   code of a build (client libraries included) and stops when it reads the
//   kubeconfig, before any network call: what every build pays.
// Runs alternate; median and p90 printed.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { ROOT } from '../lab/env.ts';
import { actionDefaults } from '../lab/runner.ts';
import { fixed, machineNote, MiB, NODE, quantile, table } from './lib.ts';

/** BUILD_ENV: a GitHub context and valid build inputs whose kubeconfig does not exist. */
function buildEnv(): Record<string, string> {
  const inputs: Record<string, string> = {
    ...actionDefaults(),
    image: 'debian:bookworm',
    context: '',
    kubeconfig: '/nonexistent/kubeconfig',
  };
  const env: Record<string, string> = {
    GITHUB_REPOSITORY: 'kbuild-lab/demo',
    GITHUB_REPOSITORY_OWNER: 'kbuild-lab',
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKSPACE: ROOT,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return env;
}

/** timeRun answers the wall time (ms) of one process run to its exit, checking how it ended. */
function timeRun(args: string[], env: Record<string, string> = {}, want?: RegExp): number {
  const t = performance.now();
  const r = spawnSync(NODE, args, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
  });
  const ms = performance.now() - t;
  if (want && !(r.status === 1 && want.test(r.stdout))) {
    throw new Error(
      `node ${args.join(' ')} did not stop where expected (exit ${r.status}): ${r.stdout}${r.stderr}`,
    );
  }
  return ms;
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  console.log(machineNote());
  const dir = resolve(ROOT, 'dist/main');
  const files = readdirSync(dir).map((f) => ({
    name: f,
    size: statSync(join(dir, f)).size,
    gz: gzipSync(readFileSync(join(dir, f))).length,
  }));
  const total = files.reduce((s, f) => s + f.size, 0);
  const gz = files.reduce((s, f) => s + f.gz, 0);
  console.log(
    `dist/main: ${files.length} files, ${fixed(total / MiB, 2)} MiB (gzip ${fixed(gz / MiB, 2)} MiB)`,
  );
  console.log(
    table(
      ['file', 'bytes', 'gzip bytes'],
      files.sort((a, b) => b.size - a.size).map((f) => [f.name, String(f.size), String(f.gz)]),
    ),
  );

  const main = join(dir, 'index.js');
  const env = buildEnv();
  // Warm the page cache once, so every measured run reads the files from memory.
  timeRun([main], env);
  const base: number[] = [];
  const early: number[] = [];
  const build: number[] = [];
  for (let i = 0; i < runs; i++) {
    base.push(timeRun(['-e', '0']));
    early.push(timeRun([main], {}, /kbuild-action failed: GITHUB_REPOSITORY is not set/));
    build.push(timeRun([main], env, /kbuild-action failed: cannot load kubeconfig/));
  }
  const row = (name: string, v: number[]) => [
    name,
    fixed(quantile(v, 0.5), 0),
    fixed(quantile(v, 0.9), 0),
  ];
  const minus = (v: number[]) => v.map((x, i) => x - base[i]!);
  console.log(`\ncold start, ${runs} runs each (ms):`);
  console.log(
    table(
      ['what', 'median', 'p90'],
      [
        row('node -e 0', base),
        row('dist/main: input error', early),
        row('dist/main: build mode loaded', build),
        row('bundle cost: input error', minus(early)),
        row('bundle cost: build mode loaded', minus(build)),
      ],
    ),
  );
  console.log(
    `cold start of a build (bundle cost, build mode loaded): median ${fixed(quantile(minus(build), 0.5), 0)} ms (target < 500 ms)`,
  );
}

main();
