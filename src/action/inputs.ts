// inputs.ts: the only place that reads the action's inputs and the GitHub Actions environment.
// Everything below it takes plain values.
import {
  BUILD_INPUT_NAMES,
  OTHER_INPUT_NAMES,
  type InputName,
  type RawInputs,
} from '../core/inputs/schema.ts';
import type { GitHubContext } from '../core/inputs/spec.ts';
import { readContext } from '../core/inputs/github-context.ts';

export { readContext };

/** INPUT_NAMES lists every input of action.yml. */
export const INPUT_NAMES: readonly InputName[] = [...OTHER_INPUT_NAMES, ...BUILD_INPUT_NAMES];

/** GetInput reads one input by name, like @actions/core getInput (trimmed, `` when unset). */
export type GetInput = (name: string) => string;

/**
 * readInputs reads every input with getInput (pass `core.getInput`) and the workflow run from
 * the GITHUB_* variables of env (pass `process.env`). Raw values are returned as read, even empty:
 * defaults and validation are the core's (inputs/schema.ts, spec.ts). Throws ContextError when
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
