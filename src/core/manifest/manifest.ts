// manifest.ts: the Kubernetes objects of a build, a pure function of the BuildSpec
// (docs/design.md, "One build", step 4), and their YAML for `create: false`.
import type {
  V1ConfigMap,
  V1Job,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import { Document } from 'yaml';
import { buildAnnotations, buildLabels } from '../inputs/names.ts';
import { needsPodProgram, renderPodSpec, type PodEndpoints } from './podspec.ts';
import { POD_PROGRAM_KEY, type StagedContext } from './pod-program.ts';
import type { BuildSpec } from '../inputs/spec.ts';

/**
 * Manifests are the objects of one build: a Job or a bare Pod, the Secret of secret_env, and with
 * `upload: cluster` the ConfigMap that carries the pod program (pod-program.ts).
 */
export interface Manifests {
  job?: V1Job;
  pod?: V1Pod;
  secret?: V1Secret;
  configMap?: V1ConfigMap;
}

/** RenderOptions: what the manifests need beyond the spec, for `upload: cluster`. */
export interface RenderOptions {
  /** endpoints: Google endpoints as the pod reaches them (podspec.ts PodEndpoints). */
  endpoints?: PodEndpoints;
  /** podProgram: the text of dist/pod/index.js; absent: POD_PROGRAM_MISSING stands in. */
  podProgram?: string;
  /** staged: the context archive in the bucket (`staging: bucket`), once uploaded. */
  staged?: StagedContext;
}

/** POD_PROGRAM_MISSING stands in for the pod program where it was not loaded (unit tests). */
export const POD_PROGRAM_MISSING = '// kbuild pod program: not loaded (dist/pod/index.js)\n';

function metadataOf(spec: BuildSpec): V1ObjectMeta {
  return {
    name: spec.jobName,
    namespace: spec.namespace,
    labels: buildLabels(spec),
    annotations: buildAnnotations(spec),
  };
}

/**
 * renderManifests returns the objects of a build. kind `job`: a batch/v1 Job with
 * `backoffLimit: 0`, `activeDeadlineSeconds` = timeout, `ttlSecondsAfterFinished`, and
 * `suspend: true` with a Kueue queue (Kueue unsuspends it on admission). kind `pod`: a bare Pod
 * named like the Job would be, with the deadline on the pod. With secret_env, a Secret of the
 * same name holds the values (`stringData`, immutable) and the pod only references it; the engine
 * adds the owner reference once the Job exists (withOwner). Every object carries the labels and
 * annotations of names.ts.
 */
export function renderManifests(spec: BuildSpec, o: RenderOptions = {}): Manifests {
  const out: Manifests = {};
  const podSpec = renderPodSpec(spec, o.endpoints, o.staged);
  if (spec.kind === 'pod') {
    out.pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: metadataOf(spec),
      spec: { ...podSpec, activeDeadlineSeconds: spec.timeoutSeconds },
    };
  } else {
    const { labels, annotations } = metadataOf(spec);
    out.job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: metadataOf(spec),
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: spec.timeoutSeconds,
        ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
        ...(spec.queueName !== undefined ? { suspend: true } : {}),
        template: { metadata: { labels, annotations }, spec: podSpec },
      },
    };
  }
  if (Object.keys(spec.secretEnv).length > 0) {
    out.secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadataOf(spec),
      type: 'Opaque',
      immutable: true,
      stringData: { ...spec.secretEnv },
    };
  }
  if (needsPodProgram(spec)) {
    out.configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: metadataOf(spec),
      immutable: true,
      data: { [POD_PROGRAM_KEY]: o.podProgram ?? POD_PROGRAM_MISSING },
    };
  }
  return out;
}

/**
 * withOwner returns a copy of a Secret or ConfigMap owned by the created Job or Pod (which must have a uid), so
 * the garbage collector deletes it with its owner. blockOwnerDeletion stays unset: it would need
 * permission on the owner's finalizers.
 */
export function withOwner<T extends V1Secret | V1ConfigMap>(secret: T, owner: V1Job | V1Pod): T {
  const uid = owner.metadata?.uid;
  const name = owner.metadata?.name;
  if (!uid || !name || !owner.apiVersion || !owner.kind) {
    throw new Error(
      'withOwner needs a created owner with apiVersion, kind, metadata.name and metadata.uid',
    );
  }
  const ref: V1OwnerReference = { apiVersion: owner.apiVersion, kind: owner.kind, name, uid };
  return { ...secret, metadata: { ...secret.metadata, ownerReferences: [ref] } };
}

const NO_ALIASES = { aliasDuplicateObjects: false } as const;

/** REDACTED replaces each secret value in toYaml's output. */
export const REDACTED = '<redacted: from secret_env>';

/**
 * toYaml renders the manifests as a multi-document YAML stream (Secret first, so that the pod
 * finds it when applied in order). Secret values are never printed: each is REDACTED.
 */
export function toYaml(manifests: Manifests): string {
  const docs: Document[] = [];
  if (manifests.secret) {
    const redacted = Object.fromEntries(
      Object.keys(manifests.secret.stringData ?? {}).map((k) => [k, REDACTED]),
    );
    const doc = new Document({ ...manifests.secret, stringData: redacted }, NO_ALIASES);
    doc.commentBefore = ' The values of secret_env are not printed.';
    docs.push(doc);
  }
  if (manifests.configMap) docs.push(new Document(manifests.configMap, NO_ALIASES));
  if (manifests.job) docs.push(new Document(manifests.job, NO_ALIASES));
  if (manifests.pod) docs.push(new Document(manifests.pod, NO_ALIASES));
  return docs.map((d) => d.toString({ lineWidth: 0 })).join('---\n');
}
