// kube.ts: the few Job calls the dispatcher makes, behind a small interface (JobsApi) with its
// implementation over @kubernetes/client-node beside it. Errors are the core's KubeApiError.
import {
  BatchV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1Job,
  type V1OwnerReference,
} from '@kubernetes/client-node';
import type { Propagation } from '../../src/core/kube/api.ts';
import { ClientNodeKubeApi } from '../../src/core/kube/client.ts';

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

/** ClientNodeJobsApi is the JobsApi over a KubeConfig (GKE with a refreshed token, or a file). */
export class ClientNodeJobsApi implements JobsApi {
  readonly #kube: ClientNodeKubeApi;
  readonly #batch: BatchV1Api;

  constructor(kc: KubeConfig) {
    // fanout.ts retries each call under the one policy: the client itself does not (no retries of retries).
    this.#kube = new ClientNodeKubeApi(kc, { policy: { attempts: 1 } });
    this.#batch = kc.makeApiClient(BatchV1Api);
  }

  createJob(namespace: string, job: V1Job): Promise<V1Job> {
    return this.#kube.createJob(namespace, job);
  }

  listJobs(namespace: string, labelSelector: string): Promise<V1Job[]> {
    return this.#kube.listJobs(namespace, labelSelector);
  }

  patchJob(namespace: string, name: string, patch: JobPatch): Promise<V1Job> {
    return this.#kube.call(`patch Job ${namespace}/${name}`, () =>
      this.#batch.patchNamespacedJob(
        { namespace, name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
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
