/**
 * create.ts: creates and deletes the Kubernetes objects of one build, leaving
 * nothing half-made: the Secret of secret_env is created first (so the pod
 * never starts without it), then the Job or Pod, then the Secret is given the
 * Job as its owner so the garbage collector removes it with the Job. If the Job
 * cannot be created, the Secret is deleted again. A Job that already exists
 * under the build's deterministic name is adopted (a retried step).
 */
import type { V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import { KubeApiError, type KubeApi } from '../kube/api.ts';
import type { Manifests } from '../manifest/manifest.ts';

/** Created: the Job or Pod that now exists, and whether it existed before. */
export interface Created {
  owner: V1Job | V1Pod;
  adopted: boolean;
}

function conflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

/**
 * createObjects creates the manifests in namespace; `own(owner, secret)`
 * returns the Secret with its owner reference (manifest.ts withOwner).
 * Throws KubeApiError (with the API server's message) when creation is refused.
 */
export async function createObjects(
  kube: KubeApi,
  namespace: string,
  m: Manifests,
  own: (owner: V1Job | V1Pod, secret: V1Secret) => V1Secret,
): Promise<Created> {
  let secretCreated = false;
  if (m.secret) {
    try {
      await kube.createSecret(namespace, m.secret);
      secretCreated = true;
    } catch (err) {
      if (!conflict(err)) throw err;
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
      if (secretCreated && m.secret?.metadata?.name) {
        await kube.deleteSecret(namespace, m.secret.metadata.name).catch(() => undefined);
      }
      throw err;
    }
  }
  owner.apiVersion ??= m.job ? 'batch/v1' : 'v1';
  owner.kind ??= m.job ? 'Job' : 'Pod';
  if (m.secret?.metadata?.name) {
    const ref = own(owner, m.secret).metadata?.ownerReferences?.[0];
    if (ref) await kube.setSecretOwner(namespace, m.secret.metadata.name, ref);
  }
  return { owner, adopted };
}

/**
 * deleteBuild deletes the Job (propagation Background: the garbage collector
 * removes its pods and Secret) or the bare Pod, and the Secret in case its
 * owner reference was never set. Answers whether the Job or Pod existed.
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
  return existed;
}
