// podspec.ts: the pod of a build (docs/design.md, "One build", steps 4, 5 and 8) and the layout the
// lifecycle engine relies on: volumes, the `stage`, `cache-bundle`, `build` and `collector`
// containers, and the marker files that release the waiting ones.
import type {
  V1Container,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodSpec,
  V1SecurityContext,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
  V1ResourceRequirements,
} from '@kubernetes/client-node';
import type { BuildSpec } from '../inputs/spec.ts';
import {
  ARCH_LABEL,
  COMPUTE_CLASS_LABEL,
  NODE_POOL_LABEL,
  SPOT_LABEL,
} from '../inputs/scheduling.ts';
import {
  POD_ENV,
  POD_PROGRAM_DIR,
  POD_PROGRAM_IMAGE,
  POD_PROGRAM_KEY,
  POD_PROGRAM_PATH,
  stagingObjectName,
  type StagedContext,
} from './pod-program.ts';

/** WORKSPACE_DIR is the emptyDir shared by every container; the build's working directory. */
export const WORKSPACE_DIR = '/workspace';
/** MARKER_DIR holds the marker files the engine creates over exec. */
export const MARKER_DIR = `${WORKSPACE_DIR}/.kbuild`;
/** STAGED_MARKER releases the `stage` init container once the source is in /workspace. */
export const STAGED_MARKER = `${MARKER_DIR}/staged`;
/** COLLECTED_MARKER releases the `collector` container once the artifacts are copied out. */
export const COLLECTED_MARKER = `${MARKER_DIR}/collected`;
/** BUILD_DONE_MARKER: with `upload: cluster`, the build's wrapper creates it when the build ends. */
export const BUILD_DONE_MARKER = `${MARKER_DIR}/build-done`;
/** CACHE_DIR is the emptyDir the cache bundle pre-fills (melange's source cache). */
export const CACHE_DIR = '/var/cache/melange';
/** CACHE_BUNDLE_DIR is the directory of the cache_bundle image copied into CACHE_DIR. */
export const CACHE_BUNDLE_DIR = '/cache';
/** STAGE_TIMEOUT_SECONDS bounds the wait of the `stage` init container for the source. */
export const STAGE_TIMEOUT_SECONDS = 600;
/** NON_ROOT_ID is the uid, gid and fsGroup of unprivileged containers (distroless `nonroot`). */
export const NON_ROOT_ID = 65532;
/** CONTAINER names the containers of a build pod. */
export const CONTAINER = {
  stage: 'stage',
  cacheBundle: 'cache-bundle',
  build: 'build',
  collector: 'collector',
  preflight: 'preflight',
  uploader: 'uploader',
  fetch: 'fetch',
  cacheRestore: 'cache-restore',
  cacheSave: 'cache-save',
} as const;
/** CACHE_MOUNT is where the pod program's containers mount the `kbuild-cache` volume. */
export const CACHE_MOUNT = '/kbuild-cache';
/** CACHE_STATE_FILE: the restore's outcome, which the save reads (in the shared workspace). */
export const CACHE_STATE_FILE = `${MARKER_DIR}/cache-restored.json`;
/**
 * COLLECTOR_RESOURCES are the requests and (equal) limits of the `collector` container: small,
 * but enough cpu for the tar that the engine execs in it. Requests equal limits in every
 * container, as GKE Autopilot requires (docs/autopilot.md).
 */
export const COLLECTOR_RESOURCES = { cpu: '100m', memory: '256Mi' } as const;

/**
 * UPLOADER_RESOURCES are the requests and (equal, for Autopilot) limits of the containers that
 * run the pod program: the uploader holds at most two 8 MiB chunks per file, four files at a time.
 */
export const UPLOADER_RESOURCES = { cpu: '250m', memory: '256Mi' } as const;

const VOLUME = {
  workspace: 'workspace',
  cache: 'cache',
  program: 'kbuild-program',
  buildCache: 'kbuild-cache',
} as const;

/**
 * WAIT_SCRIPT creates the directory of the file $1 (so the engine can `touch` the marker in an
 * unstaged workspace), waits for the file for at most $2 seconds, then fails with message $3. It
 * exits at once on SIGTERM, so a deleted pod ends within a second. The values are passed as
 * arguments, never spliced into the script.
 */
export const WAIT_SCRIPT = [
  "trap 'exit 143' TERM INT",
  'mkdir -p "${1%/*}"',
  'i=0',
  'while [ ! -e "$1" ]; do',
  '  if [ "$i" -ge "$2" ]; then echo "$3" >&2; exit 1; fi',
  '  sleep 1; i=$((i+1))',
  'done',
].join('\n');

