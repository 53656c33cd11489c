// verdict.ts: what the state of a build's Pod or Job means for the build (docs/design.md, "One build",
// step 6): pending, running, or ended and why, with messages that name the Kubernetes reason.
import type { CoreV1Event, V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { formatEvents } from '../kube/events.ts';
import { formatDuration } from '../inputs/parse.ts';
import { CONTAINER } from '../manifest/podspec.ts';

/** BuildState is the state of a build; the ended ones match the `status` output. */
export type BuildState = 'queued' | 'pending' | 'running' | 'succeeded' | 'failed' | 'timed_out';

/**
 * Verdict is the state of a build with the Kubernetes reason (`ImagePullBackOff`, `OOMKilled`,
 * `Unschedulable`, ...) and a message for people. exitCode is the build container's exit code
 * once it ended; retryable marks a failure caused by the node (Spot preemption), not the build.
 */
export interface Verdict {
  state: BuildState;
  reason: string;
  message: string;
  exitCode?: number;
  retryable?: boolean;
}

/** PodVerdictOptions: the pending timeout, and when the engine started waiting for the pod. */
export interface PodVerdictOptions {
  pendingTimeoutSeconds: number;
  startedWaitingAt: Date;
  /** maxEvents is how many of the last events a failure message lists (default 10). */
  maxEvents?: number;
}

/** FATAL_WAITING_REASONS fail a build at once: retrying cannot fix them. */
export const FATAL_WAITING_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** DISRUPTION_REASONS are pod reasons of a node going away (Spot preemption, node shutdown). */
const DISRUPTION_REASONS = new Set([
  'Terminated',
  'NodeShutdown',
  'Shutdown',
  'NodeLost',
  'PreemptionByScheduler',
]);

/** eventsOf keeps the events about the pod (by uid when both have one, else by name). */
function eventsOf(pod: V1Pod, events: readonly CoreV1Event[]): CoreV1Event[] {
  const uid = pod.metadata?.uid;
  const name = pod.metadata?.name;
  return events.filter((e) =>
    uid && e.involvedObject.uid ? e.involvedObject.uid === uid : e.involvedObject.name === name,
  );
}

/**
 * podVerdict reads a build pod (the `build` container, its init containers, conditions and
 * events) at time now. In order: deadline exceeded -> timed_out; eviction; node disruption
 * (retryable); the build container's end (OOMKilled, exit code N, or success); a fatal waiting
 * reason in any container (image pull errors, invalid image, config errors: failed at once); a
 * failed init container; running; otherwise pending, which fails once the pod waited more than
 * pendingTimeoutSeconds without starting any container (unschedulable: with the scheduler's
 * message). Failure messages end with the last events.
 */
export function podVerdict(
  pod: V1Pod,
  events: readonly CoreV1Event[],
  now: Date,
  opts: PodVerdictOptions,
): Verdict {
  const name = pod.metadata?.name ?? 'pod';
  const status = pod.status ?? {};
  const table = (): string => {
    const mine = eventsOf(pod, events);
    return mine.length > 0 ? `\nlast events:\n${formatEvents(mine, opts.maxEvents ?? 10)}` : '';
  };
  const failed = (reason: string, message: string, extra: Partial<Verdict> = {}): Verdict => ({
    state: 'failed',
    reason,
    message: `${message}${table()}`,
    ...extra,
  });
  const containers = status.containerStatuses ?? [];
  const inits = status.initContainerStatuses ?? [];
  const build = containers.find((c) => c.name === CONTAINER.build);
  const ended = build?.state?.terminated;
  const exit = ended ? { exitCode: ended.exitCode } : {};

  if (status.phase === 'Failed' && status.reason === 'DeadlineExceeded') {
    return {
      state: 'timed_out',
      reason: 'DeadlineExceeded',
      message: `pod ${name} ran past its deadline: ${status.message ?? 'activeDeadlineSeconds exceeded'}; raise input "timeout"`,
      ...exit,
    };
  }
  if (status.phase === 'Failed' && status.reason === 'Evicted') {
    return failed('Evicted', `pod ${name} was evicted: ${status.message ?? 'no message'}`, exit);
  }
  const disruption = (status.conditions ?? []).find(
    (c) => c.type === 'DisruptionTarget' && c.status === 'True',
  );
  const disrupted =
    disruption !== undefined ||
    (status.phase === 'Failed' && DISRUPTION_REASONS.has(status.reason ?? ''));
  if (disrupted && ended?.exitCode !== 0) {
    const why = disruption?.message ?? status.message ?? status.reason ?? 'the node went away';
    return failed('Preempted', `pod ${name} was stopped by its node: ${why}`, {
      ...exit,
      retryable: true,
    });
  }
  if (ended) {
    if (ended.reason === 'OOMKilled') {
      const limit = pod.spec?.containers.find((c) => c.name === CONTAINER.build)?.resources
        ?.limits?.['memory'];
      const of = limit ? ` (limit ${limit})` : '';
      return failed(
        'OOMKilled',
        `build container of pod ${name} ran out of memory${of} and was killed; raise input "memory"`,
        exit,
      );
    }
    if (ended.exitCode === 0)
      return {
        state: 'succeeded',
        reason: 'Completed',
        message: `build in pod ${name} succeeded`,
        exitCode: 0,
      };
    const detail = ended.message ? `: ${ended.message.trim()}` : '';
    return {
      state: 'failed',
      reason: ended.reason ?? 'Error',
      message: `build in pod ${name} exited with code ${ended.exitCode}${detail}`,
      exitCode: ended.exitCode,
    };
  }
  for (const c of [...inits, ...containers]) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && FATAL_WAITING_REASONS.has(waiting.reason)) {
      const image = c.image ? ` (image ${c.image})` : '';
      return failed(
        waiting.reason,
        `container ${c.name} of pod ${name} cannot start: ${waiting.reason}${image}: ${waiting.message ?? 'no message'}`,
      );
    }
  }
  const badInit = inits.find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0);
  if (badInit?.state?.terminated) {
    const t = badInit.state.terminated;
    return failed(
      'InitContainerFailed',
      `init container ${badInit.name} of pod ${name} exited with code ${t.exitCode}${t.message ? `: ${t.message.trim()}` : ''}`,
    );
  }
  if (build?.state?.running)
    return { state: 'running', reason: 'Running', message: `build in pod ${name} is running` };
  if (status.phase === 'Failed')
    return failed(
      status.reason ?? 'Failed',
      `pod ${name} failed: ${status.message ?? 'no message'}`,
    );
  if (status.phase === 'Succeeded')
    return { state: 'succeeded', reason: 'Completed', message: `pod ${name} succeeded` };
  return pendingVerdict(pod, now, opts, failed);
}

