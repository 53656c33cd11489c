/**
 * build/watch.ts: the live state of one build, kept by watches (not polling)
 * on its Pods and its Job, and a way to wait until that state says something.
 */
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import type { KubeApi } from '../kube/api.ts';
import type { Clock } from '../base/report.ts';
import { FATAL_WAITING_REASONS } from './verdict.ts';

/** BuildState: the newest objects of a build, as the watches saw them. */
export interface BuildObjects {
  job?: V1Job;
  /** The newest pod of the build (a Job may replace a preempted one). */
  pod?: V1Pod;
  /** Every pod seen, by name, deleted ones removed. */
  pods: Map<string, V1Pod>;
  /** True once the build's pod was deleted (by the Job controller, a deadline, or a person). */
  podDeleted: boolean;
}

/** containerStatus finds a container's status in a pod (init containers included). */
export function containerStatus(
  pod: V1Pod | undefined,
  name: string,
): V1ContainerStatus | undefined {
  const s = pod?.status;
  return [...(s?.initContainerStatuses ?? []), ...(s?.containerStatuses ?? [])].find(
    (c) => c.name === name,
  );
}

/**
 * sidecarEnd is a BuildWatcher.until predicate for a container that runs after the build (the
 * uploader, the cache's save): its terminated state once it ended, or why it never will (its
 * image cannot be pulled, the pod ended or was deleted) as a string; undefined meanwhile.
 */
export function sidecarEnd(
  container: string,
): (s: BuildObjects) => NonNullable<V1ContainerStatus['state']>['terminated'] | string | undefined {
  return (s) => {
    const c = containerStatus(s.pod, container);
    if (c?.state?.terminated) return c.state.terminated;
    const waiting = c?.state?.waiting?.reason;
    if (waiting && FATAL_WAITING_REASONS.has(waiting)) return `it is ${waiting}`;
    const phase = s.pod?.status?.phase;
    if (s.podDeleted || phase === 'Succeeded' || phase === 'Failed')
      return `the pod ended (${phase ?? 'deleted'})`;
    return undefined;
  };
}

function created(p: V1Pod): number {
  return new Date(p.metadata?.creationTimestamp ?? 0).getTime();
}

/**
 * BuildWatcher watches the pods and (kind job) the Job of one build by label
 * selector until stop(). `until(fn)` resolves with fn's first non-undefined
 * answer, evaluated after every change and every `tickMs` (for timeouts).
 */
export class BuildWatcher {
  readonly state: BuildObjects = { pods: new Map(), podDeleted: false };
  private readonly stopper = new AbortController();
  private readonly listeners = new Set<() => void>();
  /** Each pending until's way to end when the watcher stops (no timer outlives the build). */
  private readonly stops = new Set<() => void>();
  private readonly clock: Clock;
  private readonly tickMs: number;
  /** The first error of a watch that could not continue (e.g. 403 on list). */
  failure: Error | undefined;

  constructor(
    kube: KubeApi,
    namespace: string,
    selector: string,
    opts: { clock: Clock; watchJob: boolean; tickMs?: number },
  ) {
    this.clock = opts.clock;
    this.tickMs = opts.tickMs ?? 1000;
    const fail = (err: Error) => {
      this.failure ??= err;
      this.changed();
    };
    kube
      .watchPods(namespace, selector, (type, pod) => this.onPod(type, pod), this.stopper.signal)
      .catch(fail);
    if (opts.watchJob) {
      kube
        .watchJobs(
          namespace,
          selector,
          (type, job) => {
            this.state.job = type === 'DELETED' ? undefined : job;
            this.changed();
          },
          this.stopper.signal,
        )
        .catch(fail);
    }
  }

  private onPod(type: string, pod: V1Pod): void {
    const name = pod.metadata?.name ?? '';
    if (type === 'DELETED') {
      this.state.pods.delete(name);
      if (this.state.pod?.metadata?.name === name) this.state.podDeleted = true;
    } else {
      this.state.pods.set(name, pod);
      const newest = [...this.state.pods.values()].sort((a, b) => created(b) - created(a))[0];
      if (newest && newest.metadata?.name !== this.state.pod?.metadata?.name)
        this.state.podDeleted = false;
      this.state.pod = newest;
    }
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /**
   * until resolves with the first non-undefined answer of fn. It rejects when
   * `signal` aborts (with signal.reason), a watch failed for good, or the
   * watcher is stopped.
   */
  until<T>(fn: (s: BuildObjects) => T | undefined, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setInterval(() => check(), this.tickMs);
      const cleanup = () => {
        this.listeners.delete(check);
        this.stops.delete(onStop);
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const onStop = () => {
        cleanup();
        reject(new Error('the build watcher stopped'));
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const check = () => {
        if (this.failure) {
          cleanup();
          reject(this.failure);
          return;
        }
        let v: T | undefined;
        try {
          v = fn(this.state);
        } catch (err) {
          cleanup();
          reject(err as Error);
          return;
        }
        if (v !== undefined) {
          cleanup();
          resolve(v);
        }
      };
      if (signal.aborted) return onAbort();
      if (this.stopper.signal.aborted) return onStop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.stops.add(onStop);
      this.listeners.add(check);
      check();
    });
  }

  /** now is the clock's time, for predicates that measure waits. */
  now(): number {
    return this.clock.now();
  }

  /** stop ends the watches and rejects every pending until (its timer stops with it). */
  stop(): void {
    this.stopper.abort();
    this.listeners.clear();
    for (const s of [...this.stops]) s();
  }
}
