/**
 * state.ts: what the main step hands to the post step (core.saveState, read
 * back as STATE_* by the runner; never through env or files in the workspace).
 */

/** STATE names the saved values. */
export const STATE = { build: 'build', finished: 'finished', inputs: 'inputs' } as const;

/** SavedBuild: enough to find and delete a build that the main step left running. */
export interface SavedBuild {
  namespace: string;
  jobName: string;
  kind: 'job' | 'pod';
  keep: boolean;
  watch: boolean;
}

/** parseSavedBuild reads a SavedBuild saved by the main step; undefined when absent or malformed. */
export function parseSavedBuild(text: string): SavedBuild | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SavedBuild>;
    if (typeof v.namespace !== 'string' || typeof v.jobName !== 'string') return undefined;
    return {
      namespace: v.namespace,
      jobName: v.jobName,
      kind: v.kind === 'pod' ? 'pod' : 'job',
      keep: !!v.keep,
      watch: v.watch !== false,
    };
  } catch {
    return undefined;
  }
}
