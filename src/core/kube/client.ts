/**
 * kube/client.ts: `ClientNodeKubeApi`, the `KubeApi` over `@kubernetes/client-node` 2.x.
 * Plain calls go through the generated clients; watches, logs and exec go
 * through kube/watch.ts and kube/stream.ts, which work around the library's
 * known hazards (docs/design.md, "Known hazards of the dependencies").
 */
import {
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1OwnerReference,
  type KubeConfig,
  type V1Job,
  type V1Node,
  type V1Pod,
  type V1Secret,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import type { Readable } from 'node:stream';
import {
  KubeApiError,
  kubeTransient,
  type AccessCheck,
  type ExecRequest,
  type ExecResult,
  type KubeApi,
  type LogRequest,
  type Propagation,
  type WatchEventType,
} from './api.ts';
import { watchLoop, type WatchLoopOptions } from './watch.ts';
import { execInPod, openLogStream } from './stream.ts';
import {
  networkCode,
  retryAfterMs,
  retrying,
  type RetryEvent,
  type RetryPolicy,
} from '../base/retry.ts';
import type { Clock } from '../base/report.ts';
import type { Reachability } from './reachability.ts';

/** headerOf reads a header from client-node's ApiException headers (a plain object, any case). */
function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>))
    if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : String(v);
  return undefined;
}

/**
 * toKubeApiError maps a client-node `ApiException` (fields `code`, `body` and `headers`, the body
 * a JSON `Status`) to a KubeApiError with the server's Retry-After; anything else is wrapped with
 * status 0 (a network failure) and its transient code, if any.
 */
export function toKubeApiError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: unknown; headers?: unknown };
  if (typeof e?.code === 'number') {
    let reason = '';
    let message: string;
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      reason = String(body?.reason ?? '');
      message = String(body?.message ?? '');
    } catch {
      message = String(e.body ?? '');
    }
    const out = new KubeApiError(
      e.code,
      reason,
      `${what}: ${message || reason || `HTTP ${e.code}`}`,
    );
    const after = retryAfterMs(headerOf(e.headers, 'retry-after'), Date.now());
    if (after !== undefined) out.retryAfterMs = after;
    return out;
  }
  const msg = err instanceof Error ? err.message : String(err);
  // fetch's "fetch failed" keeps the reason (TLS, DNS, refused) in its cause.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const out = new KubeApiError(0, 'NetworkError', `${what}: ${msg}${cause}`);
  const code = networkCode(err);
  if (code) out.code = code;
  return out;
}

/** KubeClientOptions: the retry policy of plain calls and where retries and outages are told. */
export interface KubeClientOptions {
  /** Retry policy of each plain call (default base/retry.ts DEFAULT_RETRY_POLICY); `attempts: 1` disables retries. */
  policy?: Partial<RetryPolicy>;
  /** Hears every retry (its `line` is the one line a user sees). */
  onRetry?: (event: RetryEvent) => void;
  /** Told about every answer and failed connection; while it rides an outage, calls wait for it. */
  reachability?: Reachability;
  clock?: Clock;
  random?: () => number;
}

/** ClientNodeKubeApi: KubeApi over a KubeConfig (in memory, with a refreshed token, or from a file). */
export class ClientNodeKubeApi implements KubeApi {
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;
  readonly #o: KubeClientOptions;

  constructor(kc: KubeConfig, options: KubeClientOptions = {}) {
    this.kc = kc;
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.#o = options;
  }

