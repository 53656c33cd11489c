export const id = 122;
export const ids = [122];
export const modules = {

/***/ 7122:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  H: () => (/* binding */ ClientNodeKubeApi),
  V: () => (/* binding */ toKubeApiError)
});

// EXTERNAL MODULE: ./node_modules/@kubernetes/client-node/dist/index.js + 875 modules
var dist = __webpack_require__(2901);
// EXTERNAL MODULE: ./build/src/core/kube-api.js
var kube_api = __webpack_require__(729);
;// CONCATENATED MODULE: ./build/src/core/kube-watch.js
/**
 * kube-watch.ts: a list-then-watch loop that survives the ways a watch ends.
 *
 * `@kubernetes/client-node`'s `Watch` ends a quiet watch after 30 s and ends
 * every watch when the API server closes it (`timeoutSeconds`, restarts). A
 * resourceVersion that is too old answers an ERROR event with a 410 Status
 * (Kubernetes API concepts, "Efficient detection of changes"). watchLoop
 * re-watches from the last resourceVersion it saw (bookmarks included), and
 * re-lists after 410, reporting objects that vanished meanwhile as DELETED.
 */

/** sleep resolves after ms, or at once when the signal aborts. */
function sleep(ms, signal) {
    return new Promise((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
        }
        signal.addEventListener('abort', done, { once: true });
    });
}
/**
 * watchLoop lists, then watches, until `signal` aborts; it never throws for
 * transient failures (network errors and 5xx are retried with capped
 * exponential backoff, 0.5 s to 10 s). It throws when the list itself is
 * refused (401/403/404), since retrying cannot help.
 */
