/**
 * main.ts: the action's main entry point (dist/main). One top-level catch:
 * every failure, thrown Error or not, fails the step with
 * `kbuild-action failed: ...`. SIGINT/SIGTERM (a cancelled workflow) abort the
 * build, which deletes its Job before the process exits.
 */
import * as core from '@actions/core';
import { readInputs } from './inputs.ts';
import { runBuildMode } from './build.ts';

async function main(): Promise<void> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    core.warning(`received ${sig}: cancelling the build`);
    controller.abort(new Error(`cancelled by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { raw, ctx } = readInputs((name) => core.getInput(name), process.env);
    const mode = raw['mode'] || 'build';
    // Each mode's code is loaded only when chosen: a bad input of mode build
    // fails before the 20 MB of client libraries are even compiled.
    if (mode === 'dispatch') {
      const { runDispatchMode } = await import('./dispatch.ts');
      process.exitCode = await runDispatchMode(raw, ctx, process.env, controller.signal);
      return;
    }
    if (mode === 'plan') {
      const { runPlanMode } = await import('./plan.ts');
      process.exitCode = await runPlanMode(raw, ctx, process.env);
      return;
    }
    if (mode !== 'build') {
      throw new Error(
        `mode "${mode}" is not available in this version: use mode: build, dispatch or plan`,
      );
    }
    process.exitCode = await runBuildMode(raw, ctx, process.env, controller.signal);
    if (controller.signal.aborted) process.exitCode = 1;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    core.setFailed(`kbuild-action failed: ${message}`);
  }
}

await main();
