// plan.ts: from a validated request and the caller's verified claims to the dispatch plan: one
// BuildSpec and one Job per (package, arch), deterministic names and ids, dependency levels, and
// the labels and annotations that keep the dispatch's state in the cluster (pure).
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import { InputError } from '../../src/core/base/errors.ts';
import { renderManifests } from '../../src/core/manifest/manifest.ts';
import type { PodEndpoints } from '../../src/core/manifest/podspec.ts';
import { LABEL } from '../../src/core/inputs/names.ts';
import type { Arch } from '../../src/core/inputs/parse.ts';
import {
  validateBuildSpec,
  type BuildSpec,
  type GitHubContext,
} from '../../src/core/inputs/spec.ts';
import {
  DISPATCH_ANNOTATION,
  DISPATCH_LABEL,
  dispatchIdOf,
  GATE_DEPENDENCIES,
} from '../../src/core/dispatch/protocol.ts';
import { stagingObjectName } from '../../src/core/manifest/pod-program.ts';

export { dispatchIdOf };
import { levelsOf, RequestError, type DispatchRequest } from '../../src/core/dispatch/request.ts';
import { rawInputsOf } from '../../src/core/dispatch/spec.ts';
import { cacheScopes } from '../../src/core/inputs/cache.ts';
import type { GitHubClaims } from './tokens.ts';

/** PlanEntry is one build of a dispatch, as stored in the plan annotation. */
export interface PlanEntry {
  package: string;
  arch: Arch;
  build_id: string;
  job_name: string;
  level: number;
  /** depends_on: the Job names of the builds this one waits for (same arch). */
  depends_on: string[];
}

/**
 * PlannedBuild is a PlanEntry with its spec and its Job manifest, and with `upload: cluster` the
 * ConfigMap that carries the pod program to its pod (src/core/manifest/manifest.ts).
 */
export interface PlannedBuild {
  entry: PlanEntry;
  spec: BuildSpec;
  job: V1Job;
  configMap?: V1ConfigMap;
}

/** DispatchPlan is everything POST creates. */
export interface DispatchPlan {
  dispatchId: string;
  requestHash: string;
  builds: PlannedBuild[];
}

/**
 * PlanOptions: where builds go, the GitHub server for workflow URLs, and for `upload: cluster`
 * the pod program (dist/pod/index.js) and the Google endpoints as the pods reach them.
 */
export interface PlanOptions {
  namespace: string;
  serverUrl: string;
  podProgram?: string;
  podEndpoints?: PodEndpoints;
}

