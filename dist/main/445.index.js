export const id = 445;
export const ids = [445];
export const modules = {

/***/ 70593:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  DispatchFollower: () => (/* binding */ DispatchFollower),
  settle: () => (/* binding */ settle)
});

// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./build/src/core/build-output.js + 4 modules
var build_output = __webpack_require__(24138);
// EXTERNAL MODULE: ./build/src/core/build-watch.js
var build_watch = __webpack_require__(44067);
// EXTERNAL MODULE: ./build/src/core/context.js + 1 modules
var context = __webpack_require__(6274);
// EXTERNAL MODULE: ./build/src/core/create.js
var create = __webpack_require__(85501);
// EXTERNAL MODULE: ./build/src/core/names.js
var names = __webpack_require__(11285);
// EXTERNAL MODULE: ./build/src/core/podspec.js
var podspec = __webpack_require__(27309);
// EXTERNAL MODULE: ./build/src/core/verdict.js
var verdict = __webpack_require__(18732);
;// CONCATENATED MODULE: ./build/src/core/dispatch/protocol.js
// protocol.ts: what the dispatcher and its clients agree on besides the request body
// (request.ts): the labels and annotations that keep a dispatch's state on its Jobs and pods,
// and the JSON answers of `GET` and `DELETE /v1/dispatches/{id}` (docs/dispatcher.md).
/** DISPATCH_LABEL carries the dispatch id on every Job and pod of a dispatch. */
const DISPATCH_LABEL = 'kbuild.dev/dispatch-id';
/** DISPATCH_ANNOTATION names the annotations that hold a dispatch's state on its Jobs. */
const DISPATCH_ANNOTATION = {
    /**
     * plan: JSON PlanEntry[] of the whole dispatch, on its first Job only (the plan holder), so a
     * build whose Job was never created is still known. Only one Job carries it: on every Job it
     * made a dispatch of N builds cost O(N^2) bytes (86 KB per Job at 500 builds, bench/fanout.ts).
     */
    plan: 'kbuild.dev/dispatch-plan',
    /** build: JSON PlanEntry of the Job's own build, on every Job (the plan without its holder). */
    build: 'kbuild.dev/dispatch-build',
    /** requestHash: SHA-256 of the validated request; another request for the same builds is a 409. */
    requestHash: 'kbuild.dev/request-hash',
    /** repositoryId: the caller's repository_id; only that repository may read or cancel. */
    repositoryId: 'kbuild.dev/repository-id',
    /** gate: `dependencies` while kbuild holds the suspended Job back for its dependencies. */
    gate: 'kbuild.dev/gate',
    /** queue: the Kueue queue to label the Job with once its dependencies succeeded. */
    queue: 'kbuild.dev/queue-name',
    /** skipped: why the Job will never run (a dependency failed); it stays suspended. */
    skipped: 'kbuild.dev/skipped',
};
/** GATE_DEPENDENCIES is the value of the gate annotation. */
const GATE_DEPENDENCIES = 'dependencies';

// EXTERNAL MODULE: ./build/src/action/dispatch-summary.js
var dispatch_summary = __webpack_require__(9473);
;// CONCATENATED MODULE: ./build/src/action/dispatch-follow.js
/**
 * dispatch-follow.ts: what mode `dispatch` (wait: true) knows of each build of a dispatch, and
 * how it shows an ended build: its complete log in its own group, then its artifacts, build.log
 * and kbuild.json, uploaded as in mode `build` (src/core/build-output.ts). Builds
 * are shown one at a time, so groups never interleave.
 */










