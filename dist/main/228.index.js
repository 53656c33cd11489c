export const id = 228;
export const ids = [228];
export const modules = {

/***/ 36228:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   DispatchFollower: () => (/* binding */ DispatchFollower),
/* harmony export */   settle: () => (/* binding */ settle)
/* harmony export */ });
/* harmony import */ var node_events__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(78474);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(73024);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76760);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(57075);
/* harmony import */ var _core_artifacts_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(61742);
/* harmony import */ var _core_build_watch_js__WEBPACK_IMPORTED_MODULE_13__ = __webpack_require__(44067);
/* harmony import */ var _core_create_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(85501);
/* harmony import */ var _core_destination_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(19469);
/* harmony import */ var _core_logs_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(92374);
/* harmony import */ var _core_names_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(11285);
/* harmony import */ var _core_podspec_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(27309);
/* harmony import */ var _core_record_js__WEBPACK_IMPORTED_MODULE_14__ = __webpack_require__(86528);
/* harmony import */ var _core_verdict_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(18732);
/* harmony import */ var _functions_dispatcher_plan_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(19023);
/* harmony import */ var _dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__ = __webpack_require__(9473);
/**
 * dispatch-follow.ts: what mode `dispatch` (wait: true) knows of each build of a dispatch, and
 * how it shows an ended build: its complete log in its own group, then its artifacts, build.log
 * and kbuild.json, uploaded as in mode `build` (src/core: followLogs, collectArtifacts). Builds
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
        return [...this.tracked.values()].every((t) => t.shown && _dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .TERMINAL */ .ff.has(t.report.status));
    }
    /** update takes in a status answer and reports every build whose status changed. */
    update(s) {
        for (const b of s.builds) {
            const t = this.tracked.get(b.job_name);
            if (t && t.report.status === b.status) {
                t.report = b;
                continue;
            }
            this.#o.reporter.info(`${(0,_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .buildKey */ .sI)(b)}: ${t ? `${t.report.status} -> ` : ''}${b.status} (${b.message})`);
            if (t) {
                t.report = b;
                continue;
            }
            const spec = this.#o.specs.get((0,_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .buildKey */ .sI)(b));
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
            ? await clients.kube.listPods(namespace, `${_functions_dispatcher_plan_js__WEBPACK_IMPORTED_MODULE_11__/* .DISPATCH_LABEL */ .EO}=${this.#o.dispatchId}`)
            : [];
        for (const t of pending) {
            const pod = pods
                .filter((p) => p.metadata?.labels?.[_core_names_js__WEBPACK_IMPORTED_MODULE_8__/* .LABEL */ .d_.buildId] === t.report.build_id)
                .sort((a, b) => created(b) - created(a))[0];
            if (pod && clients && (0,_core_build_watch_js__WEBPACK_IMPORTED_MODULE_13__/* .containerStatus */ .a)(pod, _core_podspec_js__WEBPACK_IMPORTED_MODULE_9__/* .CONTAINER */ .MR.build)?.state?.terminated) {
                await this.#show(t, pod, clients);
            }
            else if (pod && clients && t.spec && !_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .TERMINAL */ .ff.has(t.report.status)) {
                const v = (0,_core_verdict_js__WEBPACK_IMPORTED_MODULE_10__/* .podVerdict */ .nx)(pod, [], new Date(), {
                    pendingTimeoutSeconds: t.spec.pendingTimeoutSeconds,
                    startedWaitingAt: new Date(created(pod)),
                });
                if (v.state !== 'failed')
                    continue;
                await (0,_core_create_js__WEBPACK_IMPORTED_MODULE_5__/* .deleteBuild */ .k)(clients.kube, namespace, t.report.job_name, 'job');
                this.#o.reporter.error(`${(0,_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .buildKey */ .sI)(t.report)} failed before it started; deleted its Job: ${v.message}`);
                Object.assign(t.result, { status: 'failed', reason: v.reason, message: v.message });
            }
            else if (_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .TERMINAL */ .ff.has(t.report.status)) {
                settle(t, undefined);
            }
            else
                continue;
            t.shown = true;
        }
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
        r.nodePool = node?.metadata?.labels?.[_core_podspec_js__WEBPACK_IMPORTED_MODULE_9__/* .NODE_POOL_LABEL */ .Vw];
        const logPath = (0,node_path__WEBPACK_IMPORTED_MODULE_2__.join)(this.#o.work, `${t.report.job_name}.log`);
        const file = (0,node_fs__WEBPACK_IMPORTED_MODULE_1__.createWriteStream)(logPath);
        const code = r.exitCode !== undefined ? `, exit code ${r.exitCode}` : '';
        reporter.startGroup(`Build output: ${(0,_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .buildKey */ .sI)(t.report)} (${r.status}${code})`);
        try {
            const res = await (0,_core_logs_js__WEBPACK_IMPORTED_MODULE_7__/* .followLogs */ .VF)({
                open: (sinceTime, sig) => clients.kube.openLog({
                    namespace: r.namespace,
                    pod: name,
                    container: _core_podspec_js__WEBPACK_IMPORTED_MODULE_9__/* .CONTAINER */ .MR.build,
                    follow: true,
                    timestamps: true,
                    sinceTime,
                }, sig),
                onLine: async (line) => {
                    r.lastLines = [...r.lastLines, line.text].slice(-20);
                    if (!file.write(`${line.text}\n`))
                        await (0,node_events__WEBPACK_IMPORTED_MODULE_0__.once)(file, 'drain');
                    await reporter.buildLine(line.text);
                },
                terminated: Promise.resolve(),
                signal,
            });
            r.logLines = res.lines;
            r.logReconnects = res.reconnects;
        }
        finally {
            reporter.endGroup();
            file.end();
            await (0,node_events__WEBPACK_IMPORTED_MODULE_0__.once)(file, 'close');
        }
        const pool = r.nodePool ? ` (node pool ${r.nodePool})` : '';
        reporter.info(`${(0,_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .buildKey */ .sI)(t.report)} ${r.status} on node ${r.nodeName ?? '?'}${pool}: ${r.message}`);
        const spec = t.spec;
        if (!spec?.bucket ||
            !clients.store ||
            !(0,_core_build_watch_js__WEBPACK_IMPORTED_MODULE_13__/* .containerStatus */ .a)(pod, _core_podspec_js__WEBPACK_IMPORTED_MODULE_9__/* .CONTAINER */ .MR.collector)?.state?.running)
            return;
        r.artifactsUri = (0,_core_destination_js__WEBPACK_IMPORTED_MODULE_6__/* .gcsUri */ .ok)(spec.bucket, `${spec.destination}/`);
        const got = await (0,_core_artifacts_js__WEBPACK_IMPORTED_MODULE_4__/* .collectArtifacts */ .kx)({
            kube: clients.kube,
            namespace: r.namespace,
            pod: name,
            artifactsPath: spec.artifactsPath,
            prefix: spec.destination,
            store: clients.store,
            signal,
            onWarning: (m) => reporter.warning(m),
        });
        r.artifacts = got.artifacts;
        r.skipped = got.skipped;
        const log = await clients.store.upload((0,_core_destination_js__WEBPACK_IMPORTED_MODULE_6__/* .objectName */ .Hd)(spec.destination, 'build.log'), () => (0,node_fs__WEBPACK_IMPORTED_MODULE_1__.createReadStream)(logPath), {
            contentType: 'text/plain; charset=utf-8',
        });
        r.logUri = log.uri;
        const json = Buffer.from(JSON.stringify((0,_core_record_js__WEBPACK_IMPORTED_MODULE_14__/* .kbuildRecord */ .D)(spec, r), null, 2) + '\n');
        await clients.store.upload((0,_core_destination_js__WEBPACK_IMPORTED_MODULE_6__/* .objectName */ .Hd)(spec.destination, 'kbuild.json'), () => node_stream__WEBPACK_IMPORTED_MODULE_3__.Readable.from([json]), {
            contentType: 'application/json',
            size: json.length,
        });
        reporter.info(`Uploaded ${r.artifacts.length} artifacts of ${(0,_dispatch_summary_js__WEBPACK_IMPORTED_MODULE_12__/* .buildKey */ .sI)(t.report)} to ${r.artifactsUri}`);
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
    const v = (0,_core_verdict_js__WEBPACK_IMPORTED_MODULE_10__/* .podVerdict */ .nx)(pod, [], new Date(), {
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
    const term = (0,_core_build_watch_js__WEBPACK_IMPORTED_MODULE_13__/* .containerStatus */ .a)(pod, _core_podspec_js__WEBPACK_IMPORTED_MODULE_9__/* .CONTAINER */ .MR.build)?.state?.terminated;
    if (term?.startedAt)
        r.startedAt = new Date(term.startedAt).toISOString();
    if (term?.finishedAt)
        r.finishedAt = new Date(term.finishedAt).toISOString();
    if (r.startedAt && r.finishedAt)
        r.buildSeconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
}


/***/ })

};
