/**
 * kube/client.ts: `HttpKubeApi`, the `KubeApi` over the core's own HTTP layer (kube/rest.ts):
 * plain calls are JSON requests to the API server's REST paths (Kubernetes API reference:
 * core/v1, batch/v1, authorization.k8s.io/v1), watches, logs and exec go through kube/watch.ts
 * and kube/stream.ts. `@kubernetes/client-node` is used for its types, and for a kubeconfig
 * file only (kube/kubeconfig-file.ts): a build's code does not load it (docs/benchmarks.md,
 * "Bundle").
 */
import type {
  CoreV1Event,
  V1OwnerReference,
  V1Job,
  V1Node,
  V1Pod,
  V1Secret,
  V1ConfigMap,
  V1SelfSubjectAccessReview,
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
import type { KubeConnection } from './connection.ts';
import { KubeRest, type Query, type RestRequest } from './rest.ts';
import {
  networkCode,
  retryAfterMs,
  retrying,
  type RetryEvent,
  type RetryPolicy,
} from '../base/retry.ts';
import type { Clock } from '../base/report.ts';
import type { Reachability } from './reachability.ts';

/** MERGE_PATCH: the content type of a JSON merge patch (RFC 7386). */
const MERGE_PATCH = 'application/merge-patch+json';

/** List: the part of a list answer the client reads. */
interface List<T> {
  metadata?: { resourceVersion?: string };
  items: T[];
}

/** ns: the path of a namespace in an API group (`/api/v1` or `/apis/batch/v1`), names encoded. */
function ns(group: string, namespace: string, resource: string, name?: string): string {
  const base = `${group}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

const CORE = '/api/v1';
const BATCH = '/apis/batch/v1';

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

/**
 * HttpKubeApi: KubeApi over a KubeConnection (a GKE cluster with a refreshed token, or a
 * kubeconfig file), one keep-alive connection pool per client.
 */
export class HttpKubeApi implements KubeApi {
  private readonly kc: KubeConnection;
  /** rest: the HTTP layer of this client (its connection pool). */
  readonly rest: KubeRest;
  readonly #o: KubeClientOptions;

  constructor(kc: KubeConnection, options: KubeClientOptions = {}) {
    this.kc = kc;
    this.rest = new KubeRest(kc);
    this.#o = options;
  }

  /**
   * json runs one REST call (kube/rest.ts) under the retry policy (call) and answers its JSON
   * body; `what` names it in messages and retry lines.
   */
  json<T>(what: string, req: RestRequest): Promise<T> {
    return this.call(what, () => this.rest.request<T>(what, req));
  }

  /** close closes the idle connections of this client's pool. */
  close(): void {
    this.rest.close();
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
    return this.json(`create Job ${namespace}/${body.metadata?.name}`, {
      method: 'POST',
      path: ns(BATCH, namespace, 'jobs'),
      body,
    });
  }

  createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return this.json(`create Pod ${namespace}/${body.metadata?.name}`, {
      method: 'POST',
      path: ns(CORE, namespace, 'pods'),
      body,
    });
  }

  createSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    return this.json(`create Secret ${namespace}/${body.metadata?.name}`, {
      method: 'POST',
      path: ns(CORE, namespace, 'secrets'),
      body,
    });
  }

  async setSecretOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void> {
    await this.json(`set the owner of Secret ${namespace}/${name}`, {
      method: 'PATCH',
      path: ns(CORE, namespace, 'secrets', name),
      body: { metadata: { ownerReferences: [owner] } },
      contentType: MERGE_PATCH,
    });
  }

  createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.json(`create ConfigMap ${namespace}/${body.metadata?.name}`, {
      method: 'POST',
      path: ns(CORE, namespace, 'configmaps'),
      body,
    });
  }

  async setConfigMapOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void> {
    await this.json(`set the owner of ConfigMap ${namespace}/${name}`, {
      method: 'PATCH',
      path: ns(CORE, namespace, 'configmaps', name),
      body: { metadata: { ownerReferences: [owner] } },
      contentType: MERGE_PATCH,
    });
  }

  deleteConfigMap(namespace: string, name: string) {
    return this.#delete(
      `delete ConfigMap ${namespace}/${name}`,
      ns(CORE, namespace, 'configmaps', name),
    );
  }

  readJob(namespace: string, name: string): Promise<V1Job | undefined> {
    return this.#read(`read Job ${namespace}/${name}`, ns(BATCH, namespace, 'jobs', name));
  }

  readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.#read(`read Pod ${namespace}/${name}`, ns(CORE, namespace, 'pods', name));
  }

  readNode(name: string): Promise<V1Node | undefined> {
    return this.#read(`read Node ${name}`, `${CORE}/nodes/${encodeURIComponent(name)}`, [403, 404]);
  }

  deleteJob(namespace: string, name: string, propagation: Propagation = 'Background') {
    return this.#delete(`delete Job ${namespace}/${name}`, ns(BATCH, namespace, 'jobs', name), {
      propagationPolicy: propagation,
    });
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number) {
    return this.#delete(`delete Pod ${namespace}/${name}`, ns(CORE, namespace, 'pods', name), {
      gracePeriodSeconds,
    });
  }

  deleteSecret(namespace: string, name: string) {
    return this.#delete(`delete Secret ${namespace}/${name}`, ns(CORE, namespace, 'secrets', name));
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (
      await this.#list<V1Pod>(`list Pods in ${namespace}`, ns(CORE, namespace, 'pods'), {
        labelSelector,
      })
    ).items;
  }

  async listJobs(namespace: string, labelSelector: string): Promise<V1Job[]> {
    return (
      await this.#list<V1Job>(`list Jobs in ${namespace}`, ns(BATCH, namespace, 'jobs'), {
        labelSelector,
      })
    ).items;
  }

  async listEvents(namespace: string, involvedObjectName: string): Promise<CoreV1Event[]> {
    const list = await this.#list<CoreV1Event>(
      `list Events of ${namespace}/${involvedObjectName}`,
      ns(CORE, namespace, 'events'),
      { fieldSelector: `involvedObject.name=${involvedObjectName}` },
    );
    const time = (e: CoreV1Event) =>
      new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();
    return list.items.sort((a, b) => time(a) - time(b));
  }

  /** #read: a GET of one object, undefined for the `missing` statuses (404: gone). */
  #read<T>(what: string, path: string, missing: readonly number[] = [404]): Promise<T | undefined> {
    return this.orMissing(what, () => this.rest.request<T>(what, { method: 'GET', path }), missing);
  }

  /** #delete: a DELETE with its query options; true when deleted, false when already gone (404). */
  #delete(what: string, path: string, query?: Query): Promise<boolean> {
    return this.deleted(what, () =>
      this.rest.request(what, { method: 'DELETE', path, ...(query ? { query } : {}) }),
    );
  }

  /** #list: a list call; items is always an array (the API server sends `null` for none). */
  async #list<T>(what: string, path: string, query: Query): Promise<List<T>> {
    const l = await this.json<List<T> | undefined>(what, { method: 'GET', path, query });
    return { ...l, items: l?.items ?? [] };
  }

  watchPods(
    namespace: string,
    labelSelector: string,
    onEvent: (type: WatchEventType, pod: V1Pod) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path = ns(CORE, namespace, 'pods');
    return watchLoop<V1Pod>(this.rest, {
      path,
      labelSelector,
      list: async () => {
        const l = await this.#list<V1Pod>(`list Pods in ${namespace}`, path, { labelSelector });
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
    const path = ns(BATCH, namespace, 'jobs');
    return watchLoop<V1Job>(this.rest, {
      path,
      labelSelector,
      list: async () => {
        const l = await this.#list<V1Job>(`list Jobs in ${namespace}`, path, { labelSelector });
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
    return openLogStream(this.rest, req, signal);
  }

  exec(req: ExecRequest): Promise<ExecResult> {
    return execInPod(this.kc, req);
  }

  async canI(checks: AccessCheck[]): Promise<AccessCheck[]> {
    const allowed = await Promise.all(
      checks.map(async (c) => {
        const review = await this.json<V1SelfSubjectAccessReview>('SelfSubjectAccessReview', {
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                verb: c.verb,
                group: c.group,
                resource: c.resource,
                ...(c.subresource !== undefined ? { subresource: c.subresource } : {}),
                namespace: c.namespace,
              },
            },
          },
        });
        return review?.status?.allowed === true;
      }),
    );
    return checks.filter((_, i) => !allowed[i]);
  }
}