const created = (p) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
/** DispatchFollower keeps the builds of one dispatch and shows each once its build ended. */
class DispatchFollower {
    tracked = new Map();
    #o;
    constructor(o) {
        this.#o = o;
    }
    /** done: every build was shown and the dispatcher reports it ended. */
    get done() {
        return [...this.tracked.values()].every((t) => t.shown && dispatch_summary/* TERMINAL */.ff.has(t.report.status));
    }
    /** update takes in a status answer and reports every build whose status changed. */
    update(s) {
        for (const b of s.builds) {
            const t = this.tracked.get(b.job_name);
            if (t && t.report.status === b.status) {
                t.report = b;
                continue;
            }
            this.#o.reporter.info(`${(0,dispatch_summary/* buildKey */.sI)(b)}: ${t ? `${t.report.status} -> ` : ''}${b.status} (${b.message})`);
            if (t) {
                t.report = b;
                continue;
            }
            const spec = this.#o.specs.get((0,dispatch_summary/* buildKey */.sI)(b));
            const result = {
                buildId: b.build_id,
                jobName: b.job_name,
                namespace: s.namespace,
                status: 'failed',
                reason: '',
                message: '',
                createdAt: new Date().toISOString(),
                artifacts: [],
                skipped: [],
                lastLines: [],
                logLines: 0,
                logReconnects: 0,
            };
            this.tracked.set(b.job_name, { report: b, ...(spec ? { spec } : {}), result, shown: false });
        }
    }
    /**
     * showEnded shows, one at a time, every build whose build container ended, and settles those
     * that ended without one. A pod that cannot start (image pull errors, unschedulable past
     * pending_timeout) fails its build: its Job is deleted, and the dispatcher skips its dependents.
     */
    async showEnded(namespace) {
        const pending = [...this.tracked.values()].filter((t) => !t.shown);
        const clients = this.#o.clients;
        if (pending.length === 0)
            return;
        const pods = clients
            ? await clients.kube.listPods(namespace, `${DISPATCH_LABEL}=${this.#o.dispatchId}`)
            : [];
        for (const t of pending) {
            const pod = pods
                .filter((p) => p.metadata?.labels?.[names/* LABEL */.d_.buildId] === t.report.build_id)
                .sort((a, b) => created(b) - created(a))[0];
            if (pod && clients)
                this.#stage(t, pod, clients);
            if (t.stageError && clients && !dispatch_summary/* TERMINAL */.ff.has(t.report.status)) {
                await (0,create/* deleteBuild */.k)(clients.kube, namespace, t.report.job_name, 'job');
                const message = `staging ${this.#o.stage?.dir} failed: ${t.stageError.message}`;
                this.#o.reporter.error(`${(0,dispatch_summary/* buildKey */.sI)(t.report)}: ${message}; deleted its Job`);
                Object.assign(t.result, { status: 'failed', reason: 'StagingFailed', message });
            }
            else if (pod && clients && (0,build_watch/* containerStatus */.a)(pod, podspec/* CONTAINER */.MR.build)?.state?.terminated) {
                await this.#show(t, pod, clients);
            }
            else if (pod && clients && t.spec && !dispatch_summary/* TERMINAL */.ff.has(t.report.status)) {
                const v = (0,verdict/* podVerdict */.nx)(pod, [], new Date(), {
                    pendingTimeoutSeconds: t.spec.pendingTimeoutSeconds,
                    startedWaitingAt: new Date(created(pod)),
                });
                if (v.state !== 'failed')
                    continue;
                await (0,create/* deleteBuild */.k)(clients.kube, namespace, t.report.job_name, 'job');
                this.#o.reporter.error(`${(0,dispatch_summary/* buildKey */.sI)(t.report)} failed before it started; deleted its Job: ${v.message}`);
                Object.assign(t.result, { status: 'failed', reason: v.reason, message: v.message });
            }
            else if (dispatch_summary/* TERMINAL */.ff.has(t.report.status)) {
                settle(t, undefined);
            }
            else
                continue;
            t.shown = true;
        }
    }
    /**
     * #stage starts streaming the context into the pod once its `stage` init container runs (once
     * per build; builds are staged in parallel). A failure is kept for the next poll, which fails
     * the build.
     */
    #stage(t, pod, clients) {
        const stage = this.#o.stage;
        if (!stage || t.staging || !(0,build_watch/* containerStatus */.a)(pod, podspec/* CONTAINER */.MR.stage)?.state?.running)
            return;
        t.staging = (0,context/* stageContext */.U1)({
            kube: clients.kube,
            namespace: pod.metadata?.namespace ?? '',
            pod: pod.metadata?.name ?? '',
            dir: stage.dir,
            files: stage.files,
            reporter: this.#o.reporter,
            signal: this.#o.signal,
            label: (0,dispatch_summary/* buildKey */.sI)(t.report),
        }).catch((err) => {
            t.stageError = err;
        });
    }
    /** #show prints a build's complete log in its own group and collects its artifacts. */
    async #show(t, pod, clients) {
        const { reporter, signal } = this.#o;
        settle(t, pod);
        const r = t.result;
        const name = pod.metadata?.name ?? '';
        const node = r.nodeName
            ? await clients.kube.readNode(r.nodeName).catch(() => undefined)
            : undefined;
        r.nodePool = node?.metadata?.labels?.[podspec/* NODE_POOL_LABEL */.Vw];
        const logPath = (0,external_node_path_.join)(this.#o.work, `${t.report.job_name}.log`);
        const code = r.exitCode !== undefined ? `, exit code ${r.exitCode}` : '';
        await (0,build_output/* streamBuildLog */.RT)({
            kube: clients.kube,
            namespace: r.namespace,
            pod: name,
            reporter,
            title: `Build output: ${(0,dispatch_summary/* buildKey */.sI)(t.report)} (${r.status}${code})`,
            logPath,
            append: false,
            lastLines: 20,
            // The build container already ended: the log is read to its end, then the stream closes.
            terminated: Promise.resolve(),
            signal,
        }, r);
        const pool = r.nodePool ? ` (node pool ${r.nodePool})` : '';
        reporter.info(`${(0,dispatch_summary/* buildKey */.sI)(t.report)} ${r.status} on node ${r.nodeName ?? '?'}${pool}: ${r.message}`);
        const spec = t.spec;
        const store = clients.store;
        if (!spec?.bucket || !store || !(0,build_watch/* containerStatus */.a)(pod, podspec/* CONTAINER */.MR.collector)?.state?.running)
            return;
        // Unlike mode build, a missing artifacts_path is not reported here, and build.log is always stored.
        await (0,build_output/* collectBuildArtifacts */.CH)({ kube: clients.kube, store, bucket: spec.bucket, spec, pod: name, reporter, signal }, r);
        await (0,build_output/* uploadBuildRecords */.wE)({ store, spec, logPath, withLog: true }, r);
        reporter.info(`Uploaded ${r.artifacts.length} artifacts of ${(0,dispatch_summary/* buildKey */.sI)(t.report)} to ${r.artifactsUri}`);
    }
}
/** settle fills a build's result from its pod (verdict, exit code, node, times), else from its report. */
function settle(t, pod) {
    const r = t.result;
    if (!pod) {
        r.status = t.report.status === 'succeeded' ? 'succeeded' : 'failed';
        r.reason = t.report.reason;
        r.message = t.report.message;
        return;
    }
    const v = (0,verdict/* podVerdict */.nx)(pod, [], new Date(), {
        pendingTimeoutSeconds: Number.MAX_SAFE_INTEGER,
        startedWaitingAt: new Date(),
    });
    r.status = v.state === 'succeeded' || v.state === 'timed_out' ? v.state : 'failed';
    r.reason = v.reason;
    r.message = v.message;
    if (v.exitCode !== undefined)
        r.exitCode = v.exitCode;
    r.podName = pod.metadata?.name;
    r.nodeName = pod.spec?.nodeName;
    const term = (0,build_watch/* containerStatus */.a)(pod, podspec/* CONTAINER */.MR.build)?.state?.terminated;
    if (term?.startedAt)
        r.startedAt = new Date(term.startedAt).toISOString();
    if (term?.finishedAt)
        r.finishedAt = new Date(term.finishedAt).toISOString();
    if (r.startedAt && r.finishedAt)
        r.buildSeconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
}


