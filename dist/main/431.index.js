export const id = 431;
export const ids = [431];
export const modules = {

/***/ 74065:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   RS: () => (/* binding */ checkPermissions),
/* harmony export */   ao: () => (/* binding */ followPermissions),
/* harmony export */   i_: () => (/* binding */ PermissionError)
/* harmony export */ });
/* unused harmony exports requiredPermissions, describeCheck */
/** checker answers a maker of SelfSubjectAccessReview attributes in namespace. */
function checker(namespace) {
    return (verb, group, resource, subresource) => ({
        verb,
        group,
        resource,
        namespace,
        ...(subresource ? { subresource } : {}),
    });
}
/**
 * requiredPermissions lists every RBAC permission that runBuild (and the post
 * step) may use in the namespace for this spec, one SelfSubjectAccessReview
 * attribute each (authorization.k8s.io/v1 ResourceAttributes):
 * - always: `create` the Job (or bare Pod), and `get` it: a retried step whose
 *   create answers 409 adopts the existing one (create.ts);
 * - with `secret_env`: `create`, `patch` (the Job becomes its owner) and
 *   `delete` (when the Job cannot be created, and on cleanup) Secrets;
 * - with `watch`: `list`+`watch` Pods (and Jobs for `kind: job`), `get`
 *   pods/log, `list` events (the last events of a failure), and `delete` the
 *   Job or Pod: on cleanup, and also with `keep: true` when the step is
 *   cancelled, a Spot build is retried, or the post step finds it running;
 * - with `watch` and a `context` or `bucket`: exec (stage the source, collect
 *   the artifacts), which needs both `create` and `get` on pods/exec.
 * deploy/kubernetes/base/builder-role.yaml grants the union of all cases.
 */
function requiredPermissions(spec) {
    const c = checker(spec.namespace);
    const [group, owner] = spec.kind === 'job' ? ['batch', 'jobs'] : ['', 'pods'];
    const out = [c('create', group, owner), c('get', group, owner)];
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
    out.push(c('delete', group, owner));
    return out;
}
/**
 * followPermissions lists what mode `dispatch` (wait: true) does with the step's own identity in
 * the dispatcher's namespace: `list` Pods (to find each build's), `get` pods/log, exec (`create`
 * and `get` pods/exec) when it stages a context or collects artifacts, and `delete` Jobs (a build
 * that cannot start or be staged). The dispatcher creates the Jobs with its own identity.
 */
function followPermissions(namespace, o) {
    const c = checker(namespace);
    const out = [c('list', '', 'pods'), c('get', '', 'pods', 'log')];
    if (o.stage || o.collect)
        out.push(c('create', '', 'pods', 'exec'), c('get', '', 'pods', 'exec'));
    out.push(c('delete', 'batch', 'jobs'));
    return out;
}
/** describeCheck renders a check like RBAC: `create batch/jobs`, `get pods/log`. */
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


/***/ }),

/***/ 15299:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   m: () => (/* binding */ systemClock)
/* harmony export */ });
/**
 * report.ts: what the lifecycle engine needs from its surroundings besides
 * the APIs: where progress and build output go (Reporter) and what time it is
 * (Clock). The action implements Reporter over @actions/core, the CLI over the
 * terminal, tests with an array.
 */
/** systemClock is the Clock of the real world. */
const systemClock = {
    now: () => Date.now(),
    sleep: (ms, signal) => new Promise((resolve) => {
        const done = () => {
            clearTimeout(t);
            signal?.removeEventListener('abort', done);
            resolve();
        };
        const t = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
    }),
};


/***/ }),

/***/ 94685:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  connectAndRunBuild: () => (/* binding */ connectAndRunBuild)
});

