/**
 * plan.ts: mode `plan` of the action (docs/design.md, "Plan mode"). Lists the pull
 * request's changed files through the GitHub API, reads the package
 * definitions of the checkout (GITHUB_WORKSPACE), and outputs the build
 * `matrix` and the dependency `levels`, with a job summary.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as core from '@actions/core';
import { traceHttp } from '../core/base/http-trace.ts';
import * as github from '@actions/github';
import { glob } from 'tinyglobby';
import { InputError, InputIssues } from '../core/base/errors.ts';
import { inputValue, type RawInputs } from '../core/inputs/schema.ts';
import {
  GLOB_OPTIONS,
  parsePackageDefinition,
  parsePackagePaths,
  type PackageDefinition,
  type PackagePaths,
} from '../core/plan/package-definition.ts';
import { parseArchList } from '../core/inputs/parse.ts';
import { planBuilds, type ChangedFile, type Plan } from '../core/plan/plan.ts';
import type { GitHubContext } from '../core/inputs/spec.ts';

/** LIST_FILES_LIMIT: GitHub's "List pull requests files" answers at most 3000 files. */
const LIST_FILES_LIMIT = 3000;

/**
 * runPlanMode runs mode `plan`: validates `archs`, `package_paths` and
 * `github_token` before any request, then sets the outputs `matrix`
 * (`{"include":[{"package":..,"arch":..}]}`), `levels` (JSON array of
 * arrays of package names) and `dependencies` (JSON `{package: [planned packages it needs]}`) and writes the job summary. The pull request is
 * the event payload's `pull_request.number` (GITHUB_EVENT_PATH); the API is
 * GITHUB_API_URL's (through @actions/github). Resolves with the exit code, 0;
 * throws InputError, DependencyCycleError, DefinitionError or an Error naming
 * the API failure and the permission to grant.
 */
export async function runPlanMode(
  raw: RawInputs,
  ctx: GitHubContext,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const untrace = traceHttp({ debug: (line) => core.debug(line) });
  try {
    return await plan(raw, ctx, env);
  } finally {
    untrace();
  }
}

/** plan runs mode plan (runPlanMode). */
async function plan(raw: RawInputs, ctx: GitHubContext, env: NodeJS.ProcessEnv): Promise<number> {
  const issues = new InputIssues();
  const archs = issues.attempt(() => parseArchList('archs', inputValue(raw, 'archs')));
  const paths = issues.attempt(() =>
    parsePackagePaths('package_paths', inputValue(raw, 'package_paths')),
  );
  const token = inputValue(raw, 'github_token');
  if (token === '')
    issues.add(
      'github_token',
      'input "github_token" is empty: pass a token that can read pull requests, e.g. ${{ github.token }}',
    );
  issues.throwIfAny();
  core.setSecret(token);
  const pull = pullRequestNumber(github.context.payload, ctx.eventName);
  const workspace = env['GITHUB_WORKSPACE']?.trim() || process.cwd();

  const files = await listChangedFiles(token, ctx, pull);
  if (files.length >= LIST_FILES_LIMIT)
    core.warning(
      `pull request #${pull} lists ${files.length} files, GitHub's limit: files past it are not planned`,
    );
  const definitions = await readDefinitions(workspace, paths!);
  const plan = planBuilds({
    files,
    paths: paths!,
    definitions,
    present: (path) => existsSync(join(workspace, path)),
    archs: archs!,
  });

  core.setOutput('matrix', JSON.stringify(plan.matrix));
  core.setOutput('levels', JSON.stringify(plan.levels));
  core.setOutput('dependencies', JSON.stringify(plan.dependencies));
  for (const line of planLog(plan, pull, files.length)) core.info(line);
  await core.summary
    .addRaw(planSummaryMarkdown(plan, pull, inputValue(raw, 'package_paths')), true)
    .write();
  return 0;
}

/** pullRequestNumber reads `pull_request.number` from the event payload, or explains its absence. */
export function pullRequestNumber(
  payload: { pull_request?: { number?: unknown } },
  eventName?: string,
): number {
  const n = payload.pull_request?.number;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
  throw new InputError(
    'mode',
    `mode "plan" needs a pull request: the ${eventName ? `"${eventName}" ` : ''}event payload (GITHUB_EVENT_PATH) has no pull_request.number; run it on pull_request or pull_request_target events`,
  );
}