async function watchLoop(kc, opts) {
    const { signal } = opts;
    const known = new Set();
    let resourceVersion = '';
    let needList = true;
    let attempt = 0;
    while (!signal.aborted) {
        try {
            if (needList) {
                const { items, resourceVersion: rv } = await opts.list();
                const present = new Set(items.map((o) => o.metadata?.name ?? ''));
                for (const name of known) {
                    if (!present.has(name))
                        opts.onEvent('DELETED', { metadata: { name } });
                }
                known.clear();
                for (const o of items) {
                    known.add(o.metadata?.name ?? '');
                    opts.onEvent('ADDED', o);
                }
                resourceVersion = rv;
                needList = false;
            }
            const result = await watchOnce(kc, opts, resourceVersion, (type, obj) => {
                const name = obj.metadata?.name ?? '';
                if (type === 'DELETED')
                    known.delete(name);
                else
                    known.add(name);
                opts.onEvent(type, obj);
            });
            resourceVersion = result.resourceVersion || resourceVersion;
            if (result.gone)
                needList = true;
            attempt = 0;
        }
        catch (err) {
            const code = err.code ??
                err.statusCode;
            if (needList && (code === 401 || code === 403 || code === 404))
                throw err;
            attempt++;
            opts.onRetry?.(err, attempt);
            await sleep(Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)), signal);
        }
    }
}
/** watchOnce runs one watch request to its end; resolves on a normal or timed-out end. */
function watchOnce(kc, opts, fromVersion, onEvent) {
    const timeoutSeconds = opts.timeoutSeconds ?? 25;
    const watch = new dist/* Watch */.ox1(kc);
    let resourceVersion = fromVersion;
    let gone = false;
    return new Promise((resolve, reject) => {
        let controller;
        const onAbort = () => controller?.abort();
        opts.signal.addEventListener('abort', onAbort, { once: true });
        const finish = (err) => {
            opts.signal.removeEventListener('abort', onAbort);
            const timedOut = err instanceof Error && err.name === 'TimeoutError';
            if (err && !gone && !timedOut && !opts.signal.aborted && !isAbort(err))
                reject(err);
            else
                resolve({ resourceVersion, gone });
        };
        watch
            .watch(opts.path, {
            labelSelector: opts.labelSelector,
            resourceVersion: fromVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
        }, (type, obj) => {
            if (type === 'ERROR') {
                if (obj.code === 410)
                    gone = true;
                controller?.abort();
                return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (rv)
                resourceVersion = rv;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')
                onEvent(type, obj);
        }, finish)
            .then((c) => {
            controller = c;
            if (opts.signal.aborted)
                c.abort();
        }, finish);
    });
}
function isAbort(err) {
    return err instanceof Error && (err.name === 'AbortError' || /aborted/i.test(err.message));
}

// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(4708);
// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(7067);
// EXTERNAL MODULE: ./node_modules/ws/wrapper.mjs
var wrapper = __webpack_require__(2977);
;// CONCATENATED MODULE: ./build/src/core/kube-stream.js
/**
 * kube-stream.ts: the two streaming calls of a build, with flow control.
 *
 * - openLogStream: `GET .../pods/{pod}/log` over node:https, answered as the
 *   response stream itself, so a dropped connection is an 'error'/'end' the
 *   caller handles (client-node's `Log.log` pipes a web stream and throws an
 *   uncaught `TypeError: terminated` instead; STYLE.md).
 * - execInPod: `pods/exec` over WebSocket with the `v5.channel.k8s.io`
 *   subprotocol (KEP-4006): one byte of channel (0 stdin, 1 stdout, 2 stderr,
 *   3 status, 255 close) before each message. Unlike client-node's `Exec`,
 *   stdout is written with backpressure (the socket is paused while the
 *   consumer is full) and stdin is sent one acknowledged frame at a time, so a
 *   512 MB tar stream never piles up in memory.
 */




function serverOf(kc) {
    const cluster = kc.getCurrentCluster();
    if (!cluster)
        throw new kube_api/* KubeApiError */.W(0, 'NoCluster', 'the kubeconfig has no current cluster');
    return cluster.server.replace(/\/+$/, '');
}
/**
 * openLogStream answers the log body of a container as a Readable of bytes.
 * Rejects with KubeApiError for non-200 answers (with the API's message, e.g.
 * `container "build" in pod "x" is waiting to start: PodInitializing`).
 */
async function openLogStream(kc, req, signal) {
    const url = new URL(`${serverOf(kc)}/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/log`);
    url.searchParams.set('container', req.container);
    url.searchParams.set('follow', String(req.follow));
    url.searchParams.set('timestamps', String(req.timestamps));
    if (req.sinceTime)
        url.searchParams.set('sinceTime', req.sinceTime);
    const opts = { method: 'GET', signal };
    await kc.applyToHTTPSOptions(opts);
    const mod = url.protocol === 'http:' ? external_node_http_ : external_node_https_;
    return new Promise((resolve, reject) => {
        const r = mod.request(url, opts, (res) => {
            if (res.statusCode === 200) {
                resolve(res);
                return;
            }
            const chunks = [];
            res.on('data', (c) => chunks.length < 64 && chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
                const body = Buffer.concat(chunks).toString('utf8');
                let message = body;
                let reason = '';
                try {
                    const s = JSON.parse(body);
                    message = s.message ?? body;
                    reason = s.reason ?? '';
                }
                catch {
                    // not a Status: keep the raw body
                }
                reject(new kube_api/* KubeApiError */.W(res.statusCode ?? 0, reason, `log of ${req.pod}/${req.container}: ${message}`));
            });
        });
        r.on('error', (err) => reject(err instanceof kube_api/* KubeApiError */.W
            ? err
            : new kube_api/* KubeApiError */.W(0, 'NetworkError', `log of ${req.pod}/${req.container}: ${err.message}`)));
        r.end();
    });
}
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;
/** exitCodeOf reads the exit code from an exec Status (`NonZeroExitCode` cause `ExitCode`). */
function exitCodeOf(status) {
    if (!status)
        return -1;
    if (status.status === 'Success')
        return 0;
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    return Number.isInteger(code) ? code : -1;
}
/**
 * execInPod runs `req.command` in the container and resolves when the remote
 * command has ended, with its exit code (-1 when the API reported an error
 * without one, e.g. the container is not running). stdout/stderr are ended
 * when the command ends. Rejects on connection failures and refusals
 * (KubeApiError with the HTTP status of the upgrade, e.g. 403).
 */