// EXTERNAL MODULE: ./build/src/core/connect.js + 11 modules
var connect = __webpack_require__(17567);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./build/src/core/build-output.js + 4 modules
var build_output = __webpack_require__(24138);
// EXTERNAL MODULE: ./build/src/core/build-watch.js
var build_watch = __webpack_require__(44067);
// EXTERNAL MODULE: ./build/src/core/context.js + 1 modules
var context = __webpack_require__(6274);
// EXTERNAL MODULE: ./build/src/core/events.js
var core_events = __webpack_require__(77072);
// EXTERNAL MODULE: ./build/src/core/parse.js
var parse = __webpack_require__(11874);
// EXTERNAL MODULE: ./build/src/core/podspec.js
var podspec = __webpack_require__(27309);
// EXTERNAL MODULE: ./build/src/core/verdict.js
var verdict = __webpack_require__(18732);
;// CONCATENATED MODULE: ./build/src/core/build-wait.js
/**
 * build-wait.ts: the waiting of one build attempt (lifecycle.ts) over its BuildWatcher: until the
 * build container starts (staging the source meanwhile, reporting why it waits), and until the
 * build ended, with the final verdict (verdict.ts) and the last events of a failure.
 */






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
            staging = (0,context/* stageContext */.U1)({
                kube,
                namespace: spec.namespace,
                pod: pod.metadata?.name ?? '',
                dir: spec.context ?? '.',
                files,
                reporter,
                signal,
            }).catch((err) => {
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

// EXTERNAL MODULE: ./build/src/core/manifest.js
var manifest = __webpack_require__(76628);
// EXTERNAL MODULE: ./build/src/core/names.js
var names = __webpack_require__(11285);
// EXTERNAL MODULE: ./build/src/core/create.js
var create = __webpack_require__(85501);
// EXTERNAL MODULE: ./build/src/core/permissions.js
var permissions = __webpack_require__(74065);
;// CONCATENATED MODULE: ./build/src/core/lifecycle.js
/**
 * lifecycle.ts: one build from creation to cleanup (DESIGN section 2, steps
 * 4-10) over injected clients: create the Secret and the Job (or Pod), watch
 * until the build container starts while staging the source, follow its log,
 * collect and upload the artifacts, the log and kbuild.json, and delete the Job.
 * Failures are diagnosed from the pod and Job status (verdict.ts) with the
 * last events; cancellation (`signal`) deletes the Job at once. The waiting
 * is in build-wait.ts; the log, artifacts and records in build-output.ts.
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
    await (0,permissions/* checkPermissions */.RS)(kube, spec);
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
        if (spec.bucket && deps.store)
            await (0,build_output/* uploadBuildRecords */.wE)({ store: deps.store, spec, logPath, withLog: Boolean(r.startedAt) }, r);
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
/** streamLog follows the build container's log until the watcher sees the build end (build-output.ts). */
async function streamLog(spec, deps, watcher, r, logPath, signal) {
    const terminated = watcher
        .until((s) => (ended(s) ? true : undefined), signal)
        .then(() => undefined, () => undefined);
    await (0,build_output/* streamBuildLog */.RT)({
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
        onReconnect: (n, why) => deps.reporter.info(`(log stream reconnected from the last line seen, attempt ${n}: ${why})`),
    }, r);
}
/** collect copies the artifacts out through the collector container, when there is a bucket. */
async function collect(spec, deps, watcher, r, signal) {
    if (!spec.bucket || !deps.store)
        return;
    const collector = (0,build_watch/* containerStatus */.a)(watcher.state.pod, podspec/* CONTAINER */.MR.collector);
    if (!collector?.state?.running || !r.podName) {
        r.artifactsUri = (0,build_output/* artifactsUriOf */.tv)(spec.bucket, spec.destination);
        if (r.startedAt)
            deps.reporter.warning(`artifacts of ${spec.jobName} could not be collected: the collector container is not running`);
        return;
    }
    const { missing } = await (0,build_output/* collectBuildArtifacts */.CH)({
        kube: deps.kube,
        store: deps.store,
        bucket: spec.bucket,
        spec,
        pod: r.podName,
        reporter: deps.reporter,
        signal,
    }, r);
    if (missing)
        deps.reporter.warning(`no artifacts: /workspace/${spec.artifactsPath} does not exist in the pod (input "artifacts_path")`);
    else
        deps.reporter.info(`Uploaded ${r.artifacts.length} artifacts to ${r.artifactsUri}`);
}

// EXTERNAL MODULE: ./build/src/core/report.js
var report = __webpack_require__(15299);
;// CONCATENATED MODULE: ./build/src/core/run-build.js



/**
 * connectAndRunBuild connects (credentials, the GKE lookup, the object store when the spec has
 * a bucket), reports o.connected, and runs the build with the system clock. Throws what connect
 * and runBuild throw (errors before anything was created); a failed build is a result.
 */
async function connectAndRunBuild(spec, o, signal) {
    const clients = await (0,connect.connect)(o.auth, {
        ...o.connect,
        ...(spec.bucket ? { bucket: spec.bucket } : {}),
    });
    o.reporter.info(o.connected(clients.clusterName));
    return runBuild(spec, {
        kube: clients.kube,
        ...(clients.store ? { store: clients.store } : {}),
        reporter: o.reporter,
        clock: report/* systemClock */.m,
        tempDir: o.tempDir,
        ...(o.onCreated ? { onCreated: o.onCreated } : {}),
    }, signal);
}


/***/ }),

