// spec.ts: the validated build spec and validateBuildSpec, which turns the raw input strings of
// mode `build` into it, reporting every bad input at once.
import { expandDestination } from './destination.ts';
import {
  cacheScopes,
  parseCacheKey,
  parseCachePath,
  parseRestoreKeys,
  type CacheSpec,
} from './cache.ts';
import { InputIssues, invalid } from '../base/errors.ts';
import { validateBucketName, validateImageReference } from './formats.ts';
import {
  buildName,
  kubeName,
  LABEL_FIX,
  packageTargets,
  POOL_FIX,
  SUBDOMAIN_FIX,
  validateArtifactsPath,
  validatePackageName,
} from './spec-fields.ts';
import { inputValue, type BuildInputName, type RawBuildInputs } from './schema.ts';
import {
  checkScheduling,
  parseComputeClass,
  parseNodeSelector,
  parseTolerations,
  type Toleration,
} from './scheduling.ts';
import { buildId, isDns1123Label, isDns1123Subdomain, isLabelValue, jobName } from './names.ts';
import {
  parseArch,
  parseBoolean,
  parseCommand,
  parseDuration,
  parseEnum,
  parseKeyValueLines,
  parseList,
  parseQuantity,
  requireValue,
  type Arch,
} from './parse.ts';

export type { Arch } from './parse.ts';
import type { GitHubContext } from './names.ts';
export type { GitHubContext };

/** BuildSpec is one validated build: everything the manifest and the lifecycle engine need. */
export interface BuildSpec {
  /** buildId is 32 hex chars, deterministic for (repository, run id, attempt, name, arch). */
  buildId: string;
  /** jobName is `kb-<name>-<arch>-<hash>`, a DNS-1123 label <= 63 chars; also the Pod/Secret name. */
  jobName: string;
  /** name is `{build}`: the `name` input, else the single package, else the repository name. */
  name: string;
  /** package is set when the build has exactly one package. */
  package?: string;
  /** packages lists every package passed to the command (may be empty). */
  packages: string[];
  arch: Arch;
  namespace: string;
  image: string;
  /** command is the argv after package_target expansion, e.g. ['make', 'package/hello']. */
  command: string[];
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  /** resources are canonical Kubernetes quantities. */
  resources: { cpu: string; memory: string; ephemeralStorage?: string };
  privileged: boolean;
  spot: boolean;
  nodePool?: string;
  /** computeClass is the GKE compute class (`cloud.google.com/compute-class` nodeSelector). */
  computeClass?: string;
  /** nodeSelector holds the node_selector labels, added to those of arch, spot, node_pool, compute_class. */
  nodeSelector: Record<string, string>;
  /** tolerations are the tolerations lines, added to those of arch and spot. */
  tolerations: Toleration[];
  serviceAccountName: string;
  kind: 'job' | 'pod';
  timeoutSeconds: number;
  pendingTimeoutSeconds: number;
  /** apiOutageBudgetSeconds: how long a running build rides out an unreachable API server (`api_outage_budget`). */
  apiOutageBudgetSeconds: number;
  ttlSecondsAfterFinished: number;
  /** artifactsPath is relative to /workspace, normalized, without `..`; `.` is the workspace. */
  artifactsPath: string;
  cacheBundle?: string;
  /** context is the local path to stage, as given; absent when nothing is staged (also with watch: false). */
  context?: string;
  bucket?: string;
  /** destination is the expanded object prefix, without leading or trailing `/`. */
  destination: string;
  watch: boolean;
  create: boolean;
  keep: boolean;
  queueName?: string;
  /**
   * upload: who moves the artifacts to the bucket. `runner`: the step copies them out of the pod
   * (exec) and uploads them; `cluster`: the pod uploads them itself through Workload Identity and
   * the step only verifies the objects' metadata (manifest/pod-program.ts).
   */
  upload: 'runner' | 'cluster';
  /**
   * staging: how the context reaches /workspace. `exec`: a tar stream over exec into the waiting
   * `stage` init container; `bucket`: one compressed tar object in the bucket, fetched by the pod
   * through Workload Identity (manifest/pod-program.ts), then deleted.
   */
  staging: 'exec' | 'bucket';
  /**
   * cache: the build cache in the bucket (inputs `cache_key`, `cache_restore_keys`,
   * `cache_path`; inputs/cache.ts); absent without a `cache_key`.
   */
  cache?: CacheSpec;
  source: GitHubContext;
}