async function execInPod(kc, req) {
    const url = new URL(`${serverOf(kc).replace(/^http/, 'ws')}/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/exec`);
    url.searchParams.set('container', req.container);
    for (const arg of req.command)
        url.searchParams.append('command', arg);
    url.searchParams.set('stdin', String(!!req.stdin));
    url.searchParams.set('stdout', String(!!req.stdout));
    url.searchParams.set('stderr', String(!!req.stderr));
    url.searchParams.set('tty', 'false');
    const opts = {};
    await kc.applyToHTTPSOptions(opts);
    const what = `exec ${req.command[0]} in ${req.pod}/${req.container}`;
    return new Promise((resolve, reject) => {
        const ws = new wrapper/* default */.Ay(url, ['v5.channel.k8s.io'], opts);
        let status;
        let settled = false;
        let paused = false;
        const onAbort = () => ws.terminate();
        req.signal?.addEventListener('abort', onAbort, { once: true });
        const settle = (err) => {
            if (settled)
                return;
            settled = true;
            req.signal?.removeEventListener('abort', onAbort);
            req.stdout?.end();
            req.stderr?.end();
            if (err)
                reject(err);
            else {
                const exitCode = exitCodeOf(status);
                resolve({
                    exitCode,
                    message: status?.message ?? (status ? '' : 'connection closed without a status'),
                    status,
                });
            }
        };
        ws.on('unexpected-response', (_r, res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                let message = Buffer.concat(chunks).toString('utf8');
                try {
                    message = JSON.parse(message).message ?? message;
                }
                catch {
                    // keep the raw body
                }
                settle(new kube_api/* KubeApiError */.W(res.statusCode ?? 0, 'UpgradeFailed', `${what}: ${message}`));
            });
        });
        ws.on('error', (err) => settle(new kube_api/* KubeApiError */.W(0, 'NetworkError', `${what}: ${err.message}`)));
        ws.on('close', () => {
            if (req.signal?.aborted)
                settle(new kube_api/* KubeApiError */.W(0, 'Aborted', `${what}: aborted`));
            else
                settle();
        });
        ws.on('message', (data) => {
            const channel = data[0];
            const payload = data.subarray(1);
            const sink = channel === STDOUT ? req.stdout : channel === STDERR ? req.stderr : undefined;
            if (sink) {
                if (payload.length && !sink.write(payload) && !paused) {
                    paused = true;
                    ws.pause();
                    sink.once('drain', () => {
                        paused = false;
                        ws.resume();
                    });
                }
            }
            else if (channel === STATUS) {
                try {
                    status = JSON.parse(payload.toString('utf8'));
                }
                catch {
                    status = { status: 'Failure', message: payload.toString('utf8') };
                }
            }
        });
        ws.on('open', () => {
            if (ws.protocol !== 'v5.channel.k8s.io') {
                ws.close();
                settle(new kube_api/* KubeApiError */.W(0, 'Protocol', `${what}: the API server does not speak v5.channel.k8s.io (Kubernetes >= 1.30 needed)`));
                return;
            }
            if (req.stdin)
                void pumpStdin(ws, req.stdin).catch((err) => settle(new kube_api/* KubeApiError */.W(0, 'Stdin', `${what}: ${err.message}`)));
        });
    });
}
/** pumpStdin sends stdin one acknowledged frame at a time, then the v5 close frame for channel 0. */
async function pumpStdin(ws, stdin) {
    const send = (buf) => new Promise((resolve, reject) => ws.send(buf, (err) => (err ? reject(err) : resolve())));
    for await (const chunk of stdin) {
        if (ws.readyState !== wrapper/* default */.Ay.OPEN)
            return;
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        await send(Buffer.concat([Buffer.from([STDIN]), b]));
    }
    if (ws.readyState === wrapper/* default */.Ay.OPEN)
        await send(Buffer.from([CLOSE, STDIN]));
}

;// CONCATENATED MODULE: ./build/src/core/kube-client.js
/**
 * kube-client.ts: `ClientNodeKubeApi`, the `KubeApi` over `@kubernetes/client-node` 2.x.
 * Plain calls go through the generated clients; watches, logs and exec go
 * through kube-watch.ts and kube-stream.ts, which work around the library's
 * known hazards (STYLE.md).
 */




/**
 * toKubeApiError maps a client-node `ApiException` (fields `code` and `body`,
 * the body a JSON `Status`) to a KubeApiError; anything else is wrapped with
 * status 0 (a network failure).
 */
