/**
 * lifecycle.ts: one build from creation to cleanup (docs/design.md, "One build", steps
 * 4-10) over injected clients: create the Secret and the Job (or Pod), watch
 * until the build container starts while staging the source, follow its log,
 * collect and upload the artifacts, the log and kbuild.json, and delete the Job.
 * Failures are diagnosed from the pod and Job status (verdict.ts) with the
 * last events; cancellation (`signal`) deletes the Job at once. The waiting
 * is in build/wait.ts; the log, artifacts and records in build/output.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  artifactsUriOf,
  collectBuildArtifacts,
  streamBuildLog,
  uploadBuildRecords,
} from './output.ts';
import { ended, untilEnded, untilStarted, withEvents } from './wait.ts';
import { BuildWatcher, containerStatus } from './watch.ts';
import { listContext } from './context.ts';
import { renderManifests } from '../manifest/manifest.ts';
import { buildSelector } from '../inputs/names.ts';
import {
  CONTAINER,
  NODE_POOL_LABEL,
  needsPodProgram,
  stagesFromBucket,
  uploadsInCluster,
  usesCache,
  type PodEndpoints,
} from '../manifest/podspec.ts';
import { removeContext, uploadContext } from './bucket-staging.ts';
import { verifyClusterUpload } from './cluster-upload.ts';
import { readCacheOutcome } from './cache.ts';
import { newBuildResult, type BuildResult } from './record.ts';
import type { Clock, Reporter } from '../base/report.ts';
import type { KubeApi } from '../kube/api.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import type { ObjectStore } from '../gcs/storage.ts';
import type { Verdict } from './verdict.ts';
import { createObjects, deleteBuild } from './create.ts';
import { checkPermissions } from './permissions.ts';
import { OutageError, type Reachability } from '../kube/reachability.ts';

/** BuildDeps: the clients and sinks of a build. */
export interface BuildDeps {
  kube: KubeApi;
  /** Where artifacts, build.log and kbuild.json go; absent: no upload. */
  store?: ObjectStore;
  reporter: Reporter;
  clock: Clock;
  /** A directory outside the workspace for the build log copy (RUNNER_TEMP). */
  tempDir: string;
  /** Called once the objects exist, so an entry point can remember them for cleanup. */
  onCreated?: (names: { namespace: string; jobName: string; kind: 'job' | 'pod' }) => void;
  /** The pod program (dist/pod/index.js), needed by `upload: cluster` (manifest/pod-program.ts). */
  podProgram?: string;
  /** Google endpoints as the pod reaches them (the lab's; absent on GKE). */
  podEndpoints?: PodEndpoints;
  /**
   * Whether the API server answers (kube/reachability.ts); once the build exists, outages of up
   * to spec.apiOutageBudgetSeconds are ridden out, a longer one ends the build with an error.
   */
  reachability?: Reachability;
}

/** OUTAGE_CLEANUP_MS: after an outage outlasted its budget, how long the Job's deletion is tried. */
const OUTAGE_CLEANUP_MS = 20_000;

const LAST_LINES = 20;

/**
 * runBuild runs one build and answers its result; it does not throw for a
 * failed build (status `failed`, `timed_out`, `cancelled`), only for errors
 * before anything was created (bad context, API refusals on create).
 */
