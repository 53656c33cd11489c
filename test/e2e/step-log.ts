// step-log.ts: reading a step's log and pointing the action at another API server address, shared
// by the end-to-end tests that put something between the action and the lab's API server.
export { kubeconfigVia } from '../../lab/faults/lab.ts';

/** buildOutput splits the step's stdout into the build's lines (inside `::stop-commands::` blocks) and the rest. */
export function buildOutput(stdout: string): { build: string[]; other: string[] } {
  const build: string[] = [];
  const other: string[] = [];
  let end: string | undefined;
  for (const line of stdout.split('\n')) {
    const start = /^::stop-commands::(.+)$/.exec(line);
    if (end === undefined && start) end = `::${start[1]}::`;
    else if (end !== undefined && line === end) end = undefined;
    else (end === undefined ? other : build).push(line);
  }
  return { build, other };
}
