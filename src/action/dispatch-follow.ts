/**
 * dispatch-follow.ts: what mode `dispatch` (wait: true) knows of each build of a dispatch, and
 * how it shows an ended build: its complete log in its own group, then its artifacts, build.log
 * and kbuild.json, uploaded as in mode `build` (src/core/build/output.ts). Builds
 * are shown one at a time, so groups never interleave.
 */
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { collectBuildArtifacts, streamBuildLog, uploadBuildRecords } from '../core/build/output.ts';
import { stageContext } from '../core/build/context.ts';
import type { Clients } from '../core/build/connect.ts';
import { deleteBuild } from '../core/build/create.ts';
import { buildSelector, LABEL } from '../core/inputs/names.ts';
import {
  CONTAINER,
  NODE_POOL_LABEL,
  uploadsInCluster,
  usesCache,
} from '../core/manifest/podspec.ts';
import { readCacheOutcome } from '../core/build/cache.ts';
import { verifyClusterUpload } from '../core/build/cluster-upload.ts';
import { BuildWatcher, containerStatus } from '../core/build/watch.ts';
import type { KubeApi } from '../core/kube/api.ts';
import type { ObjectStore } from '../core/gcs/storage.ts';
import { newBuildResult, type BuildResult } from '../core/build/record.ts';
import { systemClock, type Reporter } from '../core/base/report.ts';
import type { BuildSpec } from '../core/inputs/spec.ts';
import { podVerdict } from '../core/build/verdict.ts';
import {
  buildKey,
  DISPATCH_LABEL,
  isTerminalBuildState,
  type BuildReport,
  type DispatchStatus,
} from '../core/dispatch/protocol.ts';

/** Tracked is what the step knows of one build: the dispatcher's report and what it saw itself. */
export interface Tracked {
  report: BuildReport;
  spec?: BuildSpec;
  result: BuildResult;
  /** shown: its log and artifacts were handled (or it has none). */
  shown: boolean;
  /** staging: the context is being (or was) streamed into its pod; stageError: why that failed. */
  staging?: Promise<void>;
  stageError?: Error;
}

/** FollowerOptions: the dispatch, the local specs by `package/arch`, clients (absent: statuses only). */
export interface FollowerOptions {
  dispatchId: string;
  specs: ReadonlyMap<string, BuildSpec>;
  clients?: Clients;
  reporter: Reporter;
  /** work: a private directory for build.log copies (RUNNER_TEMP). */
  work: string;
  signal: AbortSignal;
  /** stage: the context staged into every build's pod (the dispatch was sent with `stage`). */
  stage?: { dir: string; files: readonly string[] };
}

const created = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();

/** DispatchFollower keeps the builds of one dispatch and shows each once its build ended. */
export class DispatchFollower {
  readonly tracked = new Map<string, Tracked>();
  readonly #o: FollowerOptions;

  constructor(o: FollowerOptions) {
    this.#o = o;
  }

  /** done: every build was shown and the dispatcher reports it ended. */
  get done(): boolean {
    return [...this.tracked.values()].every(
      (t) => t.shown && isTerminalBuildState(t.report.status),
    );
  }