/** waitCommand is the argv of a container that waits for marker (POSIX sh in the image). */
export function waitCommand(marker: string, timeoutSeconds: number, message: string): string[] {
  return ['sh', '-c', WAIT_SCRIPT, 'kbuild-wait', marker, String(timeoutSeconds), message];
}

/**
 * needsCollector says whether the pod gets a `collector` container: only when someone will copy
 * the artifacts out (the step watches the build and uploads to a bucket). Otherwise the
 * collector would hold the pod until the deadline.
 */
export function needsCollector(spec: Pick<BuildSpec, 'watch' | 'bucket' | 'upload'>): boolean {
  return spec.watch && spec.bucket !== undefined && spec.upload !== 'cluster';
}

export { NODE_POOL_LABEL, SPOT_LABEL } from '../inputs/scheduling.ts';

/**
 * uploadsInCluster says whether the pod uploads its artifacts itself (`upload: cluster` with a
 * bucket): it then gets the `preflight` init container, the `uploader` container, the wrapped
 * build command and the pod program's ConfigMap volume.
 */
export function uploadsInCluster(spec: Pick<BuildSpec, 'bucket' | 'upload'>): boolean {
  return spec.bucket !== undefined && spec.upload === 'cluster';
}

/**
 * wrapsBuild says whether the build command runs inside BUILD_WRAPPER: when a container of the
 * pod program waits for the build's end (the uploader of `upload: cluster`, the cache's save).
 */
export function wrapsBuild(spec: Pick<BuildSpec, 'bucket' | 'upload' | 'cache'>): boolean {
  return uploadsInCluster(spec) || usesCache(spec);
}

/** usesCache says whether the build has a cache (`cache_key` with a bucket). */
export function usesCache(spec: Pick<BuildSpec, 'bucket' | 'cache'>): boolean {
  return spec.bucket !== undefined && spec.cache !== undefined;
}

/**
 * BUILD_WRAPPER runs the build command ($2...) as a child of sh, forwards SIGTERM/SIGINT to it,
 * then writes the build's exit status into the marker $1 (which releases the uploader and the
 * cache's save) and exits with that status.
 * The command is passed as arguments, never spliced into the script.
 */
export const BUILD_WRAPPER = [
  'marker=$1; shift',
  '"$@" & pid=$!',
  "trap 'kill -TERM $pid 2>/dev/null' TERM INT",
  'wait $pid; rc=$?',
  'while kill -0 $pid 2>/dev/null; do wait $pid; rc=$?; done',
  'mkdir -p "${marker%/*}" && echo "$rc" > "$marker"',
  'exit $rc',
].join('\n');

/** PodEndpoints: Google endpoints as the pod reaches them; absent: Google's defaults. */
export interface PodEndpoints {
  /** JSON API root of Cloud Storage, e.g. the lab's `http://127.0.0.1:16414`. */
  storage?: string;
}

/** STAGING_PENDING stands in for the archive's CRC32C where it is not uploaded yet (`create: false`). */
export const STAGING_PENDING = 'set-when-the-context-is-uploaded';

/**
 * stagesFromBucket says whether the context reaches the pod through the bucket (`staging: bucket`
 * with a context and a bucket): the `fetch` init container replaces the exec-fed `stage`.
 */
export function stagesFromBucket(spec: Pick<BuildSpec, 'bucket' | 'staging' | 'context'>): boolean {
  return spec.bucket !== undefined && spec.context !== undefined && spec.staging === 'bucket';
}

/** needsPodProgram: the pod runs kbuild's pod program (and gets its ConfigMap and preflight). */
export function needsPodProgram(
  spec: Pick<BuildSpec, 'bucket' | 'upload' | 'staging' | 'context' | 'cache'>,
): boolean {
  return uploadsInCluster(spec) || stagesFromBucket(spec) || usesCache(spec);
}

/**
 * podGcsPermissions are what the pod's identity needs on the bucket: `storage.objects.create` to
 * store artifacts, `storage.objects.get` to fetch the context archive, and list, get and create
 * for the cache (find, restore and save archives).
 */
export function podGcsPermissions(
  spec: Pick<BuildSpec, 'bucket' | 'upload' | 'staging' | 'context' | 'cache'>,
): string[] {
  const wanted = [
    ...(uploadsInCluster(spec) ? ['storage.objects.create'] : []),
    ...(stagesFromBucket(spec) ? ['storage.objects.get'] : []),
    ...(usesCache(spec)
      ? ['storage.objects.list', 'storage.objects.get', 'storage.objects.create']
      : []),
  ];
  return [...new Set(wanted)];
}

