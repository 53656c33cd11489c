// github-context.ts: the workflow run a build belongs to, read from the GITHUB_* variables of an
// environment the caller passes (the action passes process.env; the CLI its own environment).
import { readFileSync } from 'node:fs';
import { ContextError } from '../base/errors.ts';
import type { GitHubContext } from './names.ts';

/**
 * readContext builds the GitHubContext from GITHUB_REPOSITORY (`owner/repo`),
 * GITHUB_REPOSITORY_ID, GITHUB_REPOSITORY_OWNER, GITHUB_SHA, GITHUB_REF, GITHUB_RUN_ID,
 * GITHUB_RUN_ATTEMPT (default 1), GITHUB_SERVER_URL (default https://github.com),
 * GITHUB_WORKFLOW, GITHUB_ACTOR, GITHUB_EVENT_NAME and GITHUB_BASE_REF (GitHub docs "Variables
 * reference"), and the default branch from the event payload at GITHUB_EVENT_PATH
 * (`repository.default_branch`; absent when the file cannot be read).
 */
export function readContext(env: NodeJS.ProcessEnv): GitHubContext {
  const need = (name: string, pattern: RegExp, form: string): string => {
    const v = env[name]?.trim() ?? '';
    if (v === '') {
      throw new ContextError(
        name,
        `${name} is not set: run kbuild-action in a GitHub Actions workflow, or set it (${form})`,
      );
    }
    if (!pattern.test(v))
      throw new ContextError(name, `${name} is ${JSON.stringify(v)}: expected ${form}`);
    return v;
  };
  const repository = need('GITHUB_REPOSITORY', /^[A-Za-z0-9_-]+\/[A-Za-z0-9._-]+$/, 'owner/repo');
  const [owner = '', repo = ''] = repository.split('/');
  const ctx: GitHubContext = {
    repository,
    owner: env['GITHUB_REPOSITORY_OWNER']?.trim() || owner,
    repo,
    sha: need('GITHUB_SHA', /^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a 40 or 64 hex digit commit sha'),
    ref: env['GITHUB_REF']?.trim() ?? '',
    runId: need('GITHUB_RUN_ID', /^\d+$/, 'a number'),
    runAttempt: env['GITHUB_RUN_ATTEMPT']?.trim() || '1',
    serverUrl: env['GITHUB_SERVER_URL']?.trim() || 'https://github.com',
  };
  if (!/^\d+$/.test(ctx.runAttempt)) {
    throw new ContextError(
      'GITHUB_RUN_ATTEMPT',
      `GITHUB_RUN_ATTEMPT is ${JSON.stringify(ctx.runAttempt)}: expected a number`,
    );
  }
  const optional = {
    repositoryId: 'GITHUB_REPOSITORY_ID',
    workflow: 'GITHUB_WORKFLOW',
    actor: 'GITHUB_ACTOR',
    eventName: 'GITHUB_EVENT_NAME',
    baseRef: 'GITHUB_BASE_REF',
  } as const;
  for (const [key, variable] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const v = env[variable]?.trim();
    if (v) ctx[key] = v;
  }
  const defaultBranch = defaultBranchOf(env['GITHUB_EVENT_PATH']);
  if (defaultBranch) ctx.defaultBranch = defaultBranch;
  return ctx;
}

/** defaultBranchOf reads `repository.default_branch` of the event payload file; undefined when absent. */
function defaultBranchOf(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    const event = JSON.parse(readFileSync(path, 'utf8')) as {
      repository?: { default_branch?: unknown };
    };
    const b = event.repository?.default_branch;
    return typeof b === 'string' && b !== '' ? b : undefined;
  } catch {
    return undefined;
  }
}