  /**
   * call runs one plain API call under the retry policy (errors mapped by toKubeApiError): every call of this class goes through
   * here, so every one is retried the same way (kubeTransient) and tells `reachability` whether
   * the server answered. While an outage is being ridden out, a call waits for the server up to
   * the outage budget instead of the policy's budget.
   */
  call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.retrying(what, async () => {
      try {
        return await fn();
      } catch (err) {
        throw toKubeApiError(err, what);
      }
    });
  }

  /** retrying: KubeApi.retrying; call without the error mapping (fn throws KubeApiError itself). */
  retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const reach = this.#o.reachability;
    const policy = { ...this.#o.policy };
    if (reach && reach.budgetMs > 0)
      policy.budgetMs = Math.max(policy.budgetMs ?? 120_000, reach.budgetMs);
    return retrying(
      what,
      async () => {
        try {
          const value = await fn();
          reach?.reached();
          return value;
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 0 && err.code)
            reach?.unreachable(err.message);
          else if (err instanceof KubeApiError && err.status > 0) reach?.reached();
          throw err;
        }
      },
      {
        who: 'API server',
        classify: kubeTransient,
        policy,
        ...(this.#o.onRetry ? { onRetry: this.#o.onRetry } : {}),
        ...(reach ? { signal: reach.signal } : {}),
        ...(this.#o.clock ? { clock: this.#o.clock } : {}),
        ...(this.#o.random ? { random: this.#o.random } : {}),
      },
    );
  }

  /** orMissing runs call and answers undefined for the listed statuses (404: gone). */
  async orMissing<T>(
    what: string,
    fn: () => Promise<T>,
    missing: readonly number[] = [404],
  ): Promise<T | undefined> {
    try {
      return await this.call(what, fn);
    } catch (err) {
      if (err instanceof KubeApiError && missing.includes(err.status)) return undefined;
      throw err;
    }
  }

  /** deleted runs a delete through call: true when it deleted, false when the object was gone (404). */
  async deleted(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    return (await this.orMissing(what, async () => (await fn(), true))) ?? false;
  }

  createJob(namespace: string, body: V1Job): Promise<V1Job> {
    return this.call(`create Job ${namespace}/${body.metadata?.name}`, () =>
      this.batch.createNamespacedJob({ namespace, body }),
    );
  }

  createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return this.call(`create Pod ${namespace}/${body.metadata?.name}`, () =>
      this.core.createNamespacedPod({ namespace, body }),
    );
  }

  createSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    return this.call(`create Secret ${namespace}/${body.metadata?.name}`, () =>
      this.core.createNamespacedSecret({ namespace, body }),
    );
  }

  async setSecretOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void> {
    await this.call(`set the owner of Secret ${namespace}/${name}`, () =>
      this.core.patchNamespacedSecret(
        { namespace, name, body: { metadata: { ownerReferences: [owner] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.call(`create ConfigMap ${namespace}/${body.metadata?.name}`, () =>
      this.core.createNamespacedConfigMap({ namespace, body }),
    );
  }

  async setConfigMapOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void> {
    await this.call(`set the owner of ConfigMap ${namespace}/${name}`, () =>
      this.core.patchNamespacedConfigMap(
        { namespace, name, body: { metadata: { ownerReferences: [owner] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  deleteConfigMap(namespace: string, name: string) {
    return this.deleted(`delete ConfigMap ${namespace}/${name}`, () =>
      this.core.deleteNamespacedConfigMap({ namespace, name }),
    );
  }

  readJob(namespace: string, name: string): Promise<V1Job | undefined> {
    return this.orMissing(`read Job ${namespace}/${name}`, () =>
      this.batch.readNamespacedJob({ namespace, name }),
    );
  }

  readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.orMissing(`read Pod ${namespace}/${name}`, () =>
      this.core.readNamespacedPod({ namespace, name }),
    );
  }

  readNode(name: string): Promise<V1Node | undefined> {
    return this.orMissing(`read Node ${name}`, () => this.core.readNode({ name }), [403, 404]);
  }

  deleteJob(namespace: string, name: string, propagation: Propagation = 'Background') {
    return this.deleted(`delete Job ${namespace}/${name}`, () =>
      this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: propagation }),
    );
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number) {
    return this.deleted(`delete Pod ${namespace}/${name}`, () =>
      this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds }),
    );
  }

  deleteSecret(namespace: string, name: string) {
    return this.deleted(`delete Secret ${namespace}/${name}`, () =>
      this.core.deleteNamespacedSecret({ namespace, name }),
    );
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    const list = await this.call(`list Pods in ${namespace}`, () =>
      this.core.listNamespacedPod({ namespace, labelSelector }),
    );
    return list.items;
  }

  async listJobs(namespace: string, labelSelector: string): Promise<V1Job[]> {
    const list = await this.call(`list Jobs in ${namespace}`, () =>
      this.batch.listNamespacedJob({ namespace, labelSelector }),
    );
    return list.items;
  }

  async listEvents(namespace: string, involvedObjectName: string): Promise<CoreV1Event[]> {
    const list = await this.call(`list Events of ${namespace}/${involvedObjectName}`, () =>
      this.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${involvedObjectName}`,
      }),
    );
    const time = (e: CoreV1Event) =>
      new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();
    return list.items.sort((a, b) => time(a) - time(b));
  }

  watchPods(
    namespace: string,
    labelSelector: string,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return watchLoop<V1Pod>(this.kc, {
      path: `/api/v1/namespaces/${namespace}/pods`,
      labelSelector,
      list: async () => {
        const l = await this.call(`list Pods in ${namespace}`, () =>
          this.core.listNamespacedPod({ namespace, labelSelector }),
        );
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
      },
      onEvent,
      signal,
      ...this.#watchHooks(),
    });
  }

  watchJobs(
    namespace: string,
    labelSelector: string,
    onEvent: (type: WatchEventType, job: V1Job) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return watchLoop<V1Job>(this.kc, {
      path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
      labelSelector,
      list: async () => {
        const l = await this.call(`list Jobs in ${namespace}`, () =>
          this.batch.listNamespacedJob({ namespace, labelSelector }),
        );
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
      },
      onEvent,
      signal,
      ...this.#watchHooks(),
    });
  }

  /** #watchHooks: a watch's events and failures tell reachability whether the server answers. */
  #watchHooks(): Partial<Pick<WatchLoopOptions<never>, 'onAnswer' | 'onRetry'>> {
    const reach = this.#o.reachability;
    if (!reach) return {};
    return {
      onAnswer: () => reach.reached(),
      onRetry: (err) => {
        const code = networkCode(err);
        if (code) reach.unreachable(`watch: ${err instanceof Error ? err.message : String(err)}`);
      },
    };
  }

  openLog(req: LogRequest, signal: AbortSignal): Promise<Readable> {
    return openLogStream(this.kc, req, signal);
  }

  exec(req: ExecRequest): Promise<ExecResult> {
    return execInPod(this.kc, req);
  }

  async canI(checks: AccessCheck[]): Promise<AccessCheck[]> {
    const authz = this.kc.makeApiClient(AuthorizationV1Api);
    const allowed = await Promise.all(
      checks.map(async (c) => {
        const review = await this.call('SelfSubjectAccessReview', () =>
          authz.createSelfSubjectAccessReview({
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: {
                resourceAttributes: {
                  verb: c.verb,
                  group: c.group,
                  resource: c.resource,
                  subresource: c.subresource,
                  namespace: c.namespace,
                },
              },
            },
          }),
        );
        return review.status?.allowed === true;
      }),
    );
    return checks.filter((_, i) => !allowed[i]);
  }
}