function sha256(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** isDispatchId: 32 lowercase hex chars. */
export function isDispatchId(s: string): boolean {
  return /^[0-9a-f]{32}$/.test(s);
}

/** contextOf is the GitHubContext of a dispatch: the run from the token, ref and sha from the body. */
export function contextOf(
  claims: GitHubClaims,
  req: Pick<DispatchRequest, 'ref' | 'sha'>,
  serverUrl: string,
): GitHubContext {
  const [, repo = ''] = claims.repository.split('/');
  const ctx: GitHubContext = {
    repository: claims.repository,
    repositoryId: claims.repositoryId,
    owner: claims.repositoryOwner,
    repo,
    sha: req.sha,
    ref: req.ref,
    runId: claims.runId,
    runAttempt: claims.runAttempt,
    serverUrl,
  };
  if (claims.workflow) ctx.workflow = claims.workflow;
  if (claims.actor) ctx.actor = claims.actor;
  if (claims.eventName) ctx.eventName = claims.eventName;
  return ctx;
}

/** cacheScopesOf: the build cache's scopes of the caller's verified run (inputs/cache.ts). */
export function cacheScopesOf(claims: GitHubClaims): { read: string[]; write: string } {
  return cacheScopes({
    repository: claims.repository,
    repositoryId: claims.repositoryId,
    ref: claims.ref,
    ...(claims.baseRef ? { baseRef: claims.baseRef } : {}),
  });
}

/**
 * planDispatch validates every build of the request with the core's validateBuildSpec (a bad
 * value is a RequestError naming the field) and renders its Job. A build with dependencies is
 * created suspended with the gate annotation, and its Kueue label (if any) waits in an
 * annotation, so neither the Job controller nor Kueue starts it before reconcile releases it.
 */
export function planDispatch(
  req: DispatchRequest,
  claims: GitHubClaims,
  o: PlanOptions,
): DispatchPlan {
  const ctx = contextOf(claims, req, o.serverUrl);
  const levels = levelsOf(req.packages, req.dependencies);
  const specs: BuildSpec[] = [];
  for (const pkg of req.packages) {
    for (const arch of req.archs) {
      try {
        const spec = validateBuildSpec(rawInputsOf(req, pkg, arch, o.namespace), ctx);
        spec.env = { ...req.env };
        // The cache's scopes follow the caller's verified run (its ref and a PR's base branch),
        // never the body's ref: a pull request cannot write where its base branch reads.
        if (spec.cache) Object.assign(spec.cache, cacheScopesOf(claims));
        specs.push(spec);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        throw new RequestError(err.input, err.message.replace(/\binputs? "/g, 'field "'));
      }
    }
  }
  const jobOf = (pkg: string, arch: Arch) =>
    specs.find((s) => s.package === pkg && s.arch === arch)?.jobName ?? '';
  const entries: PlanEntry[] = specs.map((s) => ({
    package: s.package ?? '',
    arch: s.arch,
    build_id: s.buildId,
    job_name: s.jobName,
    level: levels.get(s.package ?? '') ?? 0,
    depends_on: (req.dependencies[s.package ?? ''] ?? []).map((d) => jobOf(d, s.arch)),
  }));
  const dispatchId = dispatchIdOf(
    claims,
    entries.map((e) => e.build_id),
  );
  const requestHash = sha256(['kbuild/request/v1', req]);
  const plan = JSON.stringify(entries);
  const builds = specs.map((spec, i): PlannedBuild => {
    const entry = entries[i]!;
    const manifests = renderManifests(spec, {
      ...(o.podProgram !== undefined ? { podProgram: o.podProgram } : {}),
      ...(o.podEndpoints ? { endpoints: o.podEndpoints } : {}),
      // staging: bucket: one archive per dispatch, named by the dispatch id (so by the caller's
      // verified run), never by the caller.
      ...(req.stagingCrc32c !== undefined
        ? { staged: { object: stagingObjectName(dispatchId), crc32c: req.stagingCrc32c } }
        : {}),
    });
    const job = manifests.job!;
    const meta = job.metadata!;
    const template = job.spec!.template.metadata!;
    meta.labels = { ...meta.labels, [DISPATCH_LABEL]: dispatchId };
    template.labels = { ...template.labels, [DISPATCH_LABEL]: dispatchId };
    meta.annotations = {
      ...meta.annotations,
      // The first build's Job holds the whole plan; every Job holds its own entry.
      ...(i === 0 ? { [DISPATCH_ANNOTATION.plan]: plan } : {}),
      [DISPATCH_ANNOTATION.build]: JSON.stringify(entry),
      [DISPATCH_ANNOTATION.requestHash]: requestHash,
      [DISPATCH_ANNOTATION.repositoryId]: claims.repositoryId,
    };
    if (entry.depends_on.length > 0) {
      job.spec!.suspend = true;
      meta.annotations[DISPATCH_ANNOTATION.gate] = GATE_DEPENDENCIES;
      if (spec.queueName !== undefined) {
        delete meta.labels[LABEL.kueueQueue];
        delete template.labels[LABEL.kueueQueue];
        meta.annotations[DISPATCH_ANNOTATION.queue] = spec.queueName;
      }
    }
    const configMap = manifests.configMap;
    if (configMap?.metadata)
      configMap.metadata.labels = { ...configMap.metadata.labels, [DISPATCH_LABEL]: dispatchId };
    return { entry, spec, job, ...(configMap ? { configMap } : {}) };
  });
  return { dispatchId, requestHash, builds };
}

/** isPlanEntry checks the shape of one PlanEntry read back from an annotation. */
function isPlanEntry(e: Partial<PlanEntry> | null | undefined): e is PlanEntry {
  return (
    typeof e?.job_name === 'string' &&
    typeof e.package === 'string' &&
    typeof e.arch === 'string' &&
    typeof e.build_id === 'string' &&
    typeof e.level === 'number' &&
    Array.isArray(e.depends_on)
  );
}

/** parseJson answers the parsed annotation, or undefined when it is absent or not JSON. */
function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** parsePlan reads the plan annotation of the plan holder; undefined on any other Job. */
export function parsePlan(job: V1Job): PlanEntry[] | undefined {
  const v = parseJson(job.metadata?.annotations?.[DISPATCH_ANNOTATION.plan]);
  return Array.isArray(v) && v.every((e) => isPlanEntry(e as PlanEntry))
    ? (v as PlanEntry[])
    : undefined;
}

/** parseEntry reads a Job's own PlanEntry (the build annotation); undefined when missing or bad. */
export function parseEntry(job: V1Job): PlanEntry | undefined {
  const v = parseJson(job.metadata?.annotations?.[DISPATCH_ANNOTATION.build]) as PlanEntry;
  return isPlanEntry(v) ? v : undefined;
}