export async function runBuild(
  spec: BuildSpec,
  deps: BuildDeps,
  signal: AbortSignal,
): Promise<BuildResult> {
  const { kube, reporter, clock } = deps;
  const ns = spec.namespace;
  const listing = spec.context ? await listContext(spec.context) : undefined;
  if (needsPodProgram(spec) && !deps.podProgram) {
    throw new Error(
      'inputs "upload: cluster" and "staging: bucket" need the pod program (dist/pod/index.js beside the action bundle); rebuild with npm run build',
    );
  }
  if (stagesFromBucket(spec) && !deps.store) {
    throw new Error('input "staging: bucket" needs the object store of input "bucket"');
  }
  const r = newBuildResult(
    { buildId: spec.buildId, jobName: spec.jobName, namespace: ns },
    new Date(clock.now()).toISOString(),
  );
  await checkPermissions(kube, spec);
  // staging: bucket: the archive exists before the Job, so the pod's fetch finds it.
  const staged =
    stagesFromBucket(spec) && listing && deps.store
      ? await uploadContext(deps.store, spec.buildId, spec.context ?? '.', listing.files, reporter)
      : undefined;
  const manifests = renderManifests(spec, {
    ...(deps.podEndpoints ? { endpoints: deps.podEndpoints } : {}),
    ...(deps.podProgram ? { podProgram: deps.podProgram } : {}),
    ...(staged ? { staged } : {}),
  });
  const created = await createObjects(kube, ns, manifests).catch(async (err: unknown) => {
    if (staged && deps.store) await removeContext(deps.store, staged, reporter);
    throw err;
  });
  deps.onCreated?.({ namespace: ns, jobName: spec.jobName, kind: spec.kind });
  reporter.info(
    `${created.adopted ? 'Found existing' : 'Created'} ${spec.kind === 'job' ? 'Job' : 'Pod'} ${ns}/${spec.jobName} (${spec.arch}, image ${spec.image})`,
  );
  if (!spec.watch) {
    r.status = 'created';
    r.reason = 'Created';
    r.message = `created ${spec.jobName}; not watching it (watch: false)`;
    return r;
  }

  // The build runs on its node whether or not the API server answers: ride out its outages up to
  // the budget; a longer one aborts every wait of the build (`live`) with an OutageError.
  const reach = deps.reachability;
  reach?.ride(spec.apiOutageBudgetSeconds * 1000);
  const live = reach ? AbortSignal.any([signal, reach.signal]) : signal;
  const watcher = new BuildWatcher(kube, ns, buildSelector(spec.buildId), {
    clock,
    watchJob: spec.kind === 'job',
  });
  const work = await mkdtemp(join(deps.tempDir, 'kbuild-'));
  const logPath = join(work, 'build.log');
  let outage: OutageError | undefined;
  let cleanup = '';
  try {
    let final = await runAttempt(spec, deps, watcher, r, listing?.files, logPath, live);
    if (final.retryable && spec.spot && spec.kind === 'job' && !signal.aborted) {
      // A Spot VM was reclaimed under the build: retry once on another node (docs/design.md, "The action's inputs", `spot`).
      reporter.warning(`${final.message}; retrying the build once`);
      await deleteBuild(kube, ns, spec.jobName, 'job');
      await watcher.until(
        (s) => (s.job || s.pods.size > 0 ? undefined : true),
        AbortSignal.any([signal, AbortSignal.timeout(120_000)]),
      );
      await createObjects(kube, ns, manifests);
      final = await runAttempt(spec, deps, watcher, r, listing?.files, logPath, live);
    }
    if (final.state !== 'succeeded') final = await withEvents(kube, ns, watcher.state, final);
    r.status = final.state === 'succeeded' || final.state === 'timed_out' ? final.state : 'failed';
    r.reason = final.reason;
    r.message = final.message;
    r.exitCode = final.exitCode;
    const build = containerStatus(watcher.state.pod, CONTAINER.build)?.state?.terminated;
    r.finishedAt = (build?.finishedAt ?? new Date(clock.now())).toString();
    if (build?.finishedAt && r.startedAt)
      r.buildSeconds = (Date.parse(build.finishedAt.toString()) - Date.parse(r.startedAt)) / 1000;
    await collect(spec, deps, watcher, r, live);
    if (usesCache(spec) && r.podName && r.startedAt)
      await readCacheOutcome({ kube, spec, pod: r.podName, watcher, reporter, signal: live }, r);
    if (reach?.signal.aborted) throw reach.signal.reason;
    if (spec.bucket && deps.store)
      await uploadBuildRecords(
        { store: deps.store, spec, logPath, withLog: Boolean(r.startedAt) },
        r,
      );
  } catch (err) {
    if (reach?.signal.reason instanceof OutageError && !signal.aborted)
      outage = reach.signal.reason;
    else if (!signal.aborted) throw err;
    else {
      r.status = 'cancelled';
      r.reason = 'Cancelled';
      r.message = `build ${spec.jobName} was cancelled`;
    }
  } finally {
    watcher.stop();
    if (outage) cleanup = await cleanUpAfterOutage(spec, deps, spec.keep);
    else if (!spec.keep || signal.aborted) {
      const gone = await deleteBuild(kube, ns, spec.jobName, spec.kind).catch((err: Error) => {
        reporter.warning(`could not delete ${spec.jobName}: ${err.message}`);
        return false;
      });
      if (gone)
        reporter.info(`Deleted ${spec.kind === 'job' ? 'Job' : 'Pod'} ${ns}/${spec.jobName}`);
    }
    await rm(work, { recursive: true, force: true });
    if (staged && deps.store) await removeContext(deps.store, staged, reporter);
  }
  // After an outage longer than its budget the step fails, saying what became of the build.
  if (outage) throw new Error(`${(outage as OutageError).message}; ${cleanup}`);
  return r;
}