/** listChangedFiles pages through GET /repos/{owner}/{repo}/pulls/{n}/files (100 a page). */
async function listChangedFiles(
  token: string,
  ctx: GitHubContext,
  pull: number,
): Promise<ChangedFile[]> {
  const octokit = github.getOctokit(token);
  try {
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
      owner: ctx.owner,
      repo: ctx.repo,
      pull_number: pull,
      per_page: 100,
    });
    return files.map((f) => ({
      filename: f.filename,
      status: f.status,
      ...(f.previous_filename ? { previousFilename: f.previous_filename } : {}),
    }));
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    const why = err instanceof Error ? err.message : String(err);
    const fix =
      status === 401 || status === 403 || status === 404
        ? ': give the job `permissions: pull-requests: read` (and contents: read), or a github_token that can read the repository'
        : '';
    throw new Error(
      `cannot list the files of pull request #${pull} in ${ctx.repository}: ${why}${fix}`,
      {
        cause: err,
      },
    );
  }
}

/** readDefinitions reads every package definition of the checkout (files matching package_paths). */
async function readDefinitions(
  workspace: string,
  paths: PackagePaths,
): Promise<PackageDefinition[]> {
  const found = await glob(paths.include, {
    cwd: workspace,
    ignore: paths.exclude,
    ...GLOB_OPTIONS,
    onlyFiles: true,
    expandDirectories: false,
  });
  const defs = await Promise.all(
    found
      .sort()
      .map(async (path) =>
        parsePackageDefinition(path, await readFile(join(workspace, path), 'utf8')),
      ),
  );
  return defs.filter((d): d is PackageDefinition => d !== undefined);
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** listed shows at most `max` items, then how many more there are. */
const listed = (items: readonly string[], max: number, sep: string): string =>
  items.slice(0, max).join(sep) + (items.length > max ? ` and ${items.length - max} more` : '');

function planLog(plan: Plan, pull: number, fileCount: number): string[] {
  const lines = [
    `Pull request #${pull}: ${plural(fileCount, 'changed file')}, ${plural(plan.changed.length, 'package definition')} changed`,
  ];
  if (plan.levels.length === 0)
    lines.push('No package definitions changed: nothing to build (matrix {"include":[]})');
  for (const [i, level] of plan.levels.entries()) lines.push(`Level ${i}: ${level.join(' ')}`);
  lines.push(...plan.notes);
  if (plan.ignored.length > 0)
    lines.push(`Not package definitions (ignored): ${listed(plan.ignored, 50, ' ')}`);
  return lines;
}

const code = (s: string): string => `\`${s.replace(/[`|\r\n]/g, '?')}\``;

/** planSummaryMarkdown renders the job summary: one row per planned package, then the notes. */
export function planSummaryMarkdown(plan: Plan, pull: number, packagePaths: string): string {
  const out = [`### kbuild plan: pull request #${pull}`, ''];
  if (plan.levels.length === 0) {
    out.push(`No package definitions (${code(packagePaths)}) changed: nothing to build.`, '');
  } else {
    const archs = [...new Set(plan.matrix.include.map((e) => e.arch))].join(', ');
    out.push('| level | package | why | archs |', '| --- | --- | --- | --- |');
    for (const [i, level] of plan.levels.entries()) {
      for (const pkg of level) {
        const deps = plan.rebuilt[pkg];
        const why = deps ? `depends on ${deps.map(code).join(', ')}` : 'definition changed';
        out.push(`| ${i} | ${code(pkg)} | ${why} | ${archs} |`);
      }
    }
    const builds = plural(plan.matrix.include.length, 'build');
    out.push('', `${builds} in ${plural(plan.levels.length, 'level')}.`, '');
  }
  const notes = [...plan.notes];
  if (plan.ignored.length > 0)
    notes.push(`Not package definitions, ignored: ${listed(plan.ignored.map(code), 20, ', ')}`);
  if (notes.length > 0) out.push('#### Notes', '', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
