/**
 * lifecycle.ts: one build from creation to cleanup (DESIGN section 2, steps
 * 4-10) over injected clients: create the Secret and the Job (or Pod), watch
 * until the build container starts while staging the source, follow its log,
 * collect and upload the artifacts, the log and kbuild.json, and delete the Job.
 * Failures are diagnosed from the pod and Job status (verdict.ts) with the
 * last events; cancellation (`signal`) deletes the Job at once.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { collectArtifacts } from './artifacts.ts';
import { BuildWatcher, containerStatus, type BuildObjects } from './build-watch.ts';
import { listContext, stageContext } from './context.ts';
import { gcsUri, objectName } from './destination.ts';
import type { KubeApi } from './kube-api.ts';
import { followLogs } from './logs.ts';
import { renderManifests, withOwner } from './manifest.ts';
import { buildSelector } from './names.ts';
import { formatDuration } from './parse.ts';
import { CONTAINER, NODE_POOL_LABEL } from './podspec.ts';
import { kbuildRecord, type BuildResult } from './record.ts';
import type { Clock, Reporter } from './report.ts';
import type { BuildSpec } from './spec.ts';
import type { ObjectStore } from './storage.ts';
import { formatEvents } from './events.ts';
import { jobVerdict, podVerdict, type Verdict } from './verdict.ts';
import { createObjects, deleteBuild } from './create.ts';
import { checkPermissions } from './permissions.ts';

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
}

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
  const manifests = renderManifests(spec);
  const r: BuildResult = {
    buildId: spec.buildId,
    jobName: spec.jobName,
    namespace: ns,
    status: 'failed',
    reason: '',
    message: '',
    createdAt: new Date(clock.now()).toISOString(),
    artifacts: [],
    skipped: [],
    lastLines: [],
    logLines: 0,
    logReconnects: 0,
  };
  await checkPermissions(kube, spec);
  const created = await createObjects(kube, ns, manifests, (owner, secret) =>
    withOwner(secret, owner),
  );
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

  const watcher = new BuildWatcher(kube, ns, buildSelector(spec.buildId), {
    clock,
    watchJob: spec.kind === 'job',
  });
  const work = await mkdtemp(join(deps.tempDir, 'kbuild-'));
  const logPath = join(work, 'build.log');
  try {
    let final = await runAttempt(spec, deps, watcher, r, listing?.files, logPath, signal);
    if (final.retryable && spec.spot && spec.kind === 'job' && !signal.aborted) {
      // A Spot VM was reclaimed under the build: retry once on another node (DESIGN section 3, `spot`).
      reporter.warning(`${final.message}; retrying the build once`);
      await deleteBuild(kube, ns, spec.jobName, 'job');
      await watcher.until(
        (s) => (s.job || s.pods.size > 0 ? undefined : true),
        AbortSignal.any([signal, AbortSignal.timeout(120_000)]),
      );
      await createObjects(kube, ns, manifests, (owner, secret) => withOwner(secret, owner));
      final = await runAttempt(spec, deps, watcher, r, listing?.files, logPath, signal);
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
    await collect(spec, deps, watcher, r, signal);
    await uploadRecords(spec, deps, r, logPath);
  } catch (err) {
    if (!signal.aborted) throw err;
    r.status = 'cancelled';
    r.reason = 'Cancelled';
    r.message = `build ${spec.jobName} was cancelled`;
  } finally {
    watcher.stop();
    if (!spec.keep || signal.aborted) {
      const gone = await deleteBuild(kube, ns, spec.jobName, spec.kind).catch((err: Error) => {
        reporter.warning(`could not delete ${spec.jobName}: ${err.message}`);
        return false;
      });
      if (gone)
        reporter.info(`Deleted ${spec.kind === 'job' ? 'Job' : 'Pod'} ${ns}/${spec.jobName}`);
    }
    await rm(work, { recursive: true, force: true });
  }
  return r;
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

/** untilStarted waits for the build container to start (or the build to fail first), staging the source meanwhile. */
async function untilStarted(
  spec: BuildSpec,
  deps: BuildDeps,
  watcher: BuildWatcher,
  files: string[] | undefined,
  signal: AbortSignal,
): Promise<Verdict> {
  const { reporter, kube } = deps;
  const since = new Date(deps.clock.now());
  let staging: Promise<void> | undefined;
  let stagingError: Error | undefined;
  let lastReason = '';
  let lastReport = deps.clock.now();
  return watcher.until((s) => {
    if (stagingError) throw stagingError;
    const now = new Date(deps.clock.now());
    const job = s.job ? jobVerdict(s.job) : undefined;
    if (job && (job.state === 'failed' || job.state === 'timed_out')) return job;
    const pod = s.pod;
    const v: Verdict = pod
      ? podVerdict(pod, [], now, {
          pendingTimeoutSeconds: spec.pendingTimeoutSeconds,
          startedWaitingAt: since,
        })
      : job?.state === 'queued'
        ? job
        : pendingWithoutPod(spec, since, now);
    if (pod && files && !staging && containerStatus(pod, CONTAINER.stage)?.state?.running) {
      staging = stageContext({
        kube,
        namespace: spec.namespace,
        pod: pod.metadata?.name ?? '',
        dir: spec.context ?? '.',
        files,
        reporter,
        signal,
      }).catch((err: Error) => {
        stagingError = new Error(
          `staging ${spec.context} into pod ${pod.metadata?.name} failed: ${err.message}`,
        );
      });
    }
    if (v.state === 'pending' || v.state === 'queued') {
      const waited = (now.getTime() - since.getTime()) / 1000;
      if (v.reason !== lastReason || now.getTime() - lastReport >= 30_000) {
        reporter.info(`Waiting: ${v.message} (${formatDuration(Math.round(waited))})`);
        lastReason = v.reason;
        lastReport = now.getTime();
      }
      return undefined;
    }
    return v;
  }, signal);
}

