// fanout.ts: many Job calls at once, gently: bounded concurrency (p-limit), the one retry policy
// of the project (src/core/base/retry.ts: capped exponential backoff with full jitter, Retry-After
// honoured) on 429, 5xx and network errors, and one failure never stops the others: every item
// gets its own outcome (docs/design.md, "The dispatcher",
// "Fan-out respects the API server").
import type { V1Job } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { KubeApiError, kubeTransient } from '../../src/core/kube/api.ts';
import { retrying, type RetryPolicy } from '../../src/core/base/retry.ts';
import { LABEL } from '../../src/core/inputs/names.ts';
import type { JobPatch, JobsApi } from './kube.ts';
import { DISPATCH_ANNOTATION } from '../../src/core/dispatch/protocol.ts';
import type { Action } from './reconcile.ts';

/** FanoutOptions: parallel calls and the retry policy of each call (ms). */
export interface FanoutOptions {
  concurrency: number;
  policy: Partial<RetryPolicy>;
  /** onRetry hears about each failed attempt that will be retried (attempt: the failed one, from 1). */
  onRetry?: (what: string, error: Error, attempt: number) => void;
}

/**
 * DEFAULT_FANOUT: 16 calls at a time; each call retried for up to 60 s, waits from up to 250 ms
 * doubling to at most 4 s. 16 and 32 created 1,000 Jobs faster than 8 on the lab with no 429
 * (docs/benchmarks.md, Fan-out); 16 stays gentle with a small control plane, and 429s are
 * retried anyway (their Retry-After honoured).
 */
export const DEFAULT_FANOUT: FanoutOptions = {
  concurrency: 16,
  policy: { budgetMs: 60_000, baseMs: 250, capMs: 4000 },
};

/** Outcome of one item: its value, or the error after the last retry. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * isRetryable: 429 Too Many Requests, any 5xx, and network failures (status 0) are worth another
 * try (Kubernetes API concepts: "Retry-After" and priority and fairness); other refusals are not.
 */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof KubeApiError)) return false;
  return err.status === 0 || kubeTransient(err) !== undefined;
}

/** fanOut runs fn over items with the limits and retries of o, and answers one outcome per item, in order. */
export async function fanOut<I, T>(
  items: readonly I[],
  what: (item: I) => string,
  fn: (item: I) => Promise<T>,
  o: FanoutOptions,
): Promise<Outcome<T>[]> {
  const limit = pLimit(o.concurrency);
  return limit.map(items, async (item): Promise<Outcome<T>> => {
    try {
      const value = await retrying(what(item), () => fn(item), {
        who: 'API server',
        classify: (err) =>
          kubeTransient(err) ??
          (err instanceof KubeApiError && err.status === 0 ? { code: 'network error' } : undefined),
        policy: o.policy,
        onRetry: (e) =>
          o.onRetry?.(
            e.what,
            e.error instanceof Error ? e.error : new Error(String(e.error)),
            e.attempt - 1,
          ),
      });
      return { ok: true, value };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
  });
}

/** failures keys the failed outcomes by key(item): the error message of each. */
function failures<I>(
  items: readonly I[],
  outcomes: readonly Outcome<unknown>[],
  key: (item: I) => string,
): Map<string, string> {
  const failed = new Map<string, string>();
  outcomes.forEach((out, i) => {
    if (!out.ok) failed.set(key(items[i]!), out.error.message);
  });
  return failed;
}

/**
 * createJobs creates each Job; a 409 (it exists already, e.g. created by a concurrent request)
 * counts as created. Answers the Jobs that could not be created, by name, with the error message.
 */
export async function createJobs(
  api: JobsApi,
  namespace: string,
  jobs: readonly V1Job[],
  o: FanoutOptions,
): Promise<Map<string, string>> {
  const name = (j: V1Job) => j.metadata?.name ?? '';
  const outcomes = await fanOut(
    jobs,
    (j) => `create Job ${name(j)}`,
    async (j) => {
      try {
        return await api.createJob(namespace, j);
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 409) return j;
        throw err;
      }
    },
    o,
  );
  return failures(jobs, outcomes, name);
}

/**
 * patchFor is the JSON merge patch of an action. release without a queue: `suspend: false` (the
 * Job controller starts the pod); release with a queue: the `kueue.x-k8s.io/queue-name` label
 * (Kueue admits and unsuspends it; kbuild never unsuspends a queued Job); skip: the reason, the
 * Job stays suspended. Both drop the gate annotation.
 */
export function patchFor(action: Action): JobPatch {
  const annotations: Record<string, string | null> = { [DISPATCH_ANNOTATION.gate]: null };
  if (action.type === 'skip') {
    return {
      metadata: { annotations: { ...annotations, [DISPATCH_ANNOTATION.skipped]: action.reason } },
    };
  }
  if (action.queue !== undefined) {
    return { metadata: { labels: { [LABEL.kueueQueue]: action.queue }, annotations } };
  }
  return { metadata: { annotations }, spec: { suspend: false } };
}

/** applyActions patches each Job; answers the failures by Job name (a later request retries them). */
export async function applyActions(
  api: JobsApi,
  namespace: string,
  actions: readonly Action[],
  o: FanoutOptions,
): Promise<Map<string, string>> {
  const outcomes = await fanOut(
    actions,
    (a) => `${a.type} Job ${a.jobName}`,
    (a) => api.patchJob(namespace, a.jobName, patchFor(a)),
    o,
  );
  return failures(actions, outcomes, (a) => a.jobName);
}

/** deleteJobs deletes each Job with propagation Background (the garbage collector removes the pods); answers the failures. */
export async function deleteJobs(
  api: JobsApi,
  namespace: string,
  names: readonly string[],
  o: FanoutOptions,
): Promise<Map<string, string>> {
  const outcomes = await fanOut(
    names,
    (n) => `delete Job ${n}`,
    (n) => api.deleteJob(namespace, n, 'Background'),
    o,
  );
  return failures(names, outcomes, (n) => n);
}
