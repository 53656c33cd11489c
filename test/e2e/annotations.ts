// annotations.ts: reads the workflow commands a step printed, as a runner would.
import type { ActionRun } from './action.ts';

/**
 * errorText decodes the `::error::` (and `::error file=...::`) lines of a step's stdout into their
 * messages, one per line; @actions/core escapes `%` as %25, CR as %0D and LF as %0A
 * (GitHub docs "Workflow commands for GitHub Actions").
 */
export function errorText(run: ActionRun): string {
  return run.stdout
    .split('\n')
    .filter((l) => l.startsWith('::error'))
    .map((l) =>
      l
        .slice(l.indexOf('::', 2) + 2)
        .replace(/%0D/g, '\r')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%'),
    )
    .join('\n');
}
