// reconcile.ts: the pure heart of dependency ordering. From a dispatch's plan and what its Jobs
// look like now, it answers the status of every build and the actions that move the dispatch on:
// release a held-back Job whose dependencies all succeeded, mark skipped the Jobs that depend on a
// failed build. No loop survives between requests in a serverless runtime, so every request
// (POST, GET) runs it once against the cluster's current state; the actions are idempotent.
import type { Verdict } from '../../src/core/build/verdict.ts';
import type {
  BuildReport,
  DispatchBuildState,
  DispatchState,
} from '../../src/core/dispatch/protocol.ts';
import { isTerminalBuildState } from '../../src/core/dispatch/protocol.ts';
import type { PlanEntry } from './plan.ts';

/** ObservedJob is what reconcile needs of one existing Job. */
export interface ObservedJob {
  /** verdict is core jobVerdict of the Job. */
  verdict: Verdict;
  /** gated: the gate annotation is set (kbuild holds the suspended Job back for its dependencies). */
  gated: boolean;
  /** queue: the Kueue queue to label the Job with on release (annotation), when it has one. */
  queue?: string;
  /** skipped: the reason recorded when the Job was skipped. */
  skipped?: string;
  /** createdAt: creationTimestamp, epoch ms. */
  createdAt: number;
}

/** ReconcileInput: the plan, the Jobs found (by name), creation errors of this request, the time. */
export interface ReconcileInput {
  plan: readonly PlanEntry[];
  jobs: ReadonlyMap<string, ObservedJob>;
  /** createErrors: Jobs this request failed to create, with the API's message. */
  createErrors?: ReadonlyMap<string, string>;
  now: number;
  /**
   * missingGraceMs: how long after the dispatch's first Job a missing Job still counts as being
   * created (another instance may be creating it) rather than failed. Default 120 s.
   */
  missingGraceMs?: number;
}

/** Action is one change to make in the cluster. */
export type Action =
  /** release: unsuspend the Job, or (with queue) add the Kueue queue label and let Kueue admit it. */
  | { type: 'release'; jobName: string; queue?: string }
  /** skip: drop the gate, record the reason; the Job stays suspended and never runs. */
  | { type: 'skip'; jobName: string; reason: string };

/** Reconciled: each build's report, the actions to apply, and the dispatch's overall state. */
export interface Reconciled {
  state: DispatchState;
  builds: BuildReport[];
  actions: Action[];
}

const DEFAULT_GRACE_MS = 120_000;

type Status = Pick<BuildReport, 'status' | 'reason' | 'message'>;

/** statusOfJob maps a Job's verdict to a dispatch status (timed_out is failed, reason DeadlineExceeded). */
function statusOfJob(v: Verdict): Status {
  const status: DispatchBuildState = v.state === 'timed_out' ? 'failed' : v.state;
  return { status, reason: v.reason, message: v.message };
}

/**
 * reconcile computes the reports and actions, visiting builds by level so that a skip cascades to
 * dependents of dependents in one pass. A held-back build whose dependencies include a failed or
 * skipped one is skipped; one whose dependencies all succeeded is released (queued when it goes
 * to a Kueue queue, else pending); otherwise it waits (pending, reason WaitingForDependencies).
 * A missing Job is failed (CreateFailed) when this request could not create it, pending
 * (NotCreated) within the grace period, then failed (NotFound).
 */
export function reconcile(input: ReconcileInput): Reconciled {
  const grace = input.missingGraceMs ?? DEFAULT_GRACE_MS;
  const created = [...input.jobs.values()].map((j) => j.createdAt);
  const since = created.length > 0 ? Math.min(...created) : input.now;
  const byName = new Map(input.plan.map((e) => [e.job_name, e]));
  const done = new Map<string, Status>();
  const actions: Action[] = [];
  const ordered = [...input.plan].sort((a, b) => a.level - b.level);
  for (const e of ordered) {
    const job = input.jobs.get(e.job_name);
    done.set(e.job_name, statusOf(e, job));
  }
  function statusOf(e: PlanEntry, job: ObservedJob | undefined): Status {
    const createError = input.createErrors?.get(e.job_name);
    if (createError !== undefined)
      return {
        status: 'failed',
        reason: 'CreateFailed',
        message: `Job ${e.job_name} could not be created: ${createError}`,
      };
    if (!job) {
      if (input.now - since < grace)
        return {
          status: 'pending',
          reason: 'NotCreated',
          message: `Job ${e.job_name} is not created yet`,
        };
      return {
        status: 'failed',
        reason: 'NotFound',
        message: `Job ${e.job_name} does not exist (it was not created, or was deleted)`,
      };
    }
    if (job.skipped !== undefined)
      return { status: 'skipped', reason: 'DependencyFailed', message: job.skipped };
    if (!job.gated) return statusOfJob(job.verdict);
    const deps = e.depends_on.map((name) => ({
      name,
      entry: byName.get(name),
      // A dependency the plan does not know (the plan holder is gone and so is its Job) never
      // ends: count it as not found rather than wait for it forever.
      status: byName.has(name)
        ? done.get(name)
        : ({
            status: 'failed',
            reason: 'NotFound',
            message: `Job ${name} does not exist`,
          } as Status),
    }));
    const broken = deps.find(
      (d) => d.status?.status === 'failed' || d.status?.status === 'skipped',
    );
    if (broken) {
      const what = broken.entry ? `${broken.entry.package} (${broken.entry.arch})` : broken.name;
      const reason = `skipped: dependency ${what} ${broken.status?.status === 'failed' ? `failed (${broken.status.reason})` : 'was skipped'}`;
      actions.push({ type: 'skip', jobName: e.job_name, reason });
      return { status: 'skipped', reason: 'DependencyFailed', message: reason };
    }
    const waiting = deps.filter((d) => d.status?.status !== 'succeeded');
    if (waiting.length === 0) {
      actions.push({
        type: 'release',
        jobName: e.job_name,
        ...(job.queue ? { queue: job.queue } : {}),
      });
      if (job.queue)
        return {
          status: 'queued',
          reason: 'Released',
          message: `dependencies succeeded; waiting for admission in queue ${job.queue}`,
        };
      return { status: 'pending', reason: 'Released', message: 'dependencies succeeded; starting' };
    }
    const names = waiting.map((d) => d.entry?.package ?? d.name).join(', ');
    return {
      status: 'pending',
      reason: 'WaitingForDependencies',
      message: `waiting for ${names} (${e.arch})`,
    };
  }
  const builds = input.plan.map((e): BuildReport => {
    const s = done.get(e.job_name)!;
    const depends = e.depends_on.map((n) => byName.get(n)?.package ?? n);
    return {
      build_id: e.build_id,
      package: e.package,
      arch: e.arch,
      job_name: e.job_name,
      level: e.level,
      depends_on: depends,
      ...s,
    };
  });
  const terminal = builds.every((b) => isTerminalBuildState(b.status));
  const state = !terminal
    ? 'running'
    : builds.every((b) => b.status === 'succeeded')
      ? 'succeeded'
      : 'failed';
  return { state, builds, actions };
}
