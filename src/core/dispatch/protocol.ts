// protocol.ts: what the dispatcher and its clients agree on besides the request body
// (request.ts): the labels and annotations that keep a dispatch's state on its Jobs and pods,
// and the JSON answers of `GET` and `DELETE /v1/dispatches/{id}` (docs/dispatcher.md).
import { createHash } from 'node:crypto';

/**
 * dispatchIdOf is 32 hex chars of SHA-256 over the repository, run id, run attempt and the sorted
 * build ids: the same run asking for the same builds gets the same dispatch. The dispatcher takes
 * the run from the caller's verified token; a caller computes the same id from its own run (mode
 * dispatch names its `staging: bucket` archive with it before it sends the request).
 */
export function dispatchIdOf(
  run: { repository: string; runId: string; runAttempt: string },
  buildIds: readonly string[],
): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        'kbuild/dispatch/v1',
        run.repository,
        run.runId,
        run.runAttempt,
        ...[...buildIds].sort(),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
}

/** DISPATCH_LABEL carries the dispatch id on every Job and pod of a dispatch. */
export const DISPATCH_LABEL = 'kbuild.dev/dispatch-id';

/** DISPATCH_ANNOTATION names the annotations that hold a dispatch's state on its Jobs. */
export const DISPATCH_ANNOTATION = {
  /**
   * plan: JSON PlanEntry[] of the whole dispatch, on its first Job only (the plan holder), so a
   * build whose Job was never created is still known. Only one Job carries it: on every Job it
   * made a dispatch of N builds cost O(N^2) bytes (86 KB per Job at 500 builds, bench/fanout.ts).
   */
  plan: 'kbuild.dev/dispatch-plan',
  /** build: JSON PlanEntry of the Job's own build, on every Job (the plan without its holder). */
  build: 'kbuild.dev/dispatch-build',
  /** requestHash: SHA-256 of the validated request; another request for the same builds is a 409. */
  requestHash: 'kbuild.dev/request-hash',
  /** repositoryId: the caller's repository_id; only that repository may read or cancel. */
  repositoryId: 'kbuild.dev/repository-id',
  /** gate: `dependencies` while kbuild holds the suspended Job back for its dependencies. */
  gate: 'kbuild.dev/gate',
  /** queue: the Kueue queue to label the Job with once its dependencies succeeded. */
  queue: 'kbuild.dev/queue-name',
  /** skipped: why the Job will never run (a dependency failed); it stays suspended. */
  skipped: 'kbuild.dev/skipped',
} as const;

/** GATE_DEPENDENCIES is the value of the gate annotation. */
export const GATE_DEPENDENCIES = 'dependencies';

/** DispatchBuildState is the status of one build as the dispatcher reports it. */
export type DispatchBuildState =
  'queued' | 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

/** TERMINAL_BUILD_STATES: the build statuses after which a build changes no more. */
export const TERMINAL_BUILD_STATES: ReadonlySet<DispatchBuildState> = new Set([
  'succeeded',
  'failed',
  'skipped',
]);

/** isTerminalBuildState tells whether a reported build status is final (TERMINAL_BUILD_STATES). */
export function isTerminalBuildState(status: string): boolean {
  return TERMINAL_BUILD_STATES.has(status as DispatchBuildState);
}

/** buildKey names a build in messages: `package/arch`. */
export const buildKey = (b: { package: string; arch: string }): string => `${b.package}/${b.arch}`;

/** DispatchState is the state of a whole dispatch: running until every build ended. */
export type DispatchState = 'running' | 'succeeded' | 'failed';

/** BuildReport is one build in the dispatcher's answers (snake_case: it is JSON for clients). */
export interface BuildReport {
  build_id: string;
  package: string;
  arch: string;
  job_name: string;
  level: number;
  /** depends_on: the packages this build waits for. */
  depends_on: string[];
  status: DispatchBuildState;
  reason: string;
  message: string;
}

/** DispatchStatus is the JSON answer of GET (and the base of POST's). */
export interface DispatchStatus {
  dispatch_id: string;
  /** namespace of the Jobs (where followers find the pods). */
  namespace: string;
  state: DispatchState;
  builds: BuildReport[];
  /** counts: how many builds are in each status. */
  counts: Record<string, number>;
}

/** CancelResult is the JSON answer of DELETE. */
export interface CancelResult {
  dispatch_id: string;
  cancelled: Pick<BuildReport, 'build_id' | 'package' | 'arch' | 'job_name' | 'status'>[];
  /** errors: Jobs that could not be deleted, with the API's message. */
  errors: { job_name: string; message: string }[];
}
