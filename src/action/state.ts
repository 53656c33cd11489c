/**
 * state.ts: what the main step hands to the post step (core.saveState, read
 * back as STATE_* by the runner; never through env or files in the workspace).
 */

/** STATE names the saved values. */
export const STATE = {
  build: 'build',
  dispatch: 'dispatch',
  finished: 'finished',
  inputs: 'inputs',
} as const;

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

/** SavedDispatch: the dispatch a `wait: true` main step follows, to cancel if it is left running. */
export interface SavedDispatch {
  /** url: the dispatcher (input dispatcher_url); id: the dispatch_id it answered. */
  url: string;
  id: string;
}

/** parseSavedDispatch reads a SavedDispatch; undefined when absent or malformed. */
export function parseSavedDispatch(text: string): SavedDispatch | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SavedDispatch>;
    if (typeof v.url !== 'string' || typeof v.id !== 'string' || !/^[0-9a-f]{8,64}$/.test(v.id))
      return undefined;
    return { url: v.url, id: v.id };
  } catch {
    return undefined;
  }
}