function toKubeApiError(err, what) {
    if (err instanceof kube_api/* KubeApiError */.W)
        return err;
    const e = err;
    if (typeof e?.code === 'number') {
        let reason = '';
        let message;
        try {
            const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
            reason = String(body?.reason ?? '');
            message = String(body?.message ?? '');
        }
        catch {
            message = String(e.body ?? '');
        }
        return new kube_api/* KubeApiError */.W(e.code, reason, `${what}: ${message || reason || `HTTP ${e.code}`}`);
    }
    const msg = err instanceof Error ? err.message : String(err);
    return new kube_api/* KubeApiError */.W(0, 'NetworkError', `${what}: ${msg}`);
}
async function call(what, fn) {
    try {
        return await fn();
    }
    catch (err) {
        throw toKubeApiError(err, what);
    }
}
async function deleted(what, fn) {
    try {
        await fn();
        return true;
    }
    catch (err) {
        const e = toKubeApiError(err, what);
        if (e.status === 404)
            return false;
        throw e;
    }
}
/** ClientNodeKubeApi: KubeApi over a KubeConfig (in memory, with a refreshed token, or from a file). */
class ClientNodeKubeApi {
    kc;
    core;
    batch;
    constructor(kc) {
        this.kc = kc;
        this.core = kc.makeApiClient(dist/* CoreV1Api */.f5Y);
        this.batch = kc.makeApiClient(dist/* BatchV1Api */.Q8C);
    }
    createJob(namespace, body) {
        return call(`create Job ${namespace}/${body.metadata?.name}`, () => this.batch.createNamespacedJob({ namespace, body }));
    }
    createPod(namespace, body) {
        return call(`create Pod ${namespace}/${body.metadata?.name}`, () => this.core.createNamespacedPod({ namespace, body }));
    }
    createSecret(namespace, body) {
        return call(`create Secret ${namespace}/${body.metadata?.name}`, () => this.core.createNamespacedSecret({ namespace, body }));
    }
    async setSecretOwner(namespace, name, owner) {
        await call(`set the owner of Secret ${namespace}/${name}`, () => this.core.patchNamespacedSecret({ namespace, name, body: { metadata: { ownerReferences: [owner] } } }, (0,dist/* setHeaderOptions */.OkF)('Content-Type', dist/* PatchStrategy */.Qve.MergePatch)));
    }
    async readJob(namespace, name) {
        try {
            return await this.batch.readNamespacedJob({ namespace, name });
        }
        catch (err) {
            const e = toKubeApiError(err, `read Job ${namespace}/${name}`);
            if (e.status === 404)
                return undefined;
            throw e;
        }
    }
    async readPod(namespace, name) {
        try {
            return await this.core.readNamespacedPod({ namespace, name });
        }
        catch (err) {
            const e = toKubeApiError(err, `read Pod ${namespace}/${name}`);
            if (e.status === 404)
                return undefined;
            throw e;
        }
    }
    async readNode(name) {
        try {
            return await this.core.readNode({ name });
        }
        catch (err) {
            const e = toKubeApiError(err, `read Node ${name}`);
            if (e.status === 404 || e.status === 403)
                return undefined;
            throw e;
        }
    }
    deleteJob(namespace, name, propagation = 'Background') {
        return deleted(`delete Job ${namespace}/${name}`, () => this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: propagation }));
    }
    deletePod(namespace, name, gracePeriodSeconds) {
        return deleted(`delete Pod ${namespace}/${name}`, () => this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds }));
    }
    deleteSecret(namespace, name) {
        return deleted(`delete Secret ${namespace}/${name}`, () => this.core.deleteNamespacedSecret({ namespace, name }));
    }
    async listPods(namespace, labelSelector) {
        const list = await call(`list Pods in ${namespace}`, () => this.core.listNamespacedPod({ namespace, labelSelector }));
        return list.items;
    }
    async listJobs(namespace, labelSelector) {
        const list = await call(`list Jobs in ${namespace}`, () => this.batch.listNamespacedJob({ namespace, labelSelector }));
        return list.items;
    }
    async listEvents(namespace, involvedObjectName) {
        const list = await call(`list Events of ${namespace}/${involvedObjectName}`, () => this.core.listNamespacedEvent({
            namespace,
            fieldSelector: `involvedObject.name=${involvedObjectName}`,
        }));
        const time = (e) => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();
        return list.items.sort((a, b) => time(a) - time(b));
    }
    watchPods(namespace, labelSelector, onEvent, signal) {
        return watchLoop(this.kc, {
            path: `/api/v1/namespaces/${namespace}/pods`,
            labelSelector,
            list: async () => {
                const l = await this.core.listNamespacedPod({ namespace, labelSelector });
                return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
            },
            onEvent,
            signal,
        });
    }
    watchJobs(namespace, labelSelector, onEvent, signal) {
        return watchLoop(this.kc, {
            path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
            labelSelector,
            list: async () => {
                const l = await this.batch.listNamespacedJob({ namespace, labelSelector });
                return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
            },
            onEvent,
            signal,
        });
    }
    openLog(req, signal) {
        return openLogStream(this.kc, req, signal);
    }
    exec(req) {
        return execInPod(this.kc, req);
    }
    async canI(checks) {
        const authz = this.kc.makeApiClient(dist/* AuthorizationV1Api */.NwU);
        const allowed = await Promise.all(checks.map(async (c) => {
            const review = await call('SelfSubjectAccessReview', () => authz.createSelfSubjectAccessReview({
                body: {
                    apiVersion: 'authorization.k8s.io/v1',
                    kind: 'SelfSubjectAccessReview',
                    spec: {
                        resourceAttributes: {
                            verb: c.verb,
                            group: c.group,
                            resource: c.resource,
                            subresource: c.subresource,
                            namespace: c.namespace,
                        },
                    },
                },
            }));
            return review.status?.allowed === true;
        }));
        return checks.filter((_, i) => !allowed[i]);
    }
}


/***/ })

};
