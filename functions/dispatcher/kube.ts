// kube.ts: the few Job calls the dispatcher makes, behind a small interface (JobsApi) with its
// implementation over the core's Kubernetes client (src/core/kube/client.ts) beside it. Errors
// are the core's KubeApiError.
import type { V1ConfigMap, V1Job, V1OwnerReference } from '@kubernetes/client-node';
import type { Propagation } from '../../src/core/kube/api.ts';
import { HttpKubeApi } from '../../src/core/kube/client.ts';
import type { KubeConnection } from '../../src/core/kube/connection.ts';

/** JobPatch is a JSON merge patch (RFC 7386) of a Job: `null` removes a key. */
export interface JobPatch {
  metadata?: {
    labels?: Record<string, string | null>;
    annotations?: Record<string, string | null>;
  };
  spec?: { suspend?: boolean };
}

/**
 * JobsApi: create, list, patch and delete Jobs (batch/v1), and the ConfigMaps that carry the pod
 * program of `upload: cluster` builds (created before their Job, then owned by it). Every method
 * throws KubeApiError with the HTTP status on failure (0 for a network error), except the
 * deletes, which answer false when the object was already gone.
 */
export interface JobsApi {
  createJob(namespace: string, job: V1Job): Promise<V1Job>;
  listJobs(namespace: string, labelSelector: string): Promise<V1Job[]>;
  patchJob(namespace: string, name: string, patch: JobPatch): Promise<V1Job>;
  deleteJob(namespace: string, name: string, propagation?: Propagation): Promise<boolean>;
  createConfigMap(namespace: string, configMap: V1ConfigMap): Promise<V1ConfigMap>;
  setConfigMapOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void>;
  deleteConfigMap(namespace: string, name: string): Promise<boolean>;
}

/** KubeJobsApi is the JobsApi over a KubeConnection (GKE with a refreshed token, or a file). */
export class KubeJobsApi implements JobsApi {
  readonly #kube: HttpKubeApi;

  constructor(kc: KubeConnection) {
    // fanout.ts retries each call under the one policy: the client itself does not (no retries of retries).
    this.#kube = new HttpKubeApi(kc, { policy: { attempts: 1 } });
  }

  createJob(namespace: string, job: V1Job): Promise<V1Job> {
    return this.#kube.createJob(namespace, job);
  }

  listJobs(namespace: string, labelSelector: string): Promise<V1Job[]> {
    return this.#kube.listJobs(namespace, labelSelector);
  }

  patchJob(namespace: string, name: string, patch: JobPatch): Promise<V1Job> {
    return this.#kube.json(`patch Job ${namespace}/${name}`, {
      method: 'PATCH',
      path: `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${encodeURIComponent(name)}`,
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  deleteJob(
    namespace: string,
    name: string,
    propagation: Propagation = 'Background',
  ): Promise<boolean> {
    return this.#kube.deleteJob(namespace, name, propagation);
  }

  createConfigMap(namespace: string, configMap: V1ConfigMap): Promise<V1ConfigMap> {
    return this.#kube.createConfigMap(namespace, configMap);
  }

  setConfigMapOwner(namespace: string, name: string, owner: V1OwnerReference): Promise<void> {
    return this.#kube.setConfigMapOwner(namespace, name, owner);
  }

  deleteConfigMap(namespace: string, name: string): Promise<boolean> {
    return this.#kube.deleteConfigMap(namespace, name);
  }
}