function started(c: V1ContainerStatus): boolean {
  return Boolean(c.state?.running || c.state?.terminated);
}

function pendingVerdict(
  pod: V1Pod,
  now: Date,
  opts: PodVerdictOptions,
  failed: (reason: string, message: string) => Verdict,
): Verdict {
  const name = pod.metadata?.name ?? 'pod';
  const status = pod.status ?? {};
  const scheduled = (status.conditions ?? []).find((c) => c.type === 'PodScheduled');
  const unschedulable = scheduled?.status === 'False' && scheduled.reason === 'Unschedulable';
  const anyStarted = [
    ...(status.initContainerStatuses ?? []),
    ...(status.containerStatuses ?? []),
  ].some(started);
  const waited = (now.getTime() - opts.startedWaitingAt.getTime()) / 1000;
  const over = waited > opts.pendingTimeoutSeconds;
  const after = formatDuration(opts.pendingTimeoutSeconds);
  if (unschedulable) {
    const why = scheduled.message ?? 'no message from the scheduler';
    if (over) return failed('Unschedulable', `pod ${name} is unschedulable after ${after}: ${why}`);
    return {
      state: 'pending',
      reason: 'Unschedulable',
      message: `pod ${name} is waiting for a node: ${why}`,
    };
  }
  const waiting = [
    ...(status.initContainerStatuses ?? []),
    ...(status.containerStatuses ?? []),
  ].find((c) => c.state?.waiting)?.state?.waiting;
  const reason = anyStarted
    ? 'Initializing'
    : (waiting?.reason ?? (scheduled?.status === 'True' ? 'ContainerCreating' : 'Pending'));
  if (!anyStarted && over) {
    return failed(
      'PendingTimeout',
      `pod ${name} did not start within ${after} (${reason}); raise input "pending_timeout" or check the events`,
    );
  }
  return {
    state: 'pending',
    reason,
    message: `pod ${name} is ${reason === 'Initializing' ? 'initializing' : `pending (${reason})`}`,
  };
}

/**
 * jobVerdict reads the conditions of a Job (batch/v1 JobCondition): Complete or
 * SuccessCriteriaMet -> succeeded; Failed or FailureTarget with DeadlineExceeded -> timed_out,
 * other reasons (BackoffLimitExceeded, PodFailurePolicy) -> failed; suspended (Kueue has not
 * admitted it yet) -> queued; active pods -> running; else pending.
 */
export function jobVerdict(job: V1Job): Verdict {
  const name = job.metadata?.name ?? 'job';
  const conditions = (job.status?.conditions ?? []).filter((c) => c.status === 'True');
  const has = (...types: string[]) => conditions.find((c) => types.includes(c.type));
  const done = has('Complete', 'SuccessCriteriaMet');
  if (done)
    return {
      state: 'succeeded',
      reason: done.reason ?? done.type,
      message: `job ${name} completed`,
    };
  const fail = has('Failed', 'FailureTarget');
  if (fail) {
    const reason = fail.reason ?? 'Failed';
    const detail = fail.message ? `: ${fail.message}` : '';
    if (reason === 'DeadlineExceeded') {
      return {
        state: 'timed_out',
        reason,
        message: `job ${name} ran past its deadline${detail}; raise input "timeout"`,
      };
    }
    return { state: 'failed', reason, message: `job ${name} failed (${reason})${detail}` };
  }
  if (has('Suspended') || job.spec?.suspend) {
    const queue = job.metadata?.labels?.['kueue.x-k8s.io/queue-name'];
    return {
      state: 'queued',
      reason: 'Suspended',
      message: `job ${name} is queued${queue ? ` in ${queue}` : ''}, waiting for admission`,
    };
  }
  if ((job.status?.active ?? 0) > 0)
    return { state: 'running', reason: 'Active', message: `job ${name} is running` };
  return { state: 'pending', reason: 'Pending', message: `job ${name} has no running pod yet` };
}