function pendingWithoutPod(spec: BuildSpec, since: Date, now: Date): Verdict {
  const waited = (now.getTime() - since.getTime()) / 1000;
  if (waited > spec.pendingTimeoutSeconds) {
    return {
      state: 'failed',
      reason: 'PendingTimeout',
      message: `no pod was created for ${spec.jobName} within ${formatDuration(spec.pendingTimeoutSeconds)}`,
    };
  }
  return {
    state: 'pending',
    reason: 'NoPod',
    message:
      spec.kind === 'job'
        ? `waiting for the Job controller to create the pod of ${spec.jobName}`
        : `waiting for pod ${spec.jobName} to be seen`,
  };
}

/** streamLog follows the build container's log into the reporter and a local copy (build.log). */
async function streamLog(
  spec: BuildSpec,
  deps: BuildDeps,
  watcher: BuildWatcher,
  r: BuildResult,
  logPath: string,
  signal: AbortSignal,
): Promise<void> {
  const pod = r.podName ?? '';
  const file = createWriteStream(logPath, { flags: 'a' });
  const terminated = watcher
    .until((s) => (ended(s) ? true : undefined), signal)
    .then(
      () => undefined,
      () => undefined,
    );
  deps.reporter.startGroup(`Build output: ${spec.name} (${spec.arch})`);
  try {
    const res = await followLogs({
      open: (sinceTime, sig) =>
        deps.kube.openLog(
          {
            namespace: spec.namespace,
            pod,
            container: CONTAINER.build,
            follow: true,
            timestamps: true,
            sinceTime,
          },
          sig,
        ),
      onLine: async (line) => {
        r.lastLines.push(line.text);
        if (r.lastLines.length > LAST_LINES) r.lastLines.shift();
        if (!file.write(`${line.text}\n`)) await once(file, 'drain');
        await deps.reporter.buildLine(line.text);
      },
      terminated,
      signal,
      onReconnect: (n, why) =>
        deps.reporter.info(
          `(log stream reconnected from the last line seen, attempt ${n}: ${why})`,
        ),
    });
    r.logLines = res.lines;
    r.logReconnects = res.reconnects;
  } finally {
    deps.reporter.endGroup();
    file.end();
    await once(file, 'close');
  }
}