  /** update takes in a status answer and reports every build whose status changed. */
  update(s: DispatchStatus): void {
    for (const b of s.builds) {
      const t = this.tracked.get(b.job_name);
      if (t && t.report.status === b.status) {
        t.report = b;
        continue;
      }
      this.#o.reporter.info(
        `${buildKey(b)}: ${t ? `${t.report.status} -> ` : ''}${b.status} (${b.message})`,
      );
      if (t) {
        t.report = b;
        continue;
      }
      const spec = this.#o.specs.get(buildKey(b));
      const result = newBuildResult(
        { buildId: b.build_id, jobName: b.job_name, namespace: s.namespace },
        new Date().toISOString(),
      );
      this.tracked.set(b.job_name, { report: b, ...(spec ? { spec } : {}), result, shown: false });
    }
  }

  /**
   * showEnded shows, one at a time, every build whose build container ended, and settles those
   * that ended without one. A pod that cannot start (image pull errors, unschedulable past
   * pending_timeout) fails its build: its Job is deleted, and the dispatcher skips its dependents.
   */
  async showEnded(namespace: string): Promise<void> {
    const pending = [...this.tracked.values()].filter((t) => !t.shown);
    const clients = this.#o.clients;
    if (pending.length === 0) return;
    const pods = clients
      ? await clients.kube.listPods(namespace, `${DISPATCH_LABEL}=${this.#o.dispatchId}`)
      : [];
    for (const t of pending) {
      const pod = pods
        .filter((p) => p.metadata?.labels?.[LABEL.buildId] === t.report.build_id)
        .sort((a, b) => created(b) - created(a))[0];
      if (pod && clients) this.#stage(t, pod, clients);
      if (t.stageError && clients && !isTerminalBuildState(t.report.status)) {
        await deleteBuild(clients.kube, namespace, t.report.job_name, 'job');
        const message = `staging ${this.#o.stage?.dir} failed: ${t.stageError.message}`;
        this.#o.reporter.error(`${buildKey(t.report)}: ${message}; deleted its Job`);
        Object.assign(t.result, { status: 'failed', reason: 'StagingFailed', message });
      } else if (pod && clients && containerStatus(pod, CONTAINER.build)?.state?.terminated) {
        await this.#show(t, pod, clients);
      } else if (pod && clients && t.spec && !isTerminalBuildState(t.report.status)) {
        const v = podVerdict(pod, [], new Date(), {
          pendingTimeoutSeconds: t.spec.pendingTimeoutSeconds,
          startedWaitingAt: new Date(created(pod)),
        });
        if (v.state !== 'failed') continue;
        await deleteBuild(clients.kube, namespace, t.report.job_name, 'job');
        this.#o.reporter.error(
          `${buildKey(t.report)} failed before it started; deleted its Job: ${v.message}`,
        );
        Object.assign(t.result, { status: 'failed', reason: v.reason, message: v.message });
      } else if (isTerminalBuildState(t.report.status)) {
        settle(t, undefined);
      } else continue;
      t.shown = true;
    }
  }

  /**
   * #stage starts streaming the context into the pod once its `stage` init container runs (once
   * per build; builds are staged in parallel). A failure is kept for the next poll, which fails
   * the build.
   */
  #stage(t: Tracked, pod: V1Pod, clients: Clients): void {
    const stage = this.#o.stage;
    if (!stage || t.staging || !containerStatus(pod, CONTAINER.stage)?.state?.running) return;
    t.staging = stageContext({
      kube: clients.kube,
      namespace: pod.metadata?.namespace ?? '',
      pod: pod.metadata?.name ?? '',
      dir: stage.dir,
      files: stage.files,
      reporter: this.#o.reporter,
      signal: this.#o.signal,
      label: buildKey(t.report),
    }).catch((err: Error) => {
      t.stageError = err;
    });
  }

  /** #show prints a build's complete log in its own group and collects its artifacts. */
  async #show(t: Tracked, pod: V1Pod, clients: Clients): Promise<void> {
    const { reporter, signal } = this.#o;
    settle(t, pod);
    const r = t.result;
    const name = pod.metadata?.name ?? '';
    const node = r.nodeName
      ? await clients.kube.readNode(r.nodeName).catch(() => undefined)
      : undefined;
    r.nodePool = node?.metadata?.labels?.[NODE_POOL_LABEL];
    const logPath = join(this.#o.work, `${t.report.job_name}.log`);
    const code = r.exitCode !== undefined ? `, exit code ${r.exitCode}` : '';
    await streamBuildLog(
      {
        kube: clients.kube,
        namespace: r.namespace,
        pod: name,
        reporter,
        title: `Build output: ${buildKey(t.report)} (${r.status}${code})`,
        logPath,
        append: false,
        lastLines: 20,
        // The build container already ended: the log is read to its end, then the stream closes.
        terminated: Promise.resolve(),
        signal,
      },
      r,
    );
    const pool = r.nodePool ? ` (node pool ${r.nodePool})` : '';
    reporter.info(
      `${buildKey(t.report)} ${r.status} on node ${r.nodeName ?? '?'}${pool}: ${r.message}`,
    );
    const spec = t.spec;
    const store = clients.store;
    if (spec && usesCache(spec))
      await readCache(t, spec, clients.kube, { reporter, signal, pod: name });
    if (spec?.bucket && store && uploadsInCluster(spec))
      return verifyUploaded(
        t,
        spec,
        { kube: clients.kube, store },
        { reporter, signal, logPath, pod: name },
      );
    if (!spec?.bucket || !store || !containerStatus(pod, CONTAINER.collector)?.state?.running)
      return;
    // Unlike mode build, a missing artifacts_path is not reported here, and build.log is always stored.
    await collectBuildArtifacts(
      { kube: clients.kube, store, bucket: spec.bucket, spec, pod: name, reporter, signal },
      r,
    );
    await uploadBuildRecords({ store, spec, logPath, withLog: true }, r);
    reporter.info(
      `Uploaded ${r.artifacts.length} artifacts of ${buildKey(t.report)} to ${r.artifactsUri}`,
    );
  }
}

