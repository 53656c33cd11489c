// fanout.ts: many Job calls at once, gently: bounded concurrency (p-limit), the one retry policy
// of the project (src/core/base/retry.ts: capped exponential backoff with full jitter, Retry-After
// honoured) on 429, 5xx and network errors, and one failure never stops the others: every item
// gets its own outcome (docs/design.md, "The dispatcher",
// "Fan-out respects the API server").
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { KubeApiError, kubeTransient } from '../../src/core/kube/api.ts';
import { retrying, type RetryPolicy } from '../../src/core/base/retry.ts';
import { LABEL } from '../../src/core/inputs/names.ts';
import { withOwner } from '../../src/core/manifest/manifest.ts';
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

const conflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;

/**
 * createWithProgram creates a Job whose pod needs the pod program's ConfigMap (`upload:
 * cluster`): the ConfigMap first (so the pod never starts without it; 409: it exists), then the
 * Job, then the Job becomes the ConfigMap's owner, so the garbage collector removes it with the
 * Job. A Job that exists already (409: another instance, or an earlier attempt whose answer was
 * lost) is read back by its build-id label to own it; a Job that cannot be created takes its
 * ConfigMap with it. As src/core/build/create.ts does for mode build.
 */
async function createWithProgram(
  api: JobsApi,
  namespace: string,
  job: V1Job,
  configMap: V1ConfigMap,
): Promise<V1Job> {
  const name = job.metadata?.name ?? '';
  await api.createConfigMap(namespace, configMap).catch((err: unknown) => {
    if (!conflict(err)) throw err;
  });
  let owner: V1Job | undefined;
  try {
    owner = await api.createJob(namespace, job);
  } catch (err) {
    if (!conflict(err)) {
      await api.deleteConfigMap(namespace, name).catch(() => false);
      throw err;
    }
    const buildId = job.metadata?.labels?.[LABEL.buildId] ?? '';
    owner = (await api.listJobs(namespace, `${LABEL.buildId}=${buildId}`)).find(
      (j) => j.metadata?.name === name,
    );
    if (!owner) return job;
  }
  const ref = withOwner(configMap, { ...owner, apiVersion: 'batch/v1', kind: 'Job' }).metadata!
    .ownerReferences![0]!;
  await api.setConfigMapOwner(namespace, name, ref);
  return owner;
}

/**
 * createJobs creates each Job, with its pod program ConfigMap when `configMaps` has one under
 * the Job's name (createWithProgram); a 409 (it exists already, e.g. created by a concurrent
 * request) counts as created. Answers the Jobs that could not be created, by name, with the
 * error message.
 */
export async function createJobs(
  api: JobsApi,
  namespace: string,
  jobs: readonly V1Job[],
  o: FanoutOptions,
  configMaps: ReadonlyMap<string, V1ConfigMap> = new Map(),
): Promise<Map<string, string>> {
  const name = (j: V1Job) => j.metadata?.name ?? '';
  const outcomes = await fanOut(
    jobs,
    (j) => `create Job ${name(j)}`,
    async (j) => {
      const configMap = configMaps.get(name(j));
      if (configMap) return createWithProgram(api, namespace, j, configMap);
      try {
        return await api.createJob(namespace, j);
      } catch (err) {
        if (conflict(err)) return j;
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
