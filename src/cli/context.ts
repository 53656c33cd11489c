/**
 * context.ts: the workflow-run identity of a CLI build. Inside GitHub Actions
 * the GITHUB_* variables are used as the action uses them; in a terminal the
 * repository and commit come from git, and each invocation is its own run
 * (run id = the current time in seconds), so builds never collide.
 */
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { readContext } from '../core/inputs/github-context.ts';
import type { GitHubContext } from '../core/inputs/spec.ts';

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** cliContext answers the GitHubContext of a CLI run. */
export function cliContext(env: NodeJS.ProcessEnv, now: number): GitHubContext {
  if (env['GITHUB_REPOSITORY'] && env['GITHUB_RUN_ID'] && env['GITHUB_SHA'])
    return readContext(env);
  const remote = git(['remote', 'get-url', 'origin']) ?? '';
  // A local path (`git clone .` gives `/path/to/repo/.`) names no GitHub repository: its `.` and
  // `..` segments are no owner or repository name.
  const found = /[:/]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?$/.exec(remote);
  const m = found && !/^\.+$/.test(found[1]!) && !/^\.+$/.test(found[2]!) ? found : undefined;
  const owner = m?.[1] ?? 'local';
  const repo =
    m?.[2] ??
    (basename(git(['rev-parse', '--show-toplevel']) ?? process.cwd()).replace(
      /[^A-Za-z0-9._-]/g,
      '-',
    ) ||
      'workspace');
  return {
    repository: `${owner}/${repo}`,
    owner,
    repo,
    sha: git(['rev-parse', 'HEAD']) ?? '0'.repeat(40),
    ref: git(['symbolic-ref', '-q', 'HEAD']) ?? '',
    runId: String(Math.floor(now / 1000)),
    runAttempt: '1',
    serverUrl: 'https://github.com',
  };
}
