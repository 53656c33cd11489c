// status.ts: a dispatch as the cluster holds it (its Jobs, found by label), reconciled and moved
// on: GET reports it, POST reports it after creating, DELETE cancels what has not ended.
import type { V1Job } from '@kubernetes/client-node';
import { LABEL, MANAGED_BY } from '../../src/core/inputs/names.ts';
import { jobVerdict } from '../../src/core/build/verdict.ts';
import { applyActions, deleteJobs, type FanoutOptions } from './fanout.ts';
import type { JobsApi } from './kube.ts';
import {
  DISPATCH_ANNOTATION,
  DISPATCH_LABEL,
  type CancelResult,
  type DispatchStatus,
} from '../../src/core/dispatch/protocol.ts';
import { parseEntry, parsePlan, type PlanEntry } from './plan.ts';
import { reconcile, type ObservedJob, type Reconciled } from './reconcile.ts';

/** dispatchSelector finds every Job of a dispatch. */
export function dispatchSelector(dispatchId: string): string {
  return `${LABEL.managedBy}=${MANAGED_BY},${DISPATCH_LABEL}=${dispatchId}`;
}

/** DispatchView: the Jobs of a dispatch and the plan they carry. */
export interface DispatchView {
  dispatchId: string;
  plan: PlanEntry[];
  jobs: V1Job[];
  /** repositoryId: the repository that created it (annotation), for access checks. */
  repositoryId: string;
  /** requestHash of the request that created it (annotation). */
  requestHash: string;
}

/** loadDispatch lists the Jobs of a dispatch; undefined when there is none (or none carries kbuild's plan entries). */
export async function loadDispatch(
  api: JobsApi,
  namespace: string,
  dispatchId: string,
): Promise<DispatchView | undefined> {
  const jobs = await api.listJobs(namespace, dispatchSelector(dispatchId));
  // The plan holder knows every build; without it (its creation failed, or someone deleted
  // it) the Jobs' own entries still tell the builds that exist. Each annotation is parsed once.
  const holder = jobs
    .map((job) => ({ job, plan: parsePlan(job) }))
    .find((h) => h.plan !== undefined);
  const own = holder
    ? []
    : jobs.flatMap((job) => {
        const entry = parseEntry(job);
        return entry ? [{ job, entry }] : [];
      });
  const source = holder?.job ?? own[0]?.job;
  if (!source) return undefined;
  const plan = holder?.plan ?? own.map((o) => o.entry).sort((a, b) => a.level - b.level);
  const a = source.metadata?.annotations ?? {};
  return {
    dispatchId,
    plan,
    jobs,
    repositoryId: a[DISPATCH_ANNOTATION.repositoryId] ?? '',
    requestHash: a[DISPATCH_ANNOTATION.requestHash] ?? '',
  };
}

/** observeJob reads what reconcile needs of a Job: its verdict and kbuild's annotations. */
export function observeJob(job: V1Job): ObservedJob {
  const a = job.metadata?.annotations ?? {};
  const created = job.metadata?.creationTimestamp;
  const out: ObservedJob = {
    verdict: jobVerdict(job),
    gated: a[DISPATCH_ANNOTATION.gate] !== undefined,
    createdAt: created ? new Date(created).getTime() : 0,
  };
  if (a[DISPATCH_ANNOTATION.queue]) out.queue = a[DISPATCH_ANNOTATION.queue];
  if (a[DISPATCH_ANNOTATION.skipped] !== undefined) out.skipped = a[DISPATCH_ANNOTATION.skipped];
  return out;
}

/** RefreshOptions: the time, this request's creation failures, fan-out limits, a warning sink. */
export interface RefreshOptions {
  now: number;
  createErrors?: ReadonlyMap<string, string>;
  fanout: FanoutOptions;
  warn?: (message: string) => void;
}

/**
 * refreshDispatch reconciles a dispatch once and applies the actions (release, skip); an action
 * that fails is logged and retried by the next request. Answers the status after the actions.
 */
export async function refreshDispatch(
  api: JobsApi,
  namespace: string,
  view: DispatchView,
  o: RefreshOptions,
): Promise<DispatchStatus> {
  const jobs = new Map(view.jobs.map((j) => [j.metadata?.name ?? '', observeJob(j)]));
  const r = reconcile({
    plan: view.plan,
    jobs,
    now: o.now,
    ...(o.createErrors ? { createErrors: o.createErrors } : {}),
  });
  if (r.actions.length > 0) {
    const failed = await applyActions(api, namespace, r.actions, o.fanout);
    for (const [name, message] of failed) o.warn?.(`could not update Job ${name}: ${message}`);
  }
  return statusOf(view.dispatchId, namespace, r);
}

/** statusOf renders a Reconciled as the JSON answer. */
export function statusOf(dispatchId: string, namespace: string, r: Reconciled): DispatchStatus {
  const counts: Record<string, number> = {};
  for (const b of r.builds) counts[b.status] = (counts[b.status] ?? 0) + 1;
  return { dispatch_id: dispatchId, namespace, state: r.state, builds: r.builds, counts };
}

/**
 * cancelDispatch deletes, with propagation Background, every Job of the dispatch that has not
 * ended: running, pending, queued, held back for dependencies, or skipped (suspended for good).
 * Succeeded and failed Jobs stay for their TTL, so their status stays readable.
 */
export async function cancelDispatch(
  api: JobsApi,
  namespace: string,
  view: DispatchView,
  o: RefreshOptions,
): Promise<CancelResult> {
  const jobs = new Map(view.jobs.map((j) => [j.metadata?.name ?? '', observeJob(j)]));
  const r = reconcile({ plan: view.plan, jobs, now: o.now });
  const open = r.builds.filter(
    (b) => jobs.has(b.job_name) && !['succeeded', 'failed'].includes(b.status),
  );
  const failed = await deleteJobs(
    api,
    namespace,
    open.map((b) => b.job_name),
    o.fanout,
  );
  return {
    dispatch_id: view.dispatchId,
    cancelled: open
      .filter((b) => !failed.has(b.job_name))
      .map(({ build_id, package: pkg, arch, job_name, status }) => ({
        build_id,
        package: pkg,
        arch,
        job_name,
        status,
      })),
    errors: [...failed].map(([job_name, message]) => ({ job_name, message })),
  };
}