/** ended: the build container terminated, or its pod is gone, or the Job failed. */
function ended(s: BuildObjects): boolean {
  if (containerStatus(s.pod, CONTAINER.build)?.state?.terminated) return true;
  if (s.podDeleted) return true;
  const phase = s.pod?.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return true;
  const j = s.job ? jobVerdict(s.job).state : undefined;
  return j === 'failed' || j === 'timed_out';
}

/** untilEnded waits for the final verdict once the build container ran. */
function untilEnded(
  spec: BuildSpec,
  watcher: BuildWatcher,
  clock: Clock,
  signal: AbortSignal,
): Promise<Verdict> {
  return watcher.until((s) => {
    if (!ended(s)) return undefined;
    const job = s.job ? jobVerdict(s.job) : undefined;
    if (job?.state === 'timed_out') return job;
    if (s.pod) {
      const v = podVerdict(s.pod, [], new Date(clock.now()), {
        pendingTimeoutSeconds: spec.pendingTimeoutSeconds,
        startedWaitingAt: new Date(0),
      });
      // The last state seen of a deleted pod still tells a preemption (DisruptionTarget).
      if (v.retryable || (!s.podDeleted && v.state !== 'running' && v.state !== 'pending'))
        return v;
    }
    if (job && job.state !== 'running' && job.state !== 'pending') return job;
    if (s.podDeleted)
      return {
        state: 'failed',
        reason: 'PodDeleted',
        message: `pod of ${spec.jobName} was deleted before the build ended`,
      };
    return undefined;
  }, signal);
}

/** withEvents adds the pod's (or Job's) last events to a failure message. */
async function withEvents(
  kube: KubeApi,
  ns: string,
  s: BuildObjects,
  v: Verdict,
): Promise<Verdict> {
  const name = s.pod?.metadata?.name ?? s.job?.metadata?.name;
  if (!name) return v;
  const events = await kube.listEvents(ns, name).catch(() => []);
  if (events.length === 0) return v;
  return { ...v, message: `${v.message}\nRecent events:\n${formatEvents(events, 10)}` };
}

/** collect copies the artifacts out through the collector container, when there is a bucket. */
async function collect(
  spec: BuildSpec,
  deps: BuildDeps,
  watcher: BuildWatcher,
  r: BuildResult,
  signal: AbortSignal,
): Promise<void> {
  if (!spec.bucket || !deps.store) return;
  r.artifactsUri = gcsUri(spec.bucket, `${spec.destination}/`);
  const collector = containerStatus(watcher.state.pod, CONTAINER.collector);
  if (!collector?.state?.running || !r.podName) {
    if (r.startedAt)
      deps.reporter.warning(
        `artifacts of ${spec.jobName} could not be collected: the collector container is not running`,
      );
    return;
  }
  const res = await collectArtifacts({
    kube: deps.kube,
    namespace: spec.namespace,
    pod: r.podName,
    artifactsPath: spec.artifactsPath,
    prefix: spec.destination,
    store: deps.store,
    signal,
    onWarning: (m) => deps.reporter.warning(m),
  });
  r.artifacts = res.artifacts;
  r.skipped = res.skipped;
  if (res.missing)
    deps.reporter.warning(
      `no artifacts: /workspace/${spec.artifactsPath} does not exist in the pod (input "artifacts_path")`,
    );
  else deps.reporter.info(`Uploaded ${res.artifacts.length} artifacts to ${r.artifactsUri}`);
}

/** uploadRecords stores build.log and kbuild.json beside the artifacts. */
async function uploadRecords(
  spec: BuildSpec,
  deps: BuildDeps,
  r: BuildResult,
  logPath: string,
): Promise<void> {
  if (!spec.bucket || !deps.store) return;
  if (r.startedAt) {
    const log = await deps.store.upload(
      objectName(spec.destination, 'build.log'),
      () => createReadStream(logPath),
      { contentType: 'text/plain; charset=utf-8' },
    );
    r.logUri = log.uri;
  }
  const json = Buffer.from(JSON.stringify(kbuildRecord(spec, r), null, 2) + '\n');
  await deps.store.upload(
    objectName(spec.destination, 'kbuild.json'),
    () => Readable.from([json]),
    { contentType: 'application/json', size: json.length },
  );
}