/***/ 74995:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  lc: () => (/* binding */ AbortError),
  Ay: () => (/* binding */ pRetry)
});

// UNUSED EXPORTS: makeRetriable

;// CONCATENATED MODULE: ./node_modules/is-network-error/index.js
const objectToString = Object.prototype.toString;

const isError = value => objectToString.call(value) === '[object Error]';

const errorMessages = new Set([
	'network error', // Chrome
	'NetworkError when attempting to fetch resource.', // Firefox
	'The Internet connection appears to be offline.', // Safari 16
	'Network request failed', // `cross-fetch`
	'fetch failed', // Undici (Node.js)
	'terminated', // Undici (Node.js)
	' A network error occurred.', // Bun (WebKit)
	'Network connection lost', // Cloudflare Workers (fetch)
]);

function isNetworkError(error) {
	const isValid = error
		&& isError(error)
		&& error.name === 'TypeError'
		&& typeof error.message === 'string';

	if (!isValid) {
		return false;
	}

	const {message, stack} = error;

	// Safari 17+ has generic message but no stack for network errors
	if (message === 'Load failed' || (message.startsWith('Load failed (') && message.endsWith(')'))) {
		return stack === undefined
			// Sentry adds its own stack trace to the fetch error, so also check for that
			|| '__sentry_captured__' in error;
	}

	// Deno network errors start with specific text
	if (message.startsWith('error sending request for url')) {
		return true;
	}

	// Chrome: exact "Failed to fetch" or with hostname: "Failed to fetch (example.com)"
	if (message === 'Failed to fetch' || (message.startsWith('Failed to fetch (') && message.endsWith(')'))) {
		return true;
	}

	// Standard network error messages
	return errorMessages.has(message);
}

;// CONCATENATED MODULE: ./node_modules/p-retry/index.js


function validateRetries(retries) {
	if (typeof retries === 'number') {
		if (retries < 0) {
			throw new TypeError('Expected `retries` to be a non-negative number.');
		}

		if (Number.isNaN(retries)) {
			throw new TypeError('Expected `retries` to be a valid number or Infinity, got NaN.');
		}
	} else if (retries !== undefined) {
		throw new TypeError('Expected `retries` to be a number or Infinity.');
	}
}

function validateNumberOption(name, value, {min = 0, allowInfinity = false} = {}) {
	if (value === undefined) {
		return;
	}

	if (typeof value !== 'number' || Number.isNaN(value)) {
		throw new TypeError(`Expected \`${name}\` to be a number${allowInfinity ? ' or Infinity' : ''}.`);
	}

	if (!allowInfinity && !Number.isFinite(value)) {
		throw new TypeError(`Expected \`${name}\` to be a finite number.`);
	}

	if (value < min) {
		throw new TypeError(`Expected \`${name}\` to be \u2265 ${min}.`);
	}
}

class AbortError extends Error {
	constructor(message) {
		super();

		if (message instanceof Error) {
			this.originalError = message;
			({message} = message);
		} else {
			this.originalError = new Error(message);
			this.originalError.stack = this.stack;
		}

		this.name = 'AbortError';
		this.message = message;
	}
}

function calculateDelay(retriesConsumed, options) {
	const attempt = Math.max(1, retriesConsumed + 1);
	const random = options.randomize ? (Math.random() + 1) : 1;

	let timeout = Math.round(random * options.minTimeout * (options.factor ** (attempt - 1)));
	timeout = Math.min(timeout, options.maxTimeout);

	return timeout;
}

function calculateRemainingTime(start, max) {
	if (!Number.isFinite(max)) {
		return max;
	}

	return max - (performance.now() - start);
}

