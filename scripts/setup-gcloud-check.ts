// setup-gcloud-check.ts: checks every gcloud command that deploy/gcp/setup.sh
// runs against the real gcloud CLI's argument parser, without credentials.
//
//   node scripts/setup-gcloud-check.ts     checks the variants below; exit 1 on a failure
//
// Each command runs with a fake project and an empty gcloud configuration
// (CLOUDSDK_CONFIG in a temporary directory, no account, prompts off). A
// command whose flags and values parse goes on to its API call and stops at
// the missing credentials ("You do not currently have an active account
// selected"); a wrong flag stops earlier with `unrecognized arguments`, a
// wrong value with `Invalid choice` or `must be one of`. Only the credentials
// stop counts as a pass. gcloud's checks are local (no network is needed),
// about 1.7 s per command, so passes are cached outside the repository, per
// gcloud version and exact argv:
//   $KBUILD_LAB_CACHE/gcloud-args/<gcloud version>/<sha256 of the argv>.ok
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { split } from 'shlex';

const ROOT = resolve(import.meta.dirname, '..');
const SCRIPT = 'deploy/gcp/setup.sh';

/** EXAMPLE are the flags every checked variant shares (a fake project, ids and number). */
export const EXAMPLE: readonly string[] = [
  '--project',
  'acme-builds',
  '--region',
  'us-central1',
  '--github-owner-id',
  '4242',
  '--github-repository',
  'acme/packages',
  '--github-repository-id',
  '90001',
  '--project-number',
  '123456789012',
];

/** VARIANTS are the setup.sh flag sets whose commands are checked, by name. */
export const VARIANTS: Readonly<Record<string, readonly string[]>> = {
  plain: [],
  autopilot: ['--autopilot'],
  'release service account': ['--release-service-account'],
  everything: [
    '--with-spot',
    '--release-service-account',
    '--with-dispatcher',
    '--dispatcher-images',
    'example.org/builders/,debian:',
  ],
};

/**
 * dryRunCommands runs `setup.sh --dry-run` with args and answers each gcloud
 * command it prints as an argv (without the leading `gcloud`), split like a
 * shell splits words. Throws when the script fails.
 */
export function dryRunCommands(args: readonly string[]): string[][] {
  const r = spawnSync('bash', [SCRIPT, '--dry-run', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setup.sh --dry-run ${args.join(' ')} failed:\n${r.stderr}`);
  const end = r.stdout.indexOf('\n# done.');
  if (end < 0) throw new Error(`setup.sh --dry-run printed no "# done." line:\n${r.stdout}`);
  return r.stdout
    .slice(0, end)
    .split('\n')
    .filter((l) => l.startsWith('gcloud '))
    .map((l) => split(l).slice(1));
}

/**
 * existingProjectCommands runs setup.sh for real with a stub gcloud that
 * answers every `describe` as found (the project exists, from an earlier
 * run) and a stub kubectl, and answers the argv of every gcloud call it made
 * (the stub records them exactly, no quoting involved). This covers the
 * commands a dry run never prints: provider update-oidc, the removal of an
 * older unconditional bucket binding.
 */
export function existingProjectCommands(args: readonly string[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'kbuild-setup-stub-'));
  try {
    const log = join(dir, 'gcloud.calls');
    writeFileSync(log, '');
    const stub = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\nexit 0\n`);
      chmodSync(join(dir, name), 0o755);
    };
    // Arguments end with \x1f (unit separator), commands with \x1e (record separator).
    stub(
      'gcloud',
      `for a in "$@"; do printf '%s\\037' "$a"; done >>'${log}'; printf '\\036' >>'${log}'
case " $* " in *" projects describe "*) echo 123456789012 ;; esac`,
    );
    stub('kubectl', 'cat >/dev/null 2>&1 || true');
    const r = spawnSync('bash', [SCRIPT, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: `${dir}:${process.env['PATH'] ?? ''}`, HOME: dir },
      input: '',
    });
    if (r.status !== 0) throw new Error(`setup.sh ${args.join(' ')} (stubs) failed:\n${r.stderr}`);
    return readFileSync(log, 'utf8')
      .split('\x1e')
      .filter(Boolean)
      .map((c) => c.split('\x1f').slice(0, -1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ParseCheck is the verdict on one command: `ok`, or the line where gcloud stopped. */
export interface ParseCheck {
  argv: string[];
  ok: boolean;
  /** cached: the pass was found in the cache; gcloud did not run. */
  cached: boolean;
  /** stop: gcloud's first ERROR line (empty when cached). */
  stop: string;
}

const CREDENTIALS = /You do not currently have an active account selected/;

/** gcloudVersion answers the first line of `gcloud --version`, or undefined when gcloud is missing. */
export function gcloudVersion(): string | undefined {
  const r = spawnSync('gcloud', ['--version'], { encoding: 'utf8', env: fakeEnv(tmpdir()) });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0]?.trim();
}

/** fakeEnv is an environment with an empty gcloud configuration in dir: no account, no prompts. */
function fakeEnv(dir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: dir,
    CLOUDSDK_CONFIG: dir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
  };
}

