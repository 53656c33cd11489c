/**
 * build.ts: mode `build` of the action. Validates every input before anything
 * is created, connects, runs the build through the core lifecycle engine, and
 * reports outputs, summary and failure.
 */
import { tmpdir } from 'node:os';
import * as core from '@actions/core';
import { validateAuthConfig } from '../core/inputs/auth-config.ts';
import { listContext } from '../core/build/context.ts';
import { podEndpointsOf, readPodProgram } from '../core/build/pod-program-file.ts';
import { endpointsFromEnv } from '../core/google/endpoints.ts';
import { renderManifests, toYaml } from '../core/manifest/manifest.ts';
import { validateBuildSpec } from '../core/inputs/spec.ts';
import type { RawInputs } from '../core/inputs/schema.ts';
import type { GitHubContext } from '../core/inputs/spec.ts';
import { ActionsReporter } from './reporter.ts';
import { buildOutputs, failureMessage, summaryMarkdown } from './summary.ts';
import { STATE, type SavedBuild } from './state.ts';

/**
 * runBuildMode runs mode `build`. Resolves with the process exit code: 0 on
 * success, the build's exit code (or 1) on failure.
 */
export async function runBuildMode(
  raw: RawInputs,
  ctx: GitHubContext,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<number> {
  const spec = validateBuildSpec(raw, ctx);
  for (const value of Object.values(spec.secretEnv)) if (value !== '') core.setSecret(value);
  const auth = validateAuthConfig(raw, { create: spec.create });
  // A missing context, or one outside the workspace, fails before anything exists.
  if (spec.context) await listContext(spec.context, env['GITHUB_WORKSPACE'] || process.cwd());
  if (!spec.create) {
    const podProgram = await readPodProgram(import.meta.url);
    const yaml = toYaml(
      renderManifests(spec, {
        endpoints: podEndpointsOf(endpointsFromEnv(env)),
        ...(podProgram ? { podProgram } : {}),
      }),
    );
    core.setOutput('manifest', yaml);
    core.setOutput('job_name', spec.jobName);
    core.setOutput('build_id', spec.buildId);
    core.info(yaml);
    return 0;
  }
  // The Kubernetes and Google clients are most of the bundle (about 20 MB): loaded only once the
  // inputs are valid, a bad input fails the step in a fraction of a second.
  const { connectAndRunBuild } = await import('../core/build/run-build.ts');
  const reporter = new ActionsReporter();
  const result = await connectAndRunBuild(
    spec,
    {
      auth,
      connect: {
        endpoints: endpointsFromEnv(env),
        getIdToken: (audience) => core.getIDToken(audience),
        mask: (s) => core.setSecret(s),
      },
      reporter,
      connected: (cluster) => `Cluster: ${cluster}; namespace ${spec.namespace}`,
      tempDir: env['RUNNER_TEMP'] || tmpdir(),
      entryUrl: import.meta.url,
      onCreated: (b) => {
        const saved: SavedBuild = { ...b, keep: spec.keep, watch: spec.watch };
        core.saveState(STATE.build, JSON.stringify(saved));
      },
    },
    signal,
  ).finally(() => reporter.close());
  core.saveState(STATE.finished, 'true');
  for (const [k, v] of Object.entries(buildOutputs(result))) core.setOutput(k, v);
  await core.summary.addRaw(summaryMarkdown(spec, result), true).write();
  if (result.status === 'succeeded' || result.status === 'created') {
    core.info(`Build ${result.status}: ${result.message}`);
    return 0;
  }
  core.setFailed(failureMessage(result));
  return result.exitCode && result.exitCode > 0 ? result.exitCode : 1;
}
