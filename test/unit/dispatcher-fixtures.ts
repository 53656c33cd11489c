// dispatcher-fixtures.ts: an in-memory JobsApi for the dispatcher's unit tests: label selectors
// of `k=v` terms, JSON merge patches, 409 on a second create, injectable failures.
import type { V1ConfigMap, V1Job, V1OwnerReference } from '@kubernetes/client-node';
import { KubeApiError } from '../../src/core/kube/api.ts';
import type { JobPatch, JobsApi } from '../../functions/dispatcher/kube.ts';

/** FakeJobs keeps Jobs by name; `fail(call, name)` may answer an error to throw for a call. */
export class FakeJobs implements JobsApi {
  readonly jobs = new Map<string, V1Job>();
  readonly configMaps = new Map<string, V1ConfigMap>();
  readonly calls: string[] = [];
  fail: (call: string, name: string) => KubeApiError | undefined = () => undefined;

  #check(call: string, name: string): void {
    this.calls.push(`${call} ${name}`);
    const err = this.fail(call, name);
    if (err) throw err;
  }

  async createJob(_ns: string, job: V1Job): Promise<V1Job> {
    const name = job.metadata?.name ?? '';
    this.#check('create', name);
    if (this.jobs.has(name))
      throw new KubeApiError(409, 'AlreadyExists', `jobs.batch "${name}" already exists`);
    const created: V1Job = structuredClone({
      ...job,
      metadata: { ...job.metadata, uid: `uid-${name}`, creationTimestamp: new Date() },
    });
    this.jobs.set(name, created);
    return created;
  }

  async listJobs(_ns: string, selector: string): Promise<V1Job[]> {
    this.#check('list', selector);
    const terms = selector.split(',').map((t) => t.split('='));
    return [...this.jobs.values()]
      .filter((j) => terms.every(([k, v]) => j.metadata?.labels?.[k ?? ''] === v))
      .map((j) => structuredClone(j));
  }

  async patchJob(_ns: string, name: string, patch: JobPatch): Promise<V1Job> {
    this.#check('patch', name);
    const job = this.jobs.get(name);
    if (!job) throw new KubeApiError(404, 'NotFound', `jobs.batch "${name}" not found`);
    const merge = (into: Record<string, string>, p: Record<string, string | null> = {}) => {
      for (const [k, v] of Object.entries(p)) {
        if (v === null) delete into[k];
        else into[k] = v;
      }
      return into;
    };
    job.metadata!.labels = merge(job.metadata?.labels ?? {}, patch.metadata?.labels);
    job.metadata!.annotations = merge(job.metadata?.annotations ?? {}, patch.metadata?.annotations);
    if (patch.spec?.suspend !== undefined) job.spec!.suspend = patch.spec.suspend;
    return structuredClone(job);
  }

  async deleteJob(_ns: string, name: string): Promise<boolean> {
    this.#check('delete', name);
    return this.jobs.delete(name);
  }

  async createConfigMap(_ns: string, cm: V1ConfigMap): Promise<V1ConfigMap> {
    const name = cm.metadata?.name ?? '';
    this.#check('create-configmap', name);
    if (this.configMaps.has(name))
      throw new KubeApiError(409, 'AlreadyExists', `configmaps "${name}" already exists`);
    this.configMaps.set(name, structuredClone(cm));
    return cm;
  }

  async setConfigMapOwner(_ns: string, name: string, owner: V1OwnerReference): Promise<void> {
    this.#check('own-configmap', name);
    const cm = this.configMaps.get(name);
    if (!cm) throw new KubeApiError(404, 'NotFound', `configmaps "${name}" not found`);
    cm.metadata = { ...cm.metadata, ownerReferences: [owner] };
  }

  async deleteConfigMap(_ns: string, name: string): Promise<boolean> {
    this.#check('delete-configmap', name);
    return this.configMaps.delete(name);
  }

  /** finish sets a Job's condition (Complete or Failed), as the Job controller would. */
  finish(
    name: string,
    type: 'Complete' | 'Failed',
    reason = type === 'Complete' ? 'CompletionsReached' : 'BackoffLimitExceeded',
  ): void {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no Job ${name}`);
    job.status = {
      conditions: [
        { type, status: 'True', reason, lastProbeTime: new Date(), lastTransitionTime: new Date() },
      ],
    };
  }
}