/**
 * checkWithGcloud runs each distinct argv through the real gcloud (at most
 * `concurrency` at once) and answers a verdict per argv, in order. Passes
 * are cached under cacheDir/<version>/. Throws when gcloud is missing.
 */
export async function checkWithGcloud(
  argvs: readonly string[][],
  o: { cacheDir?: string; concurrency?: number } = {},
): Promise<ParseCheck[]> {
  const version = gcloudVersion();
  if (!version) throw new Error('gcloud is not installed: the check needs the Google Cloud CLI');
  const cacheRoot =
    o.cacheDir ??
    join(
      process.env['KBUILD_LAB_CACHE'] ??
        join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'kbuild-lab'),
      'gcloud-args',
    );
  const cache = join(cacheRoot, version.replace(/[^A-Za-z0-9.]+/g, '-'));
  mkdirSync(cache, { recursive: true });
  const config = mkdtempSync(join(tmpdir(), 'kbuild-gcloud-config-'));
  const limit = pLimit(o.concurrency ?? 2);
  try {
    return await Promise.all(
      argvs.map((argv) =>
        limit(async (): Promise<ParseCheck> => {
          const key = join(
            cache,
            `${createHash('sha256').update(JSON.stringify(argv)).digest('hex')}.ok`,
          );
          if (existsSync(key)) return { argv, ok: true, cached: true, stop: '' };
          const out = await run('gcloud', argv, fakeEnv(config));
          const ok = CREDENTIALS.test(out);
          if (ok) writeFileSync(key, `${JSON.stringify(argv)}\n`);
          const stop =
            out.split('\n').find((l) => l.startsWith('ERROR')) ?? out.trim().split('\n')[0] ?? '';
          return { argv, ok, cached: false, stop };
        }),
      ),
    );
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}

/** run answers the combined stdout and stderr of a command (no stdin). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', () => resolveRun(Buffer.concat(chunks).toString('utf8')));
  });
}

/** distinct answers the argvs without repeats, in first-seen order. */
export function distinct(argvs: readonly string[][]): string[][] {
  const seen = new Set<string>();
  return argvs.filter((a) => {
    const k = JSON.stringify(a);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** allSetupCommands answers every distinct gcloud argv of the variants, dry run and existing project. */
export function allSetupCommands(): string[][] {
  const all: string[][] = [];
  for (const flags of Object.values(VARIANTS)) {
    all.push(...dryRunCommands([...EXAMPLE, ...flags]));
    all.push(...existingProjectCommands([...EXAMPLE, ...flags]));
  }
  return distinct(all);
}

if (import.meta.main) {
  const argvs = allSetupCommands();
  const results = await checkWithGcloud(argvs);
  let failed = 0;
  for (const r of results) {
    const line = `gcloud ${r.argv.join(' ')}`;
    if (r.ok) console.log(`ok${r.cached ? ' (cached)' : ''}  ${line.slice(0, 140)}`);
    else {
      failed++;
      console.log(`FAIL ${line}\n     ${r.stop}`);
    }
  }
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