async function onAttemptFailure({error, attemptNumber, retriesConsumed, startTime, options}) {
	const normalizedError = error instanceof Error
		? error
		: new TypeError(`Non-error was thrown: "${error}". You should only throw errors.`);

	if (normalizedError instanceof AbortError) {
		throw normalizedError.originalError;
	}

	const retriesLeft = Number.isFinite(options.retries)
		? Math.max(0, options.retries - retriesConsumed)
		: options.retries;

	const maxRetryTime = options.maxRetryTime ?? Number.POSITIVE_INFINITY;

	const context = Object.freeze({
		error: normalizedError,
		attemptNumber,
		retriesLeft,
		retriesConsumed,
	});

	await options.onFailedAttempt(context);

	if (calculateRemainingTime(startTime, maxRetryTime) <= 0) {
		throw normalizedError;
	}

	const consumeRetry = await options.shouldConsumeRetry(context);

	const remainingTime = calculateRemainingTime(startTime, maxRetryTime);

	if (remainingTime <= 0 || retriesLeft <= 0) {
		throw normalizedError;
	}

	if (normalizedError instanceof TypeError && !isNetworkError(normalizedError)) {
		if (consumeRetry) {
			throw normalizedError;
		}

		options.signal?.throwIfAborted();
		return false;
	}

	if (!await options.shouldRetry(context)) {
		throw normalizedError;
	}

	if (!consumeRetry) {
		options.signal?.throwIfAborted();
		return false;
	}

	const delayTime = calculateDelay(retriesConsumed, options);
	const finalDelay = Math.min(delayTime, remainingTime);

	options.signal?.throwIfAborted();

	if (finalDelay > 0) {
		await new Promise((resolve, reject) => {
			const onAbort = () => {
				clearTimeout(timeoutToken);
				options.signal?.removeEventListener('abort', onAbort);
				reject(options.signal.reason);
			};

			const timeoutToken = setTimeout(() => {
				options.signal?.removeEventListener('abort', onAbort);
				resolve();
			}, finalDelay);

			if (options.unref) {
				timeoutToken.unref?.();
			}

			options.signal?.addEventListener('abort', onAbort, {once: true});
		});
	}

	options.signal?.throwIfAborted();

	return true;
}

async function pRetry(input, options = {}) {
	options = {...options};

	validateRetries(options.retries);

	if (Object.hasOwn(options, 'forever')) {
		throw new Error('The `forever` option is no longer supported. For many use-cases, you can set `retries: Infinity` instead.');
	}

	options.retries ??= 10;
	options.factor ??= 2;
	options.minTimeout ??= 1000;
	options.maxTimeout ??= Number.POSITIVE_INFINITY;
	options.maxRetryTime ??= Number.POSITIVE_INFINITY;
	options.randomize ??= false;
	options.onFailedAttempt ??= () => {};
	options.shouldRetry ??= () => true;
	options.shouldConsumeRetry ??= () => true;

	// Validate numeric options and normalize edge cases
	validateNumberOption('factor', options.factor, {min: 0, allowInfinity: false});
	validateNumberOption('minTimeout', options.minTimeout, {min: 0, allowInfinity: false});
	validateNumberOption('maxTimeout', options.maxTimeout, {min: 0, allowInfinity: true});
	validateNumberOption('maxRetryTime', options.maxRetryTime, {min: 0, allowInfinity: true});

	// Treat non-positive factor as 1 to avoid zero backoff or negative behavior
	if (!(options.factor > 0)) {
		options.factor = 1;
	}

	options.signal?.throwIfAborted();

	let attemptNumber = 0;
	let retriesConsumed = 0;
	const startTime = performance.now();

	while (Number.isFinite(options.retries) ? retriesConsumed <= options.retries : true) {
		attemptNumber++;

		try {
			options.signal?.throwIfAborted();

			const result = await input(attemptNumber);

			options.signal?.throwIfAborted();

			return result;
		} catch (error) {
			if (await onAttemptFailure({
				error,
				attemptNumber,
				retriesConsumed,
				startTime,
				options,
			})) {
				retriesConsumed++;
			}
		}
	}

	// Should not reach here, but in case it does, throw an error
	throw new Error('Retry attempts exhausted without throwing an error.');
}

function makeRetriable(function_, options) {
	return function (...arguments_) {
		return pRetry(() => function_.apply(this, arguments_), options);
	};
}


/***/ })

};