/***/ }),

/***/ 3677:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   d: () => (/* binding */ createCrc32c)
/* harmony export */ });
/* harmony import */ var hash_wasm__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(70608);
/**
 * crc32c.ts: CRC32C (Castagnoli, RFC 3720) of streamed data, in the form GCS
 * uses: base64 of the big-endian 32-bit value (GCS docs "Hashes and ETags").
 *
 * hash-wasm's WebAssembly CRC-32 with the Castagnoli polynomial (0x82F63B78,
 * reflected) hashes about 1.4 GiB/s on the lab machine; @google-cloud/storage's
 * `CRC32C` class walks the bytes one at a time in JavaScript at about
 * 56 MiB/s, which made the checksum the bottleneck of artifact uploads
 * (docs/benchmarks.md, bench/upload.ts). The results are identical
 * (test/unit/crc32c.test.ts checks them against that class).
 */

/** CASTAGNOLI is the reflected CRC32C polynomial. */
const CASTAGNOLI = 0x82f63b78;
/** createCrc32c answers a fresh CRC32C accumulator (each has its own WebAssembly instance). */
async function createCrc32c() {
    const hasher = await (0,hash_wasm__WEBPACK_IMPORTED_MODULE_0__.createCRC32)(CASTAGNOLI);
    hasher.init();
    let digest;
    return {
        update(data) {
            if (digest !== undefined)
                throw new Error('CRC32C: update after toString');
            hasher.update(data);
        },
        toString() {
            digest ??= Buffer.from(hasher.digest('binary')).toString('base64');
            return digest;
        },
    };
}


/***/ }),

/***/ 40729:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   W: () => (/* binding */ KubeApiError)
/* harmony export */ });
/** KubeApiError: a failed API call, with the HTTP status and the server's reason and message. */
class KubeApiError extends Error {
    status;
    reason;
    constructor(status, reason, message) {
        super(message);
        this.name = 'KubeApiError';
        this.status = status;
        this.reason = reason;
    }
}


/***/ })

};