/**
 * schedulingOf returns the nodeSelector and tolerations of a build: the arch (with the toleration
 * for GKE's `kubernetes.io/arch=arm64:NoSchedule` taint on arm64), Spot nodes (label and taint
 * `cloud.google.com/gke-spot=true`), a pinned node pool, a compute class (label, and the
 * toleration of the `cloud.google.com/compute-class=NAME:NoSchedule` taint that GKE puts on the
 * nodes of custom compute classes; Autopilot adds the same itself), then the user's
 * node_selector labels and tolerations (validateBuildSpec has refused any that contradict the
 * others). Sources: GKE docs "Prepare Arm workloads for deployment", "Spot VMs" and "Choose
 * compute classes for Autopilot Pods"; docs/autopilot.md.
 */
export function schedulingOf(
  spec: Pick<
    BuildSpec,
    'arch' | 'spot' | 'nodePool' | 'computeClass' | 'nodeSelector' | 'tolerations'
  >,
): {
  nodeSelector: Record<string, string>;
  tolerations: V1Toleration[];
} {
  const nodeSelector: Record<string, string> = { [ARCH_LABEL]: spec.arch };
  const tolerations: V1Toleration[] = [];
  if (spec.arch === 'arm64') {
    tolerations.push({ key: ARCH_LABEL, operator: 'Equal', value: 'arm64', effect: 'NoSchedule' });
  }
  if (spec.spot) {
    nodeSelector[SPOT_LABEL] = 'true';
    tolerations.push({ key: SPOT_LABEL, operator: 'Equal', value: 'true', effect: 'NoSchedule' });
  }
  if (spec.nodePool !== undefined) nodeSelector[NODE_POOL_LABEL] = spec.nodePool;
  if (spec.computeClass !== undefined) {
    nodeSelector[COMPUTE_CLASS_LABEL] = spec.computeClass;
    tolerations.push({
      key: COMPUTE_CLASS_LABEL,
      operator: 'Equal',
      value: spec.computeClass,
      effect: 'NoSchedule',
    });
  }
  for (const [key, value] of Object.entries(spec.nodeSelector)) nodeSelector[key] ??= value;
  for (const t of spec.tolerations) tolerations.push({ ...t });
  return { nodeSelector, tolerations };
}

