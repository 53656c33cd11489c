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
  type AccessCheck,
  type ExecRequest,
  type ExecResult,
  type KubeApi,
  type LogRequest,
  type Propagation,
  type WatchEventType,
} from './api.ts';
import { watchLoop } from './watch.ts';
import { execInPod, openLogStream } from './stream.ts';

/**
 * toKubeApiError maps a client-node `ApiException` (fields `code` and `body`,
 * the body a JSON `Status`) to a KubeApiError; anything else is wrapped with
 * status 0 (a network failure).
 */
export function toKubeApiError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: unknown };
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
    return new KubeApiError(e.code, reason, `${what}: ${message || reason || `HTTP ${e.code}`}`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  // fetch's "fetch failed" keeps the reason (TLS, DNS, refused) in its cause.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return new KubeApiError(0, 'NetworkError', `${what}: ${msg}${cause}`);
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKubeApiError(err, what);
  }
}

async function deleted(what: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    const e = toKubeApiError(err, what);
    if (e.status === 404) return false;
    throw e;
  }
}

/** ClientNodeKubeApi: KubeApi over a KubeConfig (in memory, with a refreshed token, or from a file). */
export class ClientNodeKubeApi implements KubeApi {
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  createJob(namespace: string, body: V1Job): Promise<V1Job> {
    return call(`create Job ${namespace}/${body.metadata?.name}`, () =>
      this.batch.createNamespacedJob({ namespace, body }),
    );
  }

  createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return call(`create Pod ${namespace}/${body.metadata?.name}`, () =>
      this.core.createNamespacedPod({ namespace, body }),
    );
  }

  createSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    return call(`create Secret ${namespace}/${body.metadata?.name}`, () =>
      this.core.createNamespacedSecret({ namespace, body }),
    );
  }

  async setSecretOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void> {
    await call(`set the owner of Secret ${namespace}/${name}`, () =>
      this.core.patchNamespacedSecret(
        { namespace, name, body: { metadata: { ownerReferences: [owner] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return call(`create ConfigMap ${namespace}/${body.metadata?.name}`, () =>
      this.core.createNamespacedConfigMap({ namespace, body }),
    );
  }

  async setConfigMapOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void> {
    await call(`set the owner of ConfigMap ${namespace}/${name}`, () =>
      this.core.patchNamespacedConfigMap(
        { namespace, name, body: { metadata: { ownerReferences: [owner] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  deleteConfigMap(namespace: string, name: string) {
    return deleted(`delete ConfigMap ${namespace}/${name}`, () =>
      this.core.deleteNamespacedConfigMap({ namespace, name }),
    );
  }

  async readJob(namespace: string, name: string): Promise<V1Job | undefined> {
    try {
      return await this.batch.readNamespacedJob({ namespace, name });
    } catch (err) {
      const e = toKubeApiError(err, `read Job ${namespace}/${name}`);
      if (e.status === 404) return undefined;
      throw e;
    }
  }

  async readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    try {
      return await this.core.readNamespacedPod({ namespace, name });
    } catch (err) {
      const e = toKubeApiError(err, `read Pod ${namespace}/${name}`);
      if (e.status === 404) return undefined;
      throw e;
    }
  }

  async readNode(name: string): Promise<V1Node | undefined> {
    try {
      return await this.core.readNode({ name });
    } catch (err) {
      const e = toKubeApiError(err, `read Node ${name}`);
      if (e.status === 404 || e.status === 403) return undefined;
      throw e;
    }
  }

  deleteJob(namespace: string, name: string, propagation: Propagation = 'Background') {
    return deleted(`delete Job ${namespace}/${name}`, () =>
      this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: propagation }),
    );
  }

  deletePod(namespace: string, name: string, gracePeriodSeconds?: number) {
    return deleted(`delete Pod ${namespace}/${name}`, () =>
      this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds }),
    );
  }

  deleteSecret(namespace: string, name: string) {
    return deleted(`delete Secret ${namespace}/${name}`, () =>
      this.core.deleteNamespacedSecret({ namespace, name }),
    );
  }

  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    const list = await call(`list Pods in ${namespace}`, () =>
      this.core.listNamespacedPod({ namespace, labelSelector }),
    );
    return list.items;
  }

  async listJobs(namespace: string, labelSelector: string): Promise<V1Job[]> {
    const list = await call(`list Jobs in ${namespace}`, () =>
      this.batch.listNamespacedJob({ namespace, labelSelector }),
    );
    return list.items;
  }

  async listEvents(namespace: string, involvedObjectName: string): Promise<CoreV1Event[]> {
    const list = await call(`list Events of ${namespace}/${involvedObjectName}`, () =>
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
        const l = await this.core.listNamespacedPod({ namespace, labelSelector });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
      },
      onEvent,
      signal,
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
        const l = await this.batch.listNamespacedJob({ namespace, labelSelector });
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
      },
      onEvent,
      signal,
    });
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
        const review = await call('SelfSubjectAccessReview', () =>
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
