/**
 * record.ts: the result of a build and its `kbuild.json` record (docs/design.md,
 * "Storage layout"), pure functions of what the lifecycle engine observed.
 */
import type { Artifact } from './artifacts.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import type { CacheRestore, CacheSave } from '../manifest/pod-program.ts';

/** CacheOutcome: what the pod reported of the build cache (cache.ts); either half may be missing. */
export interface CacheOutcome {
  /** The exact key the build asked for. */
  key: string;
  restore?: CacheRestore;
  save?: CacheSave;
}

/** BuildStatus: the `status` output. `created`: watch was false, the build was only created. */
export type BuildStatus = 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'created';

/** BuildResult: everything the entry points report about one build. Times are ISO 8601 UTC. */
export interface BuildResult {
  buildId: string;
  jobName: string;
  namespace: string;
  podName?: string;
  nodeName?: string;
  nodePool?: string;
  status: BuildStatus;
  /** The build container's exit code, when it ended. */
  exitCode?: number;
  /** Kubernetes reason (Completed, Error, OOMKilled, ImagePullBackOff, Unschedulable, DeadlineExceeded, ...). */
  reason: string;
  message: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Seconds from creation until the build container started. */
  pendingSeconds?: number;
  /** Seconds the build container ran. */
  buildSeconds?: number;
  artifacts: Artifact[];
  skipped: { name: string; reason: string }[];
  artifactsUri?: string;
  logUri?: string;
  /** The last lines of the build's output, for error messages. */
  lastLines: string[];
  logLines: number;
  logReconnects: number;
  /** The build cache's restore and save (input cache_key). */
  cache?: CacheOutcome;
}

/**
 * newBuildResult is the result of a build before anything is known of it: status `failed` until
 * the lifecycle sets it, no artifacts, no log. `createdAt` is an ISO 8601 time.
 */
export function newBuildResult(
  id: Pick<BuildResult, 'buildId' | 'jobName' | 'namespace'>,
  createdAt: string,
): BuildResult {
  return {
    ...id,
    status: 'failed',
    reason: '',
    message: '',
    createdAt,
    artifacts: [],
    skipped: [],
    lastLines: [],
    logLines: 0,
    logReconnects: 0,
  };
}

/** cacheOutputs: the `cache_hit` and `cache_key` outputs of a build with a cache; none without one. */
export function cacheOutputs(r: BuildResult): { cache_hit?: string; cache_key?: string } {
  return r.cache
    ? { cache_hit: r.cache.restore?.hit ?? 'none', cache_key: r.cache.restore?.key ?? '' }
    : {};
}

/** KbuildRecord is the JSON document stored as `kbuild.json` beside the artifacts. */
export interface KbuildRecord {
  schema: 'kbuild.dev/build/v1';
  build_id: string;
  job_name: string;
  repository: string;
  repository_id?: string;
  sha: string;
  ref: string;
  run_id: string;
  run_attempt: string;
  workflow_url: string;
  package?: string;
  packages: string[];
  name: string;
  arch: string;
  image: string;
  command: string[];
  namespace: string;
  node?: string;
  node_pool?: string;
  created_at: string;
  started_at?: string;
  finished_at?: string;
  status: BuildStatus;
  reason: string;
  exit_code?: number;
  artifacts: { name: string; size: number; crc32c: string; sha256: string; uri: string }[];
  cache?: {
    key: string;
    hit: string;
    restored_key?: string;
    restored_bytes?: number;
    restore_seconds?: number;
    saved: boolean;
    saved_bytes?: number;
    save_seconds?: number;
  };
}

/** kbuildRecord builds the kbuild.json document of a finished build. */
export function kbuildRecord(spec: BuildSpec, r: BuildResult): KbuildRecord {
  const s = spec.source;
  return {
    schema: 'kbuild.dev/build/v1',
    build_id: spec.buildId,
    job_name: spec.jobName,
    repository: s.repository,
    ...(s.repositoryId ? { repository_id: s.repositoryId } : {}),
    sha: s.sha,
    ref: s.ref,
    run_id: s.runId,
    run_attempt: s.runAttempt,
    workflow_url: `${s.serverUrl}/${s.repository}/actions/runs/${s.runId}/attempts/${s.runAttempt}`,
    ...(spec.package ? { package: spec.package } : {}),
    packages: spec.packages,
    name: spec.name,
    arch: spec.arch,
    image: spec.image,
    command: spec.command,
    namespace: spec.namespace,
    ...(r.nodeName ? { node: r.nodeName } : {}),
    ...(r.nodePool ? { node_pool: r.nodePool } : {}),
    created_at: r.createdAt,
    ...(r.startedAt ? { started_at: r.startedAt } : {}),
    ...(r.finishedAt ? { finished_at: r.finishedAt } : {}),
    status: r.status,
    reason: r.reason,
    ...(r.exitCode !== undefined ? { exit_code: r.exitCode } : {}),
    artifacts: r.artifacts.map((a) => ({
      name: a.name,
      size: a.size,
      crc32c: a.crc32c,
      sha256: a.sha256,
      uri: a.uri,
    })),
    ...(r.cache
      ? {
          cache: {
            key: r.cache.key,
            hit: r.cache.restore?.hit ?? 'none',
            ...(r.cache.restore?.key ? { restored_key: r.cache.restore.key } : {}),
            ...(r.cache.restore?.bytes !== undefined
              ? { restored_bytes: r.cache.restore.bytes }
              : {}),
            ...(r.cache.restore ? { restore_seconds: r.cache.restore.seconds } : {}),
            saved: r.cache.save?.saved ?? false,
            ...(r.cache.save?.bytes !== undefined ? { saved_bytes: r.cache.save.bytes } : {}),
            ...(r.cache.save ? { save_seconds: r.cache.save.seconds } : {}),
          },
        }
      : {}),
  };
}