/** restricted is the container securityContext of the Pod Security "restricted" profile. */
function restricted(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NON_ROOT_ID,
    runAsGroup: NON_ROOT_ID,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function podSecurityContext(privileged: boolean): V1PodSecurityContext {
  const common: V1PodSecurityContext = {
    fsGroup: NON_ROOT_ID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  if (privileged) return common;
  return { ...common, runAsNonRoot: true, runAsUser: NON_ROOT_ID, runAsGroup: NON_ROOT_ID };
}

/** buildEnv lists the build container's env: kbuild's own, the user's, and secretKeyRefs. */
function buildEnv(spec: BuildSpec): V1EnvVar[] {
  const own: Record<string, string> = {
    KBUILD_BUILD_ID: spec.buildId,
    KBUILD_ARCH: spec.arch,
    KBUILD_PACKAGES: spec.packages.join(' '),
    KBUILD_ARTIFACTS_DIR: `${WORKSPACE_DIR}/${spec.artifactsPath}`.replace(/\/\.$/, ''),
  };
  const user = new Set([...Object.keys(spec.env), ...Object.keys(spec.secretEnv)]);
  const env: V1EnvVar[] = Object.entries(own)
    .filter(([name]) => !user.has(name))
    .map(([name, value]) => ({ name, value }));
  env.push(...Object.entries(spec.env).map(([name, value]) => ({ name, value })));
  for (const name of Object.keys(spec.secretEnv)) {
    env.push({ name, valueFrom: { secretKeyRef: { name: spec.jobName, key: name } } });
  }
  return env;
}

/**
 * renderPodSpec returns the pod spec of a build. Volumes: `workspace` (emptyDir at /workspace in
 * every container) and `cache` (emptyDir at /var/cache/melange, with cache_bundle). Init
 * containers: `stage` (with context; the build image waits for STAGED_MARKER while the engine
 * streams the source in over exec) and `cache-bundle` (the bundle image runs
 * `cp -R /cache/. /var/cache/melange/`, so it needs a `cp` and its cache in /cache). Containers:
 * `build` (argv without a shell) and, see needsCollector, `collector` (the build image waits for
 * COLLECTED_MARKER while the engine execs tar in it). Helpers always run restricted; only `build`
 * runs privileged as root when asked.
 */
export function renderPodSpec(
  spec: BuildSpec,
  endpoints: PodEndpoints = {},
  staged?: StagedContext,
): V1PodSpec {
  // Fresh objects for every container: nothing in the spec is shared (YAML stays alias-free).
  const workspace = (): V1VolumeMount => ({ name: VOLUME.workspace, mountPath: WORKSPACE_DIR });
  const cache = (): V1VolumeMount => ({ name: VOLUME.cache, mountPath: CACHE_DIR });
  // Requests equal limits (ephemeral storage included), as GKE Autopilot requires.
  const resources = (): V1ResourceRequirements => {
    const storage = spec.resources.ephemeralStorage;
    const amounts = (): Record<string, string> => ({
      cpu: spec.resources.cpu,
      memory: spec.resources.memory,
      ...(storage ? { 'ephemeral-storage': storage } : {}),
    });
    return { requests: amounts(), limits: amounts() };
  };

  const initContainers: V1Container[] = [];
  const inCluster = uploadsInCluster(spec);
  const program = (): V1VolumeMount => ({
    name: VOLUME.program,
    mountPath: POD_PROGRAM_DIR,
    readOnly: true,
  });
  // A container of kbuild's pod program: its image, its termination message (the program writes
  // its failure there and to stderr; the log is the fallback), fixed resources, restricted.
  const programContainer = (
    name: string,
    command: string,
    env: V1EnvVar[],
    volumeMounts: V1VolumeMount[],
    extra: Partial<V1Container> = {},
  ): V1Container => ({
    name,
    image: POD_PROGRAM_IMAGE,
    command: ['node', POD_PROGRAM_PATH, command],
    terminationMessagePolicy: 'FallbackToLogsOnError',
    env,
    volumeMounts,
    resources: { requests: { ...UPLOADER_RESOURCES }, limits: { ...UPLOADER_RESOURCES } },
    securityContext: restricted(),
    ...extra,
  });
  const gcsEnv = (): V1EnvVar[] => [
    { name: POD_ENV.bucket, value: spec.bucket ?? '' },
    ...(endpoints.storage ? [{ name: POD_ENV.storageEndpoint, value: endpoints.storage }] : []),
  ];
  const fromBucket = stagesFromBucket(spec);
  if (needsPodProgram(spec)) {
    initContainers.push(
      programContainer(
        CONTAINER.preflight,
        'check',
        [
          ...gcsEnv(),
          { name: POD_ENV.permissions, value: podGcsPermissions(spec).join(',') },
          { name: POD_ENV.serviceAccount, value: `${spec.namespace}/${spec.serviceAccountName}` },
        ],
        [program()],
      ),
    );
  }
  const cached = usesCache(spec) ? spec.cache : undefined;
  const buildCache = (mountPath: string): V1VolumeMount => ({
    name: VOLUME.buildCache,
    mountPath,
  });
  const cacheEnv = (): V1EnvVar[] =>
    cached
      ? [
          ...gcsEnv(),
          { name: POD_ENV.cacheDir, value: CACHE_MOUNT },
          { name: POD_ENV.cacheKey, value: cached.key },
          { name: POD_ENV.cacheRestoreKeys, value: cached.restoreKeys.join('\n') },
          { name: POD_ENV.cacheReadScopes, value: cached.read.join('\n') },
          { name: POD_ENV.cacheWriteScope, value: cached.write },
          { name: POD_ENV.cacheState, value: CACHE_STATE_FILE },
        ]
      : [];
  if (cached) {
    initContainers.push(
      programContainer(CONTAINER.cacheRestore, 'cache-restore', cacheEnv(), [
        workspace(),
        program(),
        buildCache(CACHE_MOUNT),
      ]),
    );
  }
  if (fromBucket) {
    initContainers.push(
      programContainer(
        CONTAINER.fetch,
        'stage',
        [
          ...gcsEnv(),
          {
            name: POD_ENV.stagingObject,
            value: staged?.object ?? stagingObjectName(spec.buildId),
          },
          { name: POD_ENV.stagingCrc32c, value: staged?.crc32c ?? STAGING_PENDING },
          { name: POD_ENV.workspace, value: WORKSPACE_DIR },
        ],
        [workspace(), program()],
      ),
    );
  } else if (spec.context !== undefined) {
    const message = `kbuild: no source was staged into ${WORKSPACE_DIR} within ${STAGE_TIMEOUT_SECONDS}s; was the step cancelled?`;
    initContainers.push({
      name: CONTAINER.stage,
      image: spec.image,
      command: waitCommand(STAGED_MARKER, STAGE_TIMEOUT_SECONDS, message),
      workingDir: WORKSPACE_DIR,
      volumeMounts: [workspace()],
      resources: resources(),
      securityContext: restricted(),
    });
  }
  if (spec.cacheBundle) {
    initContainers.push({
      name: CONTAINER.cacheBundle,
      image: spec.cacheBundle,
      command: ['cp', '-R', `${CACHE_BUNDLE_DIR}/.`, `${CACHE_DIR}/`],
      volumeMounts: [cache()],
      resources: resources(),
      securityContext: restricted(),
    });
  }

  const build: V1Container = {
    name: CONTAINER.build,
    image: spec.image,
    command: wrapsBuild(spec)
      ? ['sh', '-c', BUILD_WRAPPER, 'kbuild-build', BUILD_DONE_MARKER, ...spec.command]
      : spec.command,
    workingDir: WORKSPACE_DIR,
    env: buildEnv(spec),
    volumeMounts: [
      workspace(),
      ...(spec.cacheBundle ? [cache()] : []),
      ...(cached ? [buildCache(cached.path)] : []),
    ],
    resources: resources(),
    securityContext: spec.privileged
      ? {
          privileged: true,
          allowPrivilegeEscalation: true,
          runAsNonRoot: false,
          runAsUser: 0,
          runAsGroup: 0,
        }
      : restricted(),
  };
  const containers = [build];
  if (needsCollector(spec)) {
    const message = `kbuild: the artifacts were not collected within ${spec.timeoutSeconds}s`;
    containers.push({
      name: CONTAINER.collector,
      image: spec.image,
      command: waitCommand(COLLECTED_MARKER, spec.timeoutSeconds, message),
      workingDir: WORKSPACE_DIR,
      volumeMounts: [workspace()],
      resources: {
        requests: { ...COLLECTOR_RESOURCES },
        limits: { ...COLLECTOR_RESOURCES },
      },
      securityContext: restricted(),
    });
  }

  if (inCluster) {
    containers.push(
      programContainer(
        CONTAINER.uploader,
        'upload',
        [
          ...gcsEnv(),
          { name: POD_ENV.prefix, value: spec.destination },
          {
            name: POD_ENV.artifactsDir,
            value: `${WORKSPACE_DIR}/${spec.artifactsPath}`.replace(/\/\.$/, ''),
          },
          { name: POD_ENV.doneMarker, value: BUILD_DONE_MARKER },
          { name: POD_ENV.waitSeconds, value: String(spec.timeoutSeconds) },
        ],
        [workspace(), program()],
        { workingDir: WORKSPACE_DIR },
      ),
    );
  }

  if (cached) {
    containers.push(
      programContainer(
        CONTAINER.cacheSave,
        'cache-save',
        [
          ...cacheEnv(),
          { name: POD_ENV.doneMarker, value: BUILD_DONE_MARKER },
          { name: POD_ENV.waitSeconds, value: String(spec.timeoutSeconds) },
        ],
        [workspace(), program(), buildCache(CACHE_MOUNT)],
      ),
    );
  }

  const volumes: V1Volume[] = [{ name: VOLUME.workspace, emptyDir: {} }];
  if (spec.cacheBundle) volumes.push({ name: VOLUME.cache, emptyDir: {} });
  if (cached) volumes.push({ name: VOLUME.buildCache, emptyDir: {} });
  if (needsPodProgram(spec)) {
    volumes.push({
      name: VOLUME.program,
      configMap: { name: spec.jobName, items: [{ key: POD_PROGRAM_KEY, path: POD_PROGRAM_KEY }] },
    });
  }
  const { nodeSelector, tolerations } = schedulingOf(spec);
  const pod: V1PodSpec = {
    restartPolicy: 'Never',
    serviceAccountName: spec.serviceAccountName,
    ...(spec.serviceAccountName === 'default' ? { automountServiceAccountToken: false } : {}),
    enableServiceLinks: false,
    nodeSelector,
    ...(tolerations.length > 0 ? { tolerations } : {}),
    securityContext: podSecurityContext(spec.privileged),
    ...(initContainers.length > 0 ? { initContainers } : {}),
    containers,
    volumes,
  };
  return pod;
}