/** TTL_SECONDS is ttlSecondsAfterFinished: a safety net after cleanup (1 h) or with `keep` (7 d). */
export const TTL_SECONDS = { cleanup: 3600, keep: 7 * 24 * 3600 } as const;

/**
 * validateBuildSpec validates the inputs of mode `build` (docs/design.md, "The action's inputs"; defaults applied by
 * inputValue) against the workflow run ctx and returns the BuildSpec. It throws one InputError
 * listing every bad input. Several packages build in one Job (`make package/a package/b`); they
 * then need a `name`, and `{package}` is not available in `destination`.
 */
export function validateBuildSpec(raw: RawBuildInputs, ctx: GitHubContext): BuildSpec {
  const issues = new InputIssues();
  const value = (name: BuildInputName): string => inputValue(raw, name);
  const check = <T>(fn: () => T): T | undefined => issues.attempt(fn);
  const optional = <T>(name: BuildInputName, fn: (v: string) => T): T | undefined =>
    value(name) === '' ? undefined : check(() => fn(value(name)));
  const bool = (name: BuildInputName): boolean =>
    check(() => parseBoolean(name, value(name))) ?? false;
  const positiveDuration = (name: BuildInputName): number =>
    check(() => {
      const s = parseDuration(name, value(name));
      if (s <= 0) throw invalid(name, 'duration', value(name), 'use a duration greater than zero');
      return s;
    }) ?? 1;

  const image = check(() =>
    validateImageReference('image', requireValue('image', value('image'), 'the build image')),
  );
  const packages = parseList(value('packages'));
  for (const p of packages) check(() => validatePackageName(p));
  const command = check(() => parseCommand('command', value('command')));
  const targets = check(() => packageTargets(value('package_target'), packages)) ?? [];
  const name = check(() => buildName(value('name'), packages, ctx.repo));
  const arch = check(() => parseArch('arch', value('arch')));
  const namespace = check(() =>
    kubeName('namespace', value('namespace'), isDns1123Label, LABEL_FIX),
  );
  const cpu = check(() => parseQuantity('cpu', value('cpu'), 'millicores'));
  const memory = check(() => parseQuantity('memory', value('memory'), 'bytes'));
  const storage = optional('ephemeral_storage', (v) =>
    parseQuantity('ephemeral_storage', v, 'bytes'),
  );
  const nodePool = optional('node_pool', (v) =>
    kubeName('node_pool', v, (s) => s !== '' && isLabelValue(s), POOL_FIX),
  );
  const computeClass = optional('compute_class', (v) => parseComputeClass('compute_class', v));
  const nodeSelector =
    check(() => parseNodeSelector('node_selector', value('node_selector'))) ?? {};
  const tolerations = check(() => parseTolerations('tolerations', value('tolerations'))) ?? [];
  const serviceAccountName = check(() =>
    kubeName(
      'service_account_name',
      value('service_account_name'),
      isDns1123Subdomain,
      SUBDOMAIN_FIX,
    ),
  );
  const env = check(() => parseKeyValueLines('env', value('env'))) ?? {};
  const secretEnv =
    check(() => parseKeyValueLines('secret_env', value('secret_env'), { secret: true })) ?? {};
  for (const key of Object.keys(secretEnv).filter((k) => k in env)) {
    issues.add(
      'secret_env',
      `variable ${key} is set in both "env" and "secret_env": set it in one`,
    );
  }
  const artifactsPath = check(() => validateArtifactsPath(value('artifacts_path'))) ?? '.';
  const cacheBundle = optional('cache_bundle', (v) => validateImageReference('cache_bundle', v));
  const bucket = optional('bucket', (v) => validateBucketName('bucket', v));
  const kind = check(() => parseEnum('kind', value('kind'), ['job', 'pod'] as const)) ?? 'job';
  const upload =
    check(() => parseEnum('upload', value('upload'), ['runner', 'cluster'] as const)) ?? 'runner';
  if (upload === 'cluster' && bucket === undefined && value('bucket') === '') {
    issues.add('upload', 'input "upload: cluster" needs a "bucket": the pod uploads to it');
  }
  const staging =
    check(() => parseEnum('staging', value('staging'), ['exec', 'bucket'] as const)) ?? 'exec';
  if (staging === 'bucket' && bucket === undefined && value('bucket') === '') {
    issues.add('staging', 'input "staging: bucket" needs a "bucket": the context goes through it');
  }
  const cacheKey = optional('cache_key', (v) => parseCacheKey('cache_key', v));
  const restoreKeys =
    check(() => parseRestoreKeys('cache_restore_keys', value('cache_restore_keys'))) ?? [];
  const cachePath = check(() => parseCachePath('cache_path', value('cache_path')));
  if (value('cache_key') === '' && restoreKeys.length > 0) {
    issues.add(
      'cache_restore_keys',
      'input "cache_restore_keys" needs a "cache_key": the key is tried first, and saved when it missed',
    );
  }
  if (value('cache_key') !== '' && bucket === undefined && value('bucket') === '') {
    issues.add('cache_key', 'input "cache_key" needs a "bucket": the cache is kept in it');
  }
  const timeoutSeconds = positiveDuration('timeout');
  const pendingTimeoutSeconds = positiveDuration('pending_timeout');
  const apiOutageBudgetSeconds = positiveDuration('api_outage_budget');
  const queueName = optional('queue_name', (v) =>
    kubeName('queue_name', v, isDns1123Label, LABEL_FIX),
  );
  const [privileged, spot, watch, create, keep] = (
    ['privileged', 'spot', 'watch', 'create', 'keep'] as const
  ).map(bool);
  const pkg = packages.length === 1 ? packages[0] : undefined;
  const destination = check(() =>
    expandDestination(value('destination'), {
      owner: ctx.owner,
      repo: ctx.repo,
      run_id: ctx.runId,
      run_attempt: ctx.runAttempt,
      arch: arch ?? 'amd64',
      build: name ?? 'build',
      package: pkg,
      sha: ctx.sha,
    }),
  );
  if (arch !== undefined && privileged !== undefined && spot !== undefined) {
    const scheduling = { arch, spot, privileged, nodeSelector, tolerations };
    const conflicts = checkScheduling({
      ...scheduling,
      ...(nodePool !== undefined ? { nodePool } : {}),
      ...(computeClass !== undefined ? { computeClass } : {}),
    });
    for (const [input, message] of conflicts) issues.add(input, message);
  }
  if (queueName !== undefined && kind === 'pod') {
    issues.add(
      'queue_name',
      'input "queue_name" needs kind: job (Kueue admits Jobs, not bare Pods)',
    );
  }
  issues.throwIfAny();
  // Every value below is defined: an undefined one recorded an issue and threw above.
  const id = buildId({
    repository: ctx.repository,
    runId: ctx.runId,
    runAttempt: ctx.runAttempt,
    build: name!,
    arch: arch!,
  });
  const spec: BuildSpec = {
    buildId: id,
    jobName: jobName(name!, arch!, id),
    name: name!,
    packages,
    arch: arch!,
    namespace: namespace!,
    image: image!,
    command: [...command!, ...targets],
    env,
    secretEnv,
    resources: { cpu: cpu!.canonical, memory: memory!.canonical },
    privileged: privileged!,
    spot: spot!,
    nodeSelector,
    tolerations,
    serviceAccountName: serviceAccountName!,
    kind,
    timeoutSeconds,
    pendingTimeoutSeconds,
    apiOutageBudgetSeconds,
    ttlSecondsAfterFinished: keep ? TTL_SECONDS.keep : TTL_SECONDS.cleanup,
    artifactsPath,
    destination: destination!,
    watch: watch!,
    create: create!,
    keep: keep!,
    upload,
    staging,
    source: ctx,
  };
  if (pkg !== undefined) spec.package = pkg;
  if (storage) spec.resources.ephemeralStorage = storage.canonical;
  if (nodePool !== undefined) spec.nodePool = nodePool;
  if (computeClass !== undefined) spec.computeClass = computeClass;
  if (cacheBundle !== undefined) spec.cacheBundle = cacheBundle;
  // Staging streams the context in while the step watches; with watch: false
  // nobody would, and the stage init container would wait until it times out.
  if (value('context') !== '' && spec.watch) spec.context = value('context');
  if (bucket !== undefined) spec.bucket = bucket;
  if (cacheKey !== undefined && cachePath !== undefined) {
    spec.cache = { key: cacheKey, restoreKeys, path: cachePath, ...cacheScopes(ctx) };
  }
  if (queueName !== undefined) spec.queueName = queueName;
  return spec;
}
