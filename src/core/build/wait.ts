/**
 * build/wait.ts: the waiting of one build attempt (lifecycle.ts) over its BuildWatcher: until the
 * build container starts (staging the source meanwhile, reporting why it waits), and until the
 * build ended, with the final verdict (verdict.ts) and the last events of a failure.
 */
import { BuildWatcher, containerStatus, type BuildObjects } from './watch.ts';
import { stageContext } from './context.ts';
import { formatEvents } from '../kube/events.ts';
import type { KubeApi } from '../kube/api.ts';
import { formatDuration } from '../inputs/parse.ts';
import { CONTAINER } from '../manifest/podspec.ts';
import type { Clock, Reporter } from '../base/report.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import { jobVerdict, podVerdict, type Verdict } from './verdict.ts';

/** WaitDeps: the clients untilStarted uses (a subset of lifecycle's BuildDeps). */
export interface WaitDeps {
  kube: KubeApi;
  reporter: Reporter;
  clock: Clock;
}

/**
 * untilStarted waits for the build container to start (or the build to fail first), staging the
 * source meanwhile. pending_timeout runs from the last time the Job was seen suspended: time a
 * Job waits for Kueue's admission (`queue_name`) does not count, since a full queue is not a pod
 * that cannot start. Kueue admits by setting `spec.suspend: false`; the pod and the Job's own
 * Suspended condition follow on separate watches, in either order, so the clock restarts on
 * every sight of `spec.suspend: true` rather than on a change of verdict.
 */
export async function untilStarted(
  spec: BuildSpec,
  deps: WaitDeps,
  watcher: BuildWatcher,
  files: string[] | undefined,
  signal: AbortSignal,
): Promise<Verdict> {
  const { reporter, kube } = deps;
  const started = deps.clock.now();
  // since: when the pending clock started (the step's start, or the last sight of a suspended Job).
  let since = new Date(started);
  let staging: Promise<void> | undefined;
  let stagingError: Error | undefined;
  let lastReason = '';
  let lastReport = deps.clock.now();
  return watcher.until((s) => {
    if (stagingError) throw stagingError;
    const now = new Date(deps.clock.now());
    const job = s.job ? jobVerdict(s.job) : undefined;
    if (job && (job.state === 'failed' || job.state === 'timed_out')) return job;
    if (s.job?.spec?.suspend === true) since = now;
    const pod = s.pod;
    const v: Verdict = pod
      ? podVerdict(pod, [], now, {
          pendingTimeoutSeconds: spec.pendingTimeoutSeconds,
          startedWaitingAt: since,
        })
      : job?.state === 'queued'
        ? job
        : pendingWithoutPod(spec, since, now);
    if (pod && files && !staging && containerStatus(pod, CONTAINER.stage)?.state?.running) {
      staging = stageContext({
        kube,
        namespace: spec.namespace,
        pod: pod.metadata?.name ?? '',
        dir: spec.context ?? '.',
        files,
        reporter,
        signal,
      }).catch((err: Error) => {
        stagingError = new Error(
          `staging ${spec.context} into pod ${pod.metadata?.name} failed: ${err.message}`,
        );
      });
    }
    if (v.state === 'pending' || v.state === 'queued') {
      const waited = (now.getTime() - started) / 1000;
      if (v.reason !== lastReason || now.getTime() - lastReport >= 30_000) {
        reporter.info(`Waiting: ${v.message} (${formatDuration(Math.round(waited))})`);
        lastReason = v.reason;
        lastReport = now.getTime();
      }
      return undefined;
    }
    return v;
  }, signal);
}

function pendingWithoutPod(spec: BuildSpec, since: Date, now: Date): Verdict {
  const waited = (now.getTime() - since.getTime()) / 1000;
  if (waited > spec.pendingTimeoutSeconds) {
    return {
      state: 'failed',
      reason: 'PendingTimeout',
      message: `no pod was created for ${spec.jobName} within ${formatDuration(spec.pendingTimeoutSeconds)}`,
    };
  }
  return {
    state: 'pending',
    reason: 'NoPod',
    message:
      spec.kind === 'job'
        ? `waiting for the Job controller to create the pod of ${spec.jobName}`
        : `waiting for pod ${spec.jobName} to be seen`,
  };
}

/** ended: the build container terminated, or its pod is gone, or the Job failed. */
export function ended(s: BuildObjects): boolean {
  if (containerStatus(s.pod, CONTAINER.build)?.state?.terminated) return true;
  if (s.podDeleted) return true;
  const phase = s.pod?.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return true;
  const j = s.job ? jobVerdict(s.job).state : undefined;
  return j === 'failed' || j === 'timed_out';
}

/** untilEnded waits for the final verdict once the build container ran. */
export function untilEnded(
  spec: BuildSpec,
  watcher: BuildWatcher,
  clock: Clock,
  signal: AbortSignal,
): Promise<Verdict> {
  return watcher.until((s) => {
    if (!ended(s)) return undefined;
    const job = s.job ? jobVerdict(s.job) : undefined;
    if (job?.state === 'timed_out') return job;
    if (s.pod) {
      const v = podVerdict(s.pod, [], new Date(clock.now()), {
        pendingTimeoutSeconds: spec.pendingTimeoutSeconds,
        startedWaitingAt: new Date(0),
      });
      // The last state seen of a deleted pod still tells a preemption (DisruptionTarget).
      if (v.retryable || (!s.podDeleted && v.state !== 'running' && v.state !== 'pending'))
        return v;
    }
    if (job && job.state !== 'running' && job.state !== 'pending') return job;
    if (s.podDeleted)
      return {
        state: 'failed',
        reason: 'PodDeleted',
        message: `pod of ${spec.jobName} was deleted before the build ended`,
      };
    return undefined;
  }, signal);
}

/** withEvents adds the pod's (or Job's) last events to a failure message. */
export async function withEvents(
  kube: KubeApi,
  ns: string,
  s: BuildObjects,
  v: Verdict,
): Promise<Verdict> {
  const name = s.pod?.metadata?.name ?? s.job?.metadata?.name;
  if (!name) return v;
  const events = await kube.listEvents(ns, name).catch(() => []);
  if (events.length === 0) return v;
  return { ...v, message: `${v.message}\nRecent events:\n${formatEvents(events, 10)}` };
}
