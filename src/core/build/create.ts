/**
 * create.ts: creates and deletes the Kubernetes objects of one build, leaving
 * nothing half-made: the Secret of secret_env and the ConfigMap of the pod
 * program are created first (so the pod never starts without them), then the
 * Job or Pod, then they are given the Job as their owner so the garbage
 * collector removes them with the Job. If the Job cannot be created, they are
 * deleted again. A Job that already exists under the build's deterministic
 * name is adopted (a retried step).
 */
import type { V1ConfigMap, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import { KubeApiError, type KubeApi } from '../kube/api.ts';
import { withOwner, type Manifests } from '../manifest/manifest.ts';

/** Created: the Job or Pod that now exists, and whether it existed before. */
export interface Created {
  owner: V1Job | V1Pod;
  adopted: boolean;
}

function conflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

/** Dependent: a Secret or ConfigMap the pod needs, with the calls that make, own and remove it. */
interface Dependent {
  object: V1Secret | V1ConfigMap;
  create: () => Promise<unknown>;
  own: (owner: V1Job | V1Pod) => Promise<void>;
  remove: () => Promise<boolean>;
}

function dependentsOf(kube: KubeApi, namespace: string, m: Manifests): Dependent[] {
  const out: Dependent[] = [];
  const ref = (o: V1Secret | V1ConfigMap, owner: V1Job | V1Pod) =>
    withOwner(o, owner).metadata!.ownerReferences![0]!;
  if (m.secret) {
    const s = m.secret;
    const name = s.metadata?.name ?? '';
    out.push({
      object: s,
      create: () => kube.createSecret(namespace, s),
      own: (owner) => kube.setSecretOwner(namespace, name, ref(s, owner)),
      remove: () => kube.deleteSecret(namespace, name),
    });
  }
  if (m.configMap) {
    const c = m.configMap;
    const name = c.metadata?.name ?? '';
    out.push({
      object: c,
      create: () => kube.createConfigMap(namespace, c),
      own: (owner) => kube.setConfigMapOwner(namespace, name, ref(c, owner)),
      remove: () => kube.deleteConfigMap(namespace, name),
    });
  }
  return out;
}

/**
 * createObjects creates the manifests in namespace (see the file comment).
 * Throws KubeApiError (with the API server's message) when creation is refused.
 */
export async function createObjects(
  kube: KubeApi,
  namespace: string,
  m: Manifests,
): Promise<Created> {
  const dependents = dependentsOf(kube, namespace, m);
  const made: Dependent[] = [];
  const undo = () => Promise.all(made.map((d) => d.remove().catch(() => undefined)));
  for (const d of dependents) {
    try {
      await d.create();
      made.push(d);
    } catch (err) {
      if (!conflict(err)) {
        await undo();
        throw err;
      }
    }
  }
  let owner: V1Job | V1Pod;
  let adopted = false;
  try {
    if (m.job) owner = await kube.createJob(namespace, m.job);
    else if (m.pod) owner = await kube.createPod(namespace, m.pod);
    else throw new Error('nothing to create: the manifests have neither a Job nor a Pod');
  } catch (err) {
    const name = (m.job ?? m.pod)?.metadata?.name ?? '';
    if (conflict(err)) {
      const existing = m.job
        ? await kube.readJob(namespace, name)
        : await kube.readPod(namespace, name);
      if (!existing) throw err;
      owner = { ...existing, apiVersion: m.job ? 'batch/v1' : 'v1', kind: m.job ? 'Job' : 'Pod' };
      adopted = true;
    } else {
      await undo();
      throw err;
    }
  }
  owner.apiVersion ??= m.job ? 'batch/v1' : 'v1';
  owner.kind ??= m.job ? 'Job' : 'Pod';
  for (const d of dependents) await d.own(owner);
  return { owner, adopted };
}

/**
 * deleteBuild deletes the Job (propagation Background: the garbage collector
 * removes its pods, Secret and ConfigMap) or the bare Pod, and the Secret and
 * ConfigMap in case their owner reference was never set (errors ignored: most
 * builds have neither). Answers whether the Job or Pod existed.
 */
export async function deleteBuild(
  kube: KubeApi,
  namespace: string,
  name: string,
  kind: 'job' | 'pod',
): Promise<boolean> {
  const existed =
    kind === 'job'
      ? await kube.deleteJob(namespace, name, 'Background')
      : await kube.deletePod(namespace, name);
  await kube.deleteSecret(namespace, name).catch(() => false);
  await kube.deleteConfigMap(namespace, name).catch(() => false);
  return existed;
}
