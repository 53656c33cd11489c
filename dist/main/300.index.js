export const id = 300;
export const ids = [300];
export const modules = {

/***/ 94300:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runBuild: () => (/* binding */ runBuild)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: external "node:events"
var external_node_events_ = __webpack_require__(78474);
// EXTERNAL MODULE: ./build/src/core/artifacts.js + 1 modules
var artifacts = __webpack_require__(61742);
// EXTERNAL MODULE: ./build/src/core/build-watch.js
var build_watch = __webpack_require__(44067);
// EXTERNAL MODULE: ./build/src/core/context.js + 1 modules
var context = __webpack_require__(6274);
// EXTERNAL MODULE: ./build/src/core/destination.js
var destination = __webpack_require__(19469);
// EXTERNAL MODULE: ./build/src/core/logs.js
var logs = __webpack_require__(92374);
// EXTERNAL MODULE: ./build/src/core/manifest.js
var manifest = __webpack_require__(76628);
// EXTERNAL MODULE: ./build/src/core/names.js
var names = __webpack_require__(11285);
// EXTERNAL MODULE: ./build/src/core/parse.js
var parse = __webpack_require__(11874);
// EXTERNAL MODULE: ./build/src/core/podspec.js
var podspec = __webpack_require__(27309);
// EXTERNAL MODULE: ./build/src/core/record.js
var record = __webpack_require__(86528);
// EXTERNAL MODULE: ./build/src/core/events.js
var core_events = __webpack_require__(77072);
// EXTERNAL MODULE: ./build/src/core/verdict.js
var verdict = __webpack_require__(18732);
// EXTERNAL MODULE: ./build/src/core/create.js
var create = __webpack_require__(85501);
;// CONCATENATED MODULE: ./build/src/core/permissions.js
/** requiredPermissions lists what runBuild will do in the namespace for this spec. */
function requiredPermissions(spec) {
    const ns = spec.namespace;
    const c = (verb, group, resource, subresource) => ({
        verb,
        group,
        resource,
        namespace: ns,
        ...(subresource ? { subresource } : {}),
    });
    const out = [];
    if (spec.kind === 'job')
        out.push(c('create', 'batch', 'jobs'));
    else
        out.push(c('create', '', 'pods'));
    if (Object.keys(spec.secretEnv).length > 0)
        out.push(c('create', '', 'secrets'), c('patch', '', 'secrets'), c('delete', '', 'secrets'));
    if (!spec.watch)
        return out;
    if (spec.kind === 'job')
        out.push(c('list', 'batch', 'jobs'), c('watch', 'batch', 'jobs'));
    out.push(c('list', '', 'pods'), c('watch', '', 'pods'), c('get', '', 'pods', 'log'), c('list', '', 'events'));
    // Exec over WebSocket is an upgraded GET: the API server checks `get`, and
    // since Kubernetes 1.35 also `create` (AuthorizePodWebsocketUpgradeCreatePermission).
    if (spec.context || spec.bucket)
        out.push(c('create', '', 'pods', 'exec'), c('get', '', 'pods', 'exec'));
    if (!spec.keep)
        out.push(spec.kind === 'job' ? c('delete', 'batch', 'jobs') : c('delete', '', 'pods'));
    return out;
}
/** describe renders a check like RBAC: `create batch/jobs`, `get pods/log`. */
function describeCheck(a) {
    const res = `${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
    return `${a.verb} ${res}`;
}
/** PermissionError: the identity lacks RBAC permissions; `missing` lists them. */
class PermissionError extends Error {
    name = 'PermissionError';
    missing;
    constructor(missing, namespace) {
        super(`the identity of this step is missing Kubernetes permissions in namespace "${namespace}": ` +
            `${missing.map(describeCheck).join(', ')}. Grant them with a Role bound to the service account ` +
            '(deploy/kubernetes/ has the least-privilege Role of the action).');
        this.missing = missing;
    }
}
/** checkPermissions throws PermissionError when any required permission is denied; a no-op when the client cannot check. */
async function checkPermissions(kube, spec) {
    if (!kube.canI)
        return;
    const missing = await kube.canI(requiredPermissions(spec));
    if (missing.length > 0)
        throw new PermissionError(missing, spec.namespace);
}

;// CONCATENATED MODULE: ./build/src/core/lifecycle.js
/**
 * lifecycle.ts: one build from creation to cleanup (DESIGN section 2, steps
 * 4-10) over injected clients: create the Secret and the Job (or Pod), watch
 * until the build container starts while staging the source, follow its log,
 * collect and upload the artifacts, the log and kbuild.json, and delete the Job.
 * Failures are diagnosed from the pod and Job status (verdict.ts) with the
 * last events; cancellation (`signal`) deletes the Job at once.
 */



















const LAST_LINES = 20;
/**
 * runBuild runs one build and answers its result; it does not throw for a
 * failed build (status `failed`, `timed_out`, `cancelled`), only for errors
 * before anything was created (bad context, API refusals on create).
 */
async function runBuild(spec, deps, signal) {
    const { kube, reporter, clock } = deps;
    const ns = spec.namespace;
    const listing = spec.context ? await (0,context/* listContext */.Yr)(spec.context) : undefined;
    const manifests = (0,manifest/* renderManifests */.hO)(spec);
    const r = {
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
    const created = await (0,create/* createObjects */.h)(kube, ns, manifests, (owner, secret) => (0,manifest/* withOwner */.kP)(secret, owner));
    deps.onCreated?.({ namespace: ns, jobName: spec.jobName, kind: spec.kind });
    reporter.info(`${created.adopted ? 'Found existing' : 'Created'} ${spec.kind === 'job' ? 'Job' : 'Pod'} ${ns}/${spec.jobName} (${spec.arch}, image ${spec.image})`);
    if (!spec.watch) {
        r.status = 'created';
        r.reason = 'Created';
        r.message = `created ${spec.jobName}; not watching it (watch: false)`;
        return r;
    }
    const watcher = new build_watch/* BuildWatcher */.n(kube, ns, (0,names/* buildSelector */.y1)(spec.buildId), {
        clock,
        watchJob: spec.kind === 'job',
    });
    const work = await (0,promises_.mkdtemp)((0,external_node_path_.join)(deps.tempDir, 'kbuild-'));
    const logPath = (0,external_node_path_.join)(work, 'build.log');
    try {
        let final = await runAttempt(spec, deps, watcher, r, listing?.files, logPath, signal);
        if (final.retryable && spec.spot && spec.kind === 'job' && !signal.aborted) {
            // A Spot VM was reclaimed under the build: retry once on another node (DESIGN section 3, `spot`).
            reporter.warning(`${final.message}; retrying the build once`);
            await (0,create/* deleteBuild */.k)(kube, ns, spec.jobName, 'job');
            await watcher.until((s) => (s.job || s.pods.size > 0 ? undefined : true), AbortSignal.any([signal, AbortSignal.timeout(120_000)]));
            await (0,create/* createObjects */.h)(kube, ns, manifests, (owner, secret) => (0,manifest/* withOwner */.kP)(secret, owner));
            final = await runAttempt(spec, deps, watcher, r, listing?.files, logPath, signal);
        }
        if (final.state !== 'succeeded')
            final = await withEvents(kube, ns, watcher.state, final);
        r.status = final.state === 'succeeded' || final.state === 'timed_out' ? final.state : 'failed';
        r.reason = final.reason;
        r.message = final.message;
        r.exitCode = final.exitCode;
        const build = (0,build_watch/* containerStatus */.a)(watcher.state.pod, podspec/* CONTAINER */.MR.build)?.state?.terminated;
        r.finishedAt = (build?.finishedAt ?? new Date(clock.now())).toString();
        if (build?.finishedAt && r.startedAt)
            r.buildSeconds = (Date.parse(build.finishedAt.toString()) - Date.parse(r.startedAt)) / 1000;
        await collect(spec, deps, watcher, r, signal);
        await uploadRecords(spec, deps, r, logPath);
    }
    catch (err) {
        if (!signal.aborted)
            throw err;
        r.status = 'cancelled';
        r.reason = 'Cancelled';
        r.message = `build ${spec.jobName} was cancelled`;
    }
    finally {
        watcher.stop();
        if (!spec.keep || signal.aborted) {
            const gone = await (0,create/* deleteBuild */.k)(kube, ns, spec.jobName, spec.kind).catch((err) => {
                reporter.warning(`could not delete ${spec.jobName}: ${err.message}`);
                return false;
            });
            if (gone)
                reporter.info(`Deleted ${spec.kind === 'job' ? 'Job' : 'Pod'} ${ns}/${spec.jobName}`);
        }
        await (0,promises_.rm)(work, { recursive: true, force: true });
    }
    return r;
}
/**
 * runAttempt runs one attempt of the build once its Job exists: waits for the
 * start (staging meanwhile), follows the log, and answers the final verdict.
 */
async function runAttempt(spec, deps, watcher, r, files, logPath, signal) {
    const verdict = await untilStarted(spec, deps, watcher, files, signal);
    const pod = watcher.state.pod;
    r.podName = pod?.metadata?.name;
    r.nodeName = pod?.spec?.nodeName;
    if (r.nodeName) {
        const node = await deps.kube.readNode(r.nodeName).catch(() => undefined);
        r.nodePool = node?.metadata?.labels?.[podspec/* NODE_POOL_LABEL */.Vw];
    }
    if (verdict.state !== 'running' && verdict.exitCode === undefined)
        return verdict;
    const build = (0,build_watch/* containerStatus */.a)(pod, podspec/* CONTAINER */.MR.build);
    r.startedAt = (build?.state?.running?.startedAt ?? build?.state?.terminated?.startedAt)?.toString();
    r.pendingSeconds = r.startedAt
        ? (Date.parse(r.startedAt) - Date.parse(r.createdAt)) / 1000
        : undefined;
    deps.reporter.info(`Build started on node ${r.nodeName ?? '?'}${r.nodePool ? ` (node pool ${r.nodePool})` : ''}`);
    await streamLog(spec, deps, watcher, r, logPath, signal);
    return untilEnded(spec, watcher, deps.clock, signal);
}
/** untilStarted waits for the build container to start (or the build to fail first), staging the source meanwhile. */
async function untilStarted(spec, deps, watcher, files, signal) {
    const { reporter, kube } = deps;
    const since = new Date(deps.clock.now());
    let staging;
    let stagingError;
    let lastReason = '';
    let lastReport = deps.clock.now();
    return watcher.until((s) => {
        if (stagingError)
            throw stagingError;
        const now = new Date(deps.clock.now());
        const job = s.job ? (0,verdict/* jobVerdict */.pS)(s.job) : undefined;
        if (job && (job.state === 'failed' || job.state === 'timed_out'))
            return job;
        const pod = s.pod;
        const v = pod
            ? (0,verdict/* podVerdict */.nx)(pod, [], now, {
                pendingTimeoutSeconds: spec.pendingTimeoutSeconds,
                startedWaitingAt: since,
            })
            : job?.state === 'queued'
                ? job
                : pendingWithoutPod(spec, since, now);
        if (pod && files && !staging && (0,build_watch/* containerStatus */.a)(pod, podspec/* CONTAINER */.MR.stage)?.state?.running) {
            staging = stage(spec, kube, pod, files, reporter, signal).catch((err) => {
                stagingError = new Error(`staging ${spec.context} into pod ${pod.metadata?.name} failed: ${err.message}`);
            });
        }
        if (v.state === 'pending' || v.state === 'queued') {
            const waited = (now.getTime() - since.getTime()) / 1000;
            if (v.reason !== lastReason || now.getTime() - lastReport >= 30_000) {
                reporter.info(`Waiting: ${v.message} (${(0,parse/* formatDuration */.a3)(Math.round(waited))})`);
                lastReason = v.reason;
                lastReport = now.getTime();
            }
            return undefined;
        }
        return v;
    }, signal);
}
function pendingWithoutPod(spec, since, now) {
    const waited = (now.getTime() - since.getTime()) / 1000;
    if (waited > spec.pendingTimeoutSeconds) {
        return {
            state: 'failed',
            reason: 'PendingTimeout',
            message: `no pod was created for ${spec.jobName} within ${(0,parse/* formatDuration */.a3)(spec.pendingTimeoutSeconds)}`,
        };
    }
    return {
        state: 'pending',
        reason: 'NoPod',
        message: spec.kind === 'job'
            ? `waiting for the Job controller to create the pod of ${spec.jobName}`
            : `waiting for pod ${spec.jobName} to be seen`,
    };
}
/** stage streams the context into the `stage` init container (context.ts). */
async function stage(spec, kube, pod, files, reporter, signal) {
    const { stream, stats } = (0,context/* packContext */.JH)(spec.context ?? '.', files);
    const res = await kube.exec({
        namespace: spec.namespace,
        pod: pod.metadata?.name ?? '',
        container: podspec/* CONTAINER */.MR.stage,
        command: context/* STAGE_COMMAND */.tl,
        stdin: stream,
        signal,
    });
    const st = await stats;
    if (res.exitCode !== 0)
        throw new Error(`tar exited with code ${res.exitCode}: ${res.message}`);
    reporter.info(`Staged ${st.files} files (${(st.bytes / 1048576).toFixed(1)} MiB) from ${spec.context} into /workspace`);
    for (const s of st.skipped)
        reporter.warning(`not staged: ${s} (not a regular file or symlink)`);
}
/** streamLog follows the build container's log into the reporter and a local copy (build.log). */
async function streamLog(spec, deps, watcher, r, logPath, signal) {
    const pod = r.podName ?? '';
    const file = (0,external_node_fs_.createWriteStream)(logPath, { flags: 'a' });
    const terminated = watcher
        .until((s) => (ended(s) ? true : undefined), signal)
        .then(() => undefined, () => undefined);
    deps.reporter.startGroup(`Build output: ${spec.name} (${spec.arch})`);
    try {
        const res = await (0,logs/* followLogs */.VF)({
            open: (sinceTime, sig) => deps.kube.openLog({
                namespace: spec.namespace,
                pod,
                container: podspec/* CONTAINER */.MR.build,
                follow: true,
                timestamps: true,
                sinceTime,
            }, sig),
            onLine: async (line) => {
                r.lastLines.push(line.text);
                if (r.lastLines.length > LAST_LINES)
                    r.lastLines.shift();
                if (!file.write(`${line.text}\n`))
                    await (0,external_node_events_.once)(file, 'drain');
                await deps.reporter.buildLine(line.text);
            },
            terminated,
            signal,
            onReconnect: (n, why) => deps.reporter.info(`(log stream reconnected from the last line seen, attempt ${n}: ${why})`),
        });
        r.logLines = res.lines;
        r.logReconnects = res.reconnects;
    }
    finally {
        deps.reporter.endGroup();
        file.end();
        await (0,external_node_events_.once)(file, 'close');
    }
}
/** ended: the build container terminated, or its pod is gone, or the Job failed. */
function ended(s) {
    if ((0,build_watch/* containerStatus */.a)(s.pod, podspec/* CONTAINER */.MR.build)?.state?.terminated)
        return true;
    if (s.podDeleted)
        return true;
    const phase = s.pod?.status?.phase;
    if (phase === 'Failed' || phase === 'Succeeded')
        return true;
    const j = s.job ? (0,verdict/* jobVerdict */.pS)(s.job).state : undefined;
    return j === 'failed' || j === 'timed_out';
}
/** untilEnded waits for the final verdict once the build container ran. */
function untilEnded(spec, watcher, clock, signal) {
    return watcher.until((s) => {
        if (!ended(s))
            return undefined;
        const job = s.job ? (0,verdict/* jobVerdict */.pS)(s.job) : undefined;
        if (job?.state === 'timed_out')
            return job;
        if (s.pod) {
            const v = (0,verdict/* podVerdict */.nx)(s.pod, [], new Date(clock.now()), {
                pendingTimeoutSeconds: spec.pendingTimeoutSeconds,
                startedWaitingAt: new Date(0),
            });
            // The last state seen of a deleted pod still tells a preemption (DisruptionTarget).
            if (v.retryable || (!s.podDeleted && v.state !== 'running' && v.state !== 'pending'))
                return v;
        }
        if (job && job.state !== 'running' && job.state !== 'pending')
            return job;
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
async function withEvents(kube, ns, s, v) {
    const name = s.pod?.metadata?.name ?? s.job?.metadata?.name;
    if (!name)
        return v;
    const events = await kube.listEvents(ns, name).catch(() => []);
    if (events.length === 0)
        return v;
    return { ...v, message: `${v.message}\nRecent events:\n${(0,core_events/* formatEvents */.n)(events, 10)}` };
}
/** collect copies the artifacts out through the collector container, when there is a bucket. */
async function collect(spec, deps, watcher, r, signal) {
    if (!spec.bucket || !deps.store)
        return;
    r.artifactsUri = (0,destination/* gcsUri */.ok)(spec.bucket, `${spec.destination}/`);
    const collector = (0,build_watch/* containerStatus */.a)(watcher.state.pod, podspec/* CONTAINER */.MR.collector);
    if (!collector?.state?.running || !r.podName) {
        if (r.startedAt)
            deps.reporter.warning(`artifacts of ${spec.jobName} could not be collected: the collector container is not running`);
        return;
    }
    const res = await (0,artifacts/* collectArtifacts */.kx)({
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
        deps.reporter.warning(`no artifacts: /workspace/${spec.artifactsPath} does not exist in the pod (input "artifacts_path")`);
    else
        deps.reporter.info(`Uploaded ${res.artifacts.length} artifacts to ${r.artifactsUri}`);
}
/** uploadRecords stores build.log and kbuild.json beside the artifacts. */
async function uploadRecords(spec, deps, r, logPath) {
    if (!spec.bucket || !deps.store)
        return;
    if (r.startedAt) {
        const log = await deps.store.upload((0,destination/* objectName */.Hd)(spec.destination, 'build.log'), () => (0,external_node_fs_.createReadStream)(logPath), { contentType: 'text/plain; charset=utf-8' });
        r.logUri = log.uri;
    }
    const json = Buffer.from(JSON.stringify((0,record/* kbuildRecord */.D)(spec, r), null, 2) + '\n');
    await deps.store.upload((0,destination/* objectName */.Hd)(spec.destination, 'kbuild.json'), () => external_node_stream_.Readable.from([json]), { contentType: 'application/json', size: json.length });
}


/***/ })

};