/**
 * verifyUploaded: with `upload: cluster` the build's pod stored its artifacts itself; once its
 * uploader ended, the object metadata in GCS is compared with the pod's report
 * (src/core/build/cluster-upload.ts), then build.log and kbuild.json are stored as in mode build.
 * A difference, or an uploader that failed, fails the build.
 */
async function verifyUploaded(
  t: Tracked,
  spec: BuildSpec,
  c: { kube: KubeApi; store: ObjectStore },
  o: { reporter: Reporter; signal: AbortSignal; logPath: string; pod: string },
): Promise<void> {
  const r = t.result;
  const watcher = new BuildWatcher(c.kube, r.namespace, buildSelector(t.report.build_id), {
    clock: systemClock,
    watchJob: true,
  });
  try {
    const { missing } = await verifyClusterUpload(
      {
        kube: c.kube,
        store: c.store,
        spec,
        pod: o.pod,
        watcher,
        reporter: o.reporter,
        signal: o.signal,
      },
      r,
    );
    o.reporter.info(
      missing
        ? `${buildKey(t.report)}: no artifacts (/workspace/${spec.artifactsPath} does not exist in the pod)`
        : `The pod of ${buildKey(t.report)} uploaded ${r.artifacts.length} artifacts to ${r.artifactsUri}; GCS confirms the size, CRC32C and generation of each`,
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    o.reporter.error(`${buildKey(t.report)}: ${message}`);
    Object.assign(r, { status: 'failed', reason: 'UploadFailed', message });
  } finally {
    watcher.stop();
  }
  await uploadBuildRecords({ store: c.store, spec, logPath: o.logPath, withLog: true }, r);
}

/**
 * readCache reads what a build's cache containers reported (src/core/build/cache.ts), waiting for
 * the save of a successful build, so its outcome is in kbuild.json and the `builds` output.
 */
async function readCache(
  t: Tracked,
  spec: BuildSpec,
  kube: KubeApi,
  o: { reporter: Reporter; signal: AbortSignal; pod: string },
): Promise<void> {
  const watcher = new BuildWatcher(kube, t.result.namespace, buildSelector(t.report.build_id), {
    clock: systemClock,
    watchJob: true,
  });
  try {
    await readCacheOutcome(
      { kube, spec, pod: o.pod, watcher, reporter: o.reporter, signal: o.signal },
      t.result,
    );
  } finally {
    watcher.stop();
  }
}

/** settle fills a build's result from its pod (verdict, exit code, node, times), else from its report. */
export function settle(t: Tracked, pod: V1Pod | undefined): void {
  const r = t.result;
  if (!pod) {
    r.status = t.report.status === 'succeeded' ? 'succeeded' : 'failed';
    r.reason = t.report.reason;
    r.message = t.report.message;
    return;
  }
  const v = podVerdict(pod, [], new Date(), {
    pendingTimeoutSeconds: Number.MAX_SAFE_INTEGER,
    startedWaitingAt: new Date(),
  });
  r.status = v.state === 'succeeded' || v.state === 'timed_out' ? v.state : 'failed';
  r.reason = v.reason;
  r.message = v.message;
  if (v.exitCode !== undefined) r.exitCode = v.exitCode;
  r.podName = pod.metadata?.name;
  r.nodeName = pod.spec?.nodeName;
  const term = containerStatus(pod, CONTAINER.build)?.state?.terminated;
  if (term?.startedAt) r.startedAt = new Date(term.startedAt).toISOString();
  if (term?.finishedAt) r.finishedAt = new Date(term.finishedAt).toISOString();
  if (r.startedAt && r.finishedAt)
    r.buildSeconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
}
