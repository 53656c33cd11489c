// env.ts: what tests, benchmarks and the demo need to know about the running lab.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** ROOT is the repository root (tests run from it under npm). */
export const ROOT = resolve(import.meta.dirname, '..');

let cached: Record<string, string> | undefined;

/**
 * labEnv answers the variables of .lab/env (as a shell that sources it sees
 * them), to be merged into a child process's environment. Throws when the
 * lab is not up.
 */
export function labEnv(): Record<string, string> {
  if (cached) return cached;
  const file = resolve(ROOT, '.lab/env');
  if (!existsSync(file))
    throw new Error('the lab is not up: run `npm run lab:up` (or the e2e suite, which starts it)');
  const r = spawnSync('bash', ['-c', `set -a; source "${file}"; env -0`], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
  });
  if (r.status !== 0) throw new Error(`cannot read ${file}: ${r.stderr}`);
  const env: Record<string, string> = {};
  for (const kv of r.stdout.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  delete env['PWD'];
  delete env['SHLVL'];
  delete env['_'];
  cached = env;
  return env;
}

/** kubectl runs the lab's kubectl with the admin kubeconfig; answers stdout, throws on failure. */
export function kubectl(args: string[], input?: string): string {
  const env = labEnv();
  const r = spawnSync('kubectl', args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    input,
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
