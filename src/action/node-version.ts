/**
 * node-version.ts: the Node version check that runs before any of the
 * action's code is loaded (entry-main.ts, entry-post.ts). The bundle uses
 * Node 24 APIs, so on an older runtime it fails deep inside a library
 * (`Cannot read properties of undefined (reading 'bind')` on Node 20);
 * this turns that into one line that says what is needed and what was found.
 * It imports nothing and uses no API newer than Node 12, so it runs on any
 * runtime GitHub's runners or nektos/act offer.
 */

/** NODE_MAJOR: the oldest Node major version the action runs on (action.yml `runs.using: node24`). */
export const NODE_MAJOR = 24;

/**
 * nodeVersionError answers the error line for a Node version older than
 * NODE_MAJOR, or undefined when `version` (process.versions.node, e.g.
 * `20.19.2`) is recent enough. `execPath` names the binary that was found.
 */
export function nodeVersionError(version: string, execPath: string): string | undefined {
  const major = Number(version.split('.')[0]);
  if (major >= NODE_MAJOR) return undefined;
  return `kbuild-action needs Node ${NODE_MAJOR} or newer; this runner's node is v${version} (${execPath}): use a runner whose Actions runtime supports node${NODE_MAJOR}, or put Node ${NODE_MAJOR} first on PATH for nektos/act`;
}

/**
 * startStep runs a step of the action once the Node version is checked: on an older Node it
 * prints one `::error::` line and sets exit code 1 without loading the step; otherwise it loads
 * the step with `load` (a dynamic import, so nothing of it is evaluated before the check) and
 * runs it. A step that cannot be loaded is reported as a broken release, in one line.
 */
export async function startStep(load: () => Promise<() => Promise<void>>): Promise<void> {
  const tooOld = nodeVersionError(process.versions.node, process.execPath);
  if (tooOld) {
    process.stdout.write(`::error::${tooOld}\n`);
    process.exitCode = 1;
    return;
  }
  let step: () => Promise<void>;
  try {
    step = await load();
  } catch (err) {
    process.stdout.write(`::error::kbuild-action could not load its code: ${String(err)}\n`);
    process.exitCode = 1;
    return;
  }
  await step();
}
