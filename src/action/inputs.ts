// inputs.ts: the only place that reads the action's inputs and the GitHub Actions environment.
// Everything below it takes plain values.
import { ContextError } from '../core/errors.ts';
import {
  BUILD_INPUT_NAMES,
  OTHER_INPUT_NAMES,
  type InputName,
  type RawInputs,
} from '../core/inputs-schema.ts';
import type { GitHubContext } from '../core/spec.ts';

/** INPUT_NAMES lists every input of action.yml. */
export const INPUT_NAMES: readonly InputName[] = [...OTHER_INPUT_NAMES, ...BUILD_INPUT_NAMES];

/** GetInput reads one input by name, like @actions/core getInput (trimmed, `` when unset). */
export type GetInput = (name: string) => string;

/**
 * readInputs reads every input with getInput (pass `core.getInput`) and the workflow run from
 * the GITHUB_* variables of env (pass `process.env`). Raw values are returned as read, even empty:
 * defaults and validation are the core's (inputs-schema.ts, spec.ts). Throws ContextError when
 * GITHUB_REPOSITORY, GITHUB_SHA or GITHUB_RUN_ID is missing or malformed.
 */
export function readInputs(
  getInput: GetInput,
  env: NodeJS.ProcessEnv,
): { raw: RawInputs; ctx: GitHubContext } {
  const raw: RawInputs = {};
  for (const name of INPUT_NAMES) raw[name] = getInput(name);
  return { raw, ctx: readContext(env) };
}

/**
 * readContext builds the GitHubContext from GITHUB_REPOSITORY (`owner/repo`),
 * GITHUB_REPOSITORY_ID, GITHUB_REPOSITORY_OWNER, GITHUB_SHA, GITHUB_REF, GITHUB_RUN_ID,
 * GITHUB_RUN_ATTEMPT (default 1), GITHUB_SERVER_URL (default https://github.com),
 * GITHUB_WORKFLOW, GITHUB_ACTOR and GITHUB_EVENT_NAME (GitHub docs "Variables reference").
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
  } as const;
  for (const [key, variable] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const v = env[variable]?.trim();
    if (v) ctx[key] = v;
  }
  return ctx;
}
