// bundle.ts: the size of the action's bundle and its cold start.
//
//   npm run bench:bundle              10 runs
//   npm run bench:bundle -- --runs 20
//   npm run bench:bundle -- --before DIR   also an older dist/ (e.g. `git archive`d), same run
//
// Size: all of dist/ (what every workflow run downloads with the action), and
// every file of it (with its gzip size, a hint of how much of it is code).
// Cold start, two ways, beside `node -e 0` (the runtime alone), the
// difference being the bundle's cost:
// - input error: `node dist/main.js` with no inputs and no GitHub
//   context stops at its first check (what a bad input costs);
// - build mode loaded: valid build inputs (action.yml's defaults, an image)
//   and a `kubeconfig` path that does not exist, so the action loads all the
//   code of a build (client libraries included) and stops when it reads the
//   kubeconfig, before any network call: what every build on GKE pays (the
//   GKE lookup's code is loaded; a kubeconfig file that does not exist is not
//   parsed);
// - kubeconfig parser loaded: the same with a kubeconfig file that has no
//   current context, so the action also loads the kubeconfig parser
//   (`@kubernetes/client-node`'s KubeConfig, kube/kubeconfig-file.ts) and
//   stops there: what a build with the `kubeconfig` input pays on top.
// Runs alternate; median and p90 printed.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { ROOT } from '../lab/env.ts';
import { actionDefaults } from '../lab/runner.ts';
import { fixed, machineNote, NODE, quantile, table } from './lib.ts';

/** buildEnv: a GitHub context and valid build inputs with this kubeconfig path. */
function buildEnv(kubeconfig = '/nonexistent/kubeconfig'): Record<string, string> {
  const inputs: Record<string, string> = {
    ...actionDefaults(),
    image: 'debian:bookworm',
    context: '',
    kubeconfig,
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

/** CPU_PROBE: loaded first (`--import`), it prints the process's CPU time at exit on stderr. */
const CPU_PROBE = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write(`\\ncpu-us ${u.user + u.system}\\n`); });",
)}`;

/** Run: the wall time and the CPU time (user + system) of one process, in ms. */
interface Run {
  wall: number;
  cpu: number;
}

/**
 * timeRun runs node with args to its exit, checking how it ended (exit 1 and
 * stdout matching `want`), and answers its wall and CPU time. CPU time is what
 * the process itself spent, so it stays meaningful on a loaded machine, where
 * wall time also counts the wait for a core.
 */
function timeRun(args: string[], env: Record<string, string> = {}, want?: RegExp): Run {
  const t = performance.now();
  const r = spawnSync(NODE, ['--import', CPU_PROBE, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
  });
  const wall = performance.now() - t;
  if (want && !(r.status === 1 && want.test(r.stdout))) {
    throw new Error(
      `node ${args.join(' ')} did not stop where expected (exit ${r.status}): ${r.stdout}${r.stderr}`,
    );
  }
  const cpu = Number(/cpu-us (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1000;
  return { wall, cpu };
}

/** distFiles lists every file under dir with its size and gzip size. */
function distFiles(dir: string): { name: string; size: number; gz: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return {
        name: relative(dir, path),
        size: statSync(path).size,
        gz: gzipSync(readFileSync(path)).length,
      };
    });
}

/** mainOf answers the main script of a dist folder: main.js, or main/index.js before 2026-12. */
function mainOf(dir: string): string {
  const flat = join(dir, 'main.js');
  return existsSync(flat) ? flat : join(dir, 'main', 'index.js');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      before: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  console.log(machineNote());
  const dirs = [{ label: 'dist', dir: resolve(ROOT, 'dist') }];
  if (values.before) dirs.push({ label: 'before', dir: resolve(values.before) });
  for (const { label, dir } of dirs) {
    const files = distFiles(dir);
    const total = files.reduce((s, f) => s + f.size, 0);
    const gz = files.reduce((s, f) => s + f.gz, 0);
    console.log(
      `${label} (${relative(ROOT, dir) || dir}): ${files.length} files, ${total} bytes = ${fixed(total / 1e6, 2)} MB (gzip ${fixed(gz / 1e6, 2)} MB); target <= 8 MB: ${total <= 8e6 ? 'met' : 'MISSED'}`,
    );
    console.log(
      table(
        ['file', 'bytes', 'gzip bytes'],
        files
          .sort((a, b) => b.size - a.size)
          .slice(0, 8)
          .map((f) => [f.name, String(f.size), String(f.gz)]),
      ),
    );
  }

  const env = buildEnv();
  // A kubeconfig without a current context: parsed, then refused before any network call.
  const tmp = mkdtempSync(join(tmpdir(), 'kbuild-bench-bundle-'));
  const noContext = join(tmp, 'kubeconfig');
  writeFileSync(noContext, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
  process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
  const fileEnv = buildEnv(noContext);
  const cases = dirs.flatMap(({ label, dir }) => [
    {
      name: `${label}: input error`,
      args: [mainOf(dir)],
      env: {},
      want: /kbuild-action failed: GITHUB_REPOSITORY is not set/,
    },
    {
      name: `${label}: build mode loaded`,
      args: [mainOf(dir)],
      env,
      want: /kbuild-action failed: cannot load kubeconfig/,
    },
    {
      name: `${label}: kubeconfig parser loaded`,
      args: [mainOf(dir)],
      env: fileEnv,
      want: /kbuild-action failed: .*kubeconfig ".*" has no current context/,
    },
  ]);
  // Warm the page cache once, so every measured run reads the files from memory.
  for (const c of cases) timeRun(c.args, c.env, c.want);
  const base: Run[] = [];
  const got: Run[][] = cases.map(() => []);
  for (let i = 0; i < runs; i++) {
    base.push(timeRun(['-e', '0']));
    cases.forEach((c, j) => got[j]!.push(timeRun(c.args, c.env, c.want)));
  }
  const med = (v: number[]) => quantile(v, 0.5);
  const cost = (v: Run[], k: keyof Run) => v.map((x, i) => x[k] - base[i]![k]);
  const rows = [
    [
      'node -e 0',
      fixed(med(base.map((r) => r.wall)), 0),
      fixed(
        quantile(
          base.map((r) => r.wall),
          0.9,
        ),
        0,
      ),
      fixed(med(base.map((r) => r.cpu)), 0),
    ],
    ...cases.map((c, j) => [
      `bundle cost, ${c.name}`,
      fixed(med(cost(got[j]!, 'wall')), 0),
      fixed(quantile(cost(got[j]!, 'wall'), 0.9), 0),
      fixed(med(cost(got[j]!, 'cpu')), 0),
    ]),
  ];
  console.log(
    `\ncold start, ${runs} runs each, alternating; bundle cost = the run minus node -e 0 (ms):`,
  );
  console.log(table(['what', 'wall median', 'wall p90', 'CPU median'], rows));
  const target = (j: number, ms: number) => {
    const wall = med(cost(got[j]!, 'wall'));
    const cpu = med(cost(got[j]!, 'cpu'));
    console.log(
      `${cases[j]!.name}: bundle cost ${fixed(wall, 0)} ms wall (${fixed(cpu, 0)} ms CPU); target <= ${ms} ms: ${wall <= ms ? 'met' : 'MISSED'}`,
    );
  };
  target(0, 60);
  target(1, 150);
  const j = 2;
  console.log(
    `${cases[j]!.name}: bundle cost ${fixed(med(cost(got[j]!, 'wall')), 0)} ms wall (${fixed(med(cost(got[j]!, 'cpu')), 0)} ms CPU); no target (a build with the kubeconfig input)`,
  );
}

main();
