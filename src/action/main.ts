/**
 * main.ts: the action's main step, loaded by entry-main.ts once the Node
 * version is checked. One top-level catch:
 * every failure, thrown Error or not, fails the step with
 * `kbuild-action failed: ...`. SIGINT/SIGTERM (a cancelled workflow) abort the
 * build, which deletes its Job before the process exits.
 */
import * as core from '@actions/core';
import { readInputs } from './inputs.ts';
import { keepYoungGenerationSmall } from './heap.ts';

/** main runs the main step; it never throws (failures fail the step). */
export async function main(): Promise<void> {
  // Every mode relays bytes (logs, artifacts): a young generation kept small (heap.ts).
  keepYoungGenerationSmall();
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
    // Each mode's code is loaded only when chosen (scripts/build.mjs splits the
    // bundle at each dynamic import): a missing GitHub context fails before the
    // client libraries are even read.
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
    const { runBuildMode } = await import('./build.ts');
    process.exitCode = await runBuildMode(raw, ctx, process.env, controller.signal);
    if (controller.signal.aborted) process.exitCode = 1;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    core.setFailed(`kbuild-action failed: ${message}`);
  }
}