/**
 * cleanUpAfterOutage tries to delete the build for OUTAGE_CLEANUP_MS once an outage outlasted its
 * budget (unless keep), and answers what happened, for the step's error message.
 */
async function cleanUpAfterOutage(
  spec: BuildSpec,
  deps: BuildDeps,
  keep: boolean,
): Promise<string> {
  const what = `${spec.kind === 'job' ? 'Job' : 'Pod'} ${spec.namespace}/${spec.jobName}`;
  if (keep) return `${what} was kept (keep: true)`;
  const deadline = deps.clock.now() + OUTAGE_CLEANUP_MS;
  let last: string;
  for (;;) {
    try {
      const existed = await deleteBuild(deps.kube, spec.namespace, spec.jobName, spec.kind);
      return existed ? `${what} was deleted` : `${what} was already gone`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (deps.clock.now() + 2000 > deadline) break;
    await deps.clock.sleep(2000);
  }
  return (
    `${what} could not be deleted (${last}); it ends by itself at its deadline (input "timeout") ` +
    `and is removed after it ends (ttlSecondsAfterFinished), or delete it with ` +
    `kubectl delete ${spec.kind} -n ${spec.namespace} ${spec.jobName}`
  );
}

/**
 * runAttempt runs one attempt of the build once its Job exists: waits for the
 * start (staging meanwhile), follows the log, and answers the final verdict.
 */
async function runAttempt(
  spec: BuildSpec,
  deps: BuildDeps,
  watcher: BuildWatcher,
  r: BuildResult,
  files: string[] | undefined,
  logPath: string,
  signal: AbortSignal,
): Promise<Verdict> {
  const verdict = await untilStarted(spec, deps, watcher, files, signal);
  const pod = watcher.state.pod;
  r.podName = pod?.metadata?.name;
  r.nodeName = pod?.spec?.nodeName;
  if (r.nodeName) {
    const node = await deps.kube.readNode(r.nodeName).catch(() => undefined);
    r.nodePool = node?.metadata?.labels?.[NODE_POOL_LABEL];
  }
  if (verdict.state !== 'running' && verdict.exitCode === undefined) return verdict;
  const build = containerStatus(pod, CONTAINER.build);
  r.startedAt = (
    build?.state?.running?.startedAt ?? build?.state?.terminated?.startedAt
  )?.toString();
  r.pendingSeconds = r.startedAt
    ? (Date.parse(r.startedAt) - Date.parse(r.createdAt)) / 1000
    : undefined;
  deps.reporter.info(
    `Build started on node ${r.nodeName ?? '?'}${r.nodePool ? ` (node pool ${r.nodePool})` : ''}`,
  );
  await streamLog(spec, deps, watcher, r, logPath, signal);
  return untilEnded(spec, watcher, deps.clock, signal);
}

/** streamLog follows the build container's log until the watcher sees the build end (build/output.ts). */
async function streamLog(
  spec: BuildSpec,
  deps: BuildDeps,
  watcher: BuildWatcher,
  r: BuildResult,
  logPath: string,
  signal: AbortSignal,
): Promise<void> {
  const terminated = watcher
    .until((s) => (ended(s) ? true : undefined), signal)
    .then(
      () => undefined,
      () => undefined,
    );
  await streamBuildLog(
    {
      kube: deps.kube,
      namespace: spec.namespace,
      pod: r.podName ?? '',
      reporter: deps.reporter,
      title: `Build output: ${spec.name} (${spec.arch})`,
      // A retried attempt (Spot) adds to the log of the first one.
      logPath,
      append: true,
      lastLines: LAST_LINES,
      terminated,
      signal,
      onReconnect: (n, why) =>
        deps.reporter.info(
          `(log stream reconnected from the last line seen, attempt ${n}: ${why})`,
        ),
    },
    r,
  );
}

/** COLLECTOR_START_MS bounds the wait for a collector container that has not started yet. */
const COLLECTOR_START_MS = 30_000;

/** collect copies the artifacts out through the collector container, when there is a bucket. */
async function collect(
  spec: BuildSpec,
  deps: BuildDeps,
  watcher: BuildWatcher,
  r: BuildResult,
  signal: AbortSignal,
): Promise<void> {
  if (!spec.bucket || !deps.store) return;
  if (uploadsInCluster(spec)) return verifyUpload(spec, deps, watcher, r, signal);
  // The build can end before the pod's status shows the collector running (the kubelet starts
  // containers one after the other, and the watch event may lag): wait a little for it.
  // The bound runs on the injected clock, so a test's clock ends it at once.
  const bound = new AbortController();
  const waiting = AbortSignal.any([signal, bound.signal]);
  void deps.clock.sleep(COLLECTOR_START_MS, waiting).then(
    () => bound.abort(),
    () => bound.abort(),
  );
  const collector = await watcher
    .until((state) => {
      const c = containerStatus(state.pod, CONTAINER.collector);
      return (!c || c.state?.waiting) && !state.podDeleted ? undefined : { status: c };
    }, waiting)
    .then(
      (v) => v.status,
      () => containerStatus(watcher.state.pod, CONTAINER.collector),
    )
    .finally(() => bound.abort());
  if (!collector?.state?.running || !r.podName) {
    r.artifactsUri = artifactsUriOf(spec.bucket, spec.destination);
    if (r.startedAt)
      deps.reporter.warning(
        `artifacts of ${spec.jobName} could not be collected: the collector container is not running`,
      );
    return;
  }
  const { missing } = await collectBuildArtifacts(
    {
      kube: deps.kube,
      store: deps.store,
      bucket: spec.bucket,
      spec,
      pod: r.podName,
      reporter: deps.reporter,
      signal,
    },
    r,
  );
  if (missing)
    deps.reporter.warning(
      `no artifacts: /workspace/${spec.artifactsPath} does not exist in the pod (input "artifacts_path")`,
    );
  else deps.reporter.info(`Uploaded ${r.artifacts.length} artifacts to ${r.artifactsUri}`);
}

/** verifyUpload checks what the pod's uploader stored (cluster-upload.ts), once it has ended. */
async function verifyUpload(
  spec: BuildSpec,
  deps: BuildDeps,
  watcher: BuildWatcher,
  r: BuildResult,
  signal: AbortSignal,
): Promise<void> {
  if (!r.podName || !r.startedAt) {
    // The build never ran (the preflight, an image or the schedule failed): nothing to upload.
    r.artifactsUri = artifactsUriOf(spec.bucket ?? '', spec.destination);
    return;
  }
  const { missing } = await verifyClusterUpload(
    {
      kube: deps.kube,
      store: deps.store!,
      spec,
      pod: r.podName,
      watcher,
      reporter: deps.reporter,
      signal,
    },
    r,
  );
  if (missing)
    deps.reporter.warning(
      `no artifacts: /workspace/${spec.artifactsPath} does not exist in the pod (input "artifacts_path")`,
    );
  else
    deps.reporter.info(
      `The pod uploaded ${r.artifacts.length} artifacts to ${r.artifactsUri}; GCS confirms the size, CRC32C and generation of each`,
    );
}
