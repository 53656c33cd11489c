export const id = 7;
export const ids = [7];
export const modules = {

/***/ 24138:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  tv: () => (/* binding */ artifactsUriOf),
  CH: () => (/* binding */ collectBuildArtifacts),
  RT: () => (/* binding */ streamBuildLog),
  wE: () => (/* binding */ uploadBuildRecords)
});

// EXTERNAL MODULE: external "node:events"
var external_node_events_ = __webpack_require__(78474);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(57075);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./node_modules/tar-stream/index.js
var tar_stream = __webpack_require__(56118);
// EXTERNAL MODULE: ./build/src/core/crc32c.js
var crc32c = __webpack_require__(3677);
// EXTERNAL MODULE: ./build/src/core/destination.js
var core_destination = __webpack_require__(19469);
// EXTERNAL MODULE: ./build/src/core/errors.js
var errors = __webpack_require__(43026);
;// CONCATENATED MODULE: ./build/src/core/tarpath.js
// tarpath.ts: checks on the entries of the artifacts tar that comes out of a build pod
// (DESIGN section 2, step 8). The tar is untrusted: the build could write anything.



/**
 * relativeName normalizes a member name (`./a//b/` -> `a/b`, `.` or `./` -> ``) and refuses
 * absolute names, `..` segments and control characters.
 */
function relativeName(name, root, what) {
    const fail = (why) => new errors/* UnsafePathError */.k0(name, `unsafe ${what} ${(0,errors/* quote */.hD)(name)} in the artifacts of ${root}: ${why}`);
    if (name.startsWith('/'))
        throw fail('absolute paths are not allowed');
    if ((0,core_destination/* hasControlChar */.Et)(name))
        throw fail('control characters are not allowed');
    const segments = name.split('/').filter((s) => s !== '' && s !== '.');
    if (segments.includes('..'))
        throw fail('".." is not allowed');
    return segments.join('/');
}
/**
 * checkTarEntry checks one entry of a tar made with `tar -cf - -C <root> .` and returns its
 * normalized path relative to root (`` for the root itself). It throws UnsafePathError for an
 * absolute name, a `..` segment, a control character, a symlink whose target is absolute, goes
 * above the tree, or climbs through a named directory (`d/../..`, which can escape when `d` is a
 * link), a hard link to a path outside the tree, and for devices, FIFOs and unknown types. `root`
 * only names the tree in messages.
 */
function checkTarEntry(entry, root) {
    const path = relativeName(entry.name, root, 'entry');
    const type = entry.type ?? 'file';
    const fail = (why) => new errors/* UnsafePathError */.k0(entry.name, `unsafe entry ${(0,errors/* quote */.hD)(entry.name)} in the artifacts of ${root}: ${why}`);
    switch (type) {
        case 'file':
        case 'contiguous-file':
            if (path === '')
                throw fail('a file cannot be the root');
            return { kind: 'file', path };
        case 'directory':
            return { kind: 'directory', path };
        case 'symlink': {
            const target = entry.linkname ?? '';
            if (path === '')
                throw fail('the root cannot be a link');
            if (target === '' || (0,core_destination/* hasControlChar */.Et)(target))
                throw fail('the link has no valid target');
            if (target.startsWith('/'))
                throw fail(`the link points to the absolute path ${(0,errors/* quote */.hD)(target)}`);
            const parts = target.split('/').filter((s) => s !== '' && s !== '.');
            const firstNamed = parts.findIndex((s) => s !== '..');
            if (firstNamed >= 0 && parts.slice(firstNamed).includes('..')) {
                throw fail(`the link target ${(0,errors/* quote */.hD)(target)} climbs out of a directory it named`);
            }
            const resolved = external_node_path_.posix.normalize(external_node_path_.posix.join(external_node_path_.posix.dirname(path), target));
            if (resolved === '..' || resolved.startsWith('../'))
                throw fail(`the link points outside the tree (${(0,errors/* quote */.hD)(target)})`);
            return { kind: 'symlink', path, target, resolved: resolved === '.' ? '' : resolved };
        }
        case 'link': {
            if (path === '')
                throw fail('the root cannot be a link');
            const target = relativeName(entry.linkname ?? '', root, 'hard link target');
            if (target === '')
                throw fail('the hard link has no target');
            return { kind: 'hardlink', path, target };
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
            throw fail(`${type} entries are not artifacts`);
        default:
            throw fail(`unsupported entry type ${(0,errors/* quote */.hD)(type)}`);
    }
}
/**
 * TarTreeGuard checks a whole stream of entries in order: each with checkTarEntry, and no entry
 * may lie below a symlink seen earlier (a `d -> ..` then `d/x` pair writes outside the tree), a
 * hard link must name an earlier regular file, and no path may come twice.
 */
class TarTreeGuard {
    root;
    links = new Set();
    files = new Set();
    seen = new Set();
    constructor(root) {
        this.root = root;
    }
    /** check returns the checked entry or throws UnsafePathError. */
    check(entry) {
        const checked = checkTarEntry(entry, this.root);
        const fail = (why) => new UnsafePathError(entry.name, `unsafe entry ${quote(entry.name)} in the artifacts of ${this.root}: ${why}`);
        const segments = checked.path.split('/');
        for (let i = 1; i < segments.length; i++) {
            const parent = segments.slice(0, i).join('/');
            if (this.links.has(parent))
                throw fail(`it lies below the symlink ${quote(parent)}`);
        }
        if (checked.path !== '' && this.seen.has(checked.path))
            throw fail('the path appears twice');
        if (checked.kind === 'hardlink' && !this.files.has(checked.target)) {
            throw fail(`the hard link target ${quote(checked.target)} is not an earlier file`);
        }
        this.seen.add(checked.path);
        if (checked.kind === 'symlink')
            this.links.add(checked.path);
        if (checked.kind === 'file')
            this.files.add(checked.path);
        return checked;
    }
}

// EXTERNAL MODULE: ./build/src/core/podspec.js
var podspec = __webpack_require__(27309);
;// CONCATENATED MODULE: ./build/src/core/artifacts.js
/**
 * artifacts.ts: copies a build's artifacts out of its pod and into the object
 * store (DESIGN section 2, step 8).
 *
 * `tar -cf - -C /workspace/<artifacts_path> .` runs by exec in the `collector`
 * container, which outlives the build container. Its stdout is parsed as it
 * arrives (tar-stream); every entry is checked (tarpath.ts) before anything is
 * done with it; each regular file goes to the store while it streams, so no
 * copy lands on the runner's disk. Small files (<= SMALL_FILE bytes) are held
 * in memory and uploaded several at a time (at most `concurrency`, so memory
 * is bounded by concurrency x SMALL_FILE); large ones stream straight through.
 * A large file that GCS refuses for a checksum mismatch is fetched again from
 * the pod (one-file tar), never accepted.
 */








/** SMALL_FILE: files up to this size are buffered and uploaded in parallel (4 MiB). */
const SMALL_FILE = 4 << 20;
function tarCommand(dir, member = '.') {
    return ['tar', '-c', '-f', '-', '-C', dir, member];
}
/** digest hashes a stream without storing it: size, CRC32C (base64), SHA-256 (hex). */
async function digest(body) {
    const crc = await (0,crc32c/* createCrc32c */.d)();
    const sha = (0,external_node_crypto_.createHash)('sha256');
    let size = 0;
    for await (const chunk of body) {
        const b = chunk;
        crc.update(b);
        sha.update(b);
        size += b.length;
    }
    return { size, crc32c: crc.toString(), sha256: sha.digest('hex') };
}
/**
 * collectArtifacts copies every file below artifactsPath out of the pod and
 * uploads it (or only hashes it, without a store), then releases the
 * collector container. Throws when the exec or an upload fails.
 */
async function collectArtifacts(o) {
    try {
        return await copyOut(o);
    }
    finally {
        // The pod (and the Job) ends only when the collector does, whatever happened to the copy.
        await release(o).catch((err) => o.onWarning?.(err.message));
    }
}
/** copyOut does collectArtifacts' copy, without the release. */
async function copyOut(o) {
    const dir = external_node_path_.posix.join(podspec/* WORKSPACE_DIR */.s6, o.artifactsPath);
    const result = { artifacts: [], skipped: [], missing: false };
    const inFlight = new Set();
    const limit = o.concurrency ?? 8;
    let failure;
    const record = (a) => {
        result.artifacts.push(a);
        o.onArtifact?.(a);
    };
    const put = async (name, body, size) => {
        if (!o.store) {
            const d = await digest(typeof body === 'function' ? body() : body);
            record({ name, ...d, uri: '' });
            return;
        }
        const r = await o.store.upload((0,core_destination/* objectName */.Hd)(o.prefix, name), body, { size });
        record({ name, size: r.size, crc32c: r.crc32c, sha256: r.sha256, uri: r.uri });
    };
    const stop = new AbortController();
    const signal = AbortSignal.any([o.signal, stop.signal]);
    const extract = tar_stream.extract();
    const stderr = new external_node_stream_.PassThrough();
    let stderrText = '';
    stderr.on('data', (c) => (stderrText = (stderrText + c.toString('utf8')).slice(-2000)));
    const exec = o.kube.exec({
        namespace: o.namespace,
        pod: o.pod,
        container: podspec/* CONTAINER */.MR.collector,
        command: tarCommand(dir),
        stdout: extract,
        stderr,
        signal,
    });
    // If the exec fails, the extractor must end too, or the loop below waits forever.
    exec.catch((err) => extract.destroy(err));
    for await (const entry of extract) {
        let checked;
        try {
            checked = checkTarEntry(entry.header, o.artifactsPath);
        }
        catch (err) {
            result.skipped.push({ name: entry.header.name, reason: err.message });
            o.onWarning?.(err.message);
            entry.resume();
            continue;
        }
        if (checked.kind !== 'file') {
            if (checked.kind === 'symlink' || checked.kind === 'hardlink') {
                result.skipped.push({
                    name: checked.path,
                    reason: `${checked.kind} to ${checked.target} (object storage has no links)`,
                });
            }
            entry.resume();
            continue;
        }
        const size = entry.header.size ?? 0;
        const name = checked.path;
        if (size <= SMALL_FILE) {
            const chunks = [];
            for await (const c of entry)
                chunks.push(c);
            const data = Buffer.concat(chunks);
            while (inFlight.size >= limit)
                await Promise.race(inFlight);
            if (failure) {
                stop.abort();
                break;
            }
            const p = put(name, () => external_node_stream_.Readable.from([data]), size)
                .catch((err) => void (failure ??= err))
                .finally(() => inFlight.delete(p));
            inFlight.add(p);
        }
        else {
            // The first attempt streams the entry itself; a retry fetches the file again.
            let first = true;
            const source = () => {
                if (first) {
                    first = false;
                    return external_node_stream_.Readable.from(entry);
                }
                return refetch(o, dir, name);
            };
            await put(name, o.store ? source : external_node_stream_.Readable.from(entry), size);
        }
    }
    await Promise.all(inFlight);
    if (failure) {
        stop.abort();
        await exec.catch(() => undefined);
        throw failure;
    }
    const res = await exec;
    if (res.exitCode !== 0) {
        if (/No such file or directory|can't change directory|cannot change directory/i.test(stderrText)) {
            result.missing = true;
        }
        else {
            throw new Error(`copying ${dir} out of pod ${o.pod} failed (tar exit code ${res.exitCode}): ${stderrText.trim() || res.message}`);
        }
    }
    return result;
}
/** release creates the marker that lets the collector container end. */
async function release(o) {
    // The API server refuses an exec without any stream ("you must specify at
    // least 1 of stdin, stdout, stderr"): attach stderr, which also explains a failure.
    const stderr = new external_node_stream_.PassThrough();
    let text = '';
    stderr.on('data', (c) => (text = (text + c.toString('utf8')).slice(-1000)));
    const res = await o.kube.exec({
        namespace: o.namespace,
        pod: o.pod,
        container: podspec/* CONTAINER */.MR.collector,
        command: ['touch', podspec/* COLLECTED_MARKER */.x9],
        stderr,
        signal: o.signal,
    });
    if (res.exitCode !== 0) {
        throw new Error(`could not release the collector of pod ${o.pod}: ${text.trim() || res.message}`);
    }
}
/** refetch reads one file from the pod again: a one-member tar, unpacked on the fly. */
function refetch(o, dir, name) {
    const out = new external_node_stream_.PassThrough();
    const extract = tar_stream.extract();
    extract.on('entry', (header, stream, next) => {
        if (header.type === 'file') {
            stream.pipe(out);
            stream.on('end', next);
        }
        else {
            stream.on('end', next);
            stream.resume();
        }
    });
    extract.on('error', (err) => out.destroy(err));
    o.kube
        .exec({
        namespace: o.namespace,
        pod: o.pod,
        container: podspec/* CONTAINER */.MR.collector,
        command: tarCommand(dir, `./${name}`),
        stdout: extract,
        signal: o.signal,
    })
        .then((r) => r.exitCode !== 0 && out.destroy(new Error(`fetching ${name} again failed: ${r.message}`)))
        .catch((err) => out.destroy(err));
    return out;
}

// EXTERNAL MODULE: external "node:string_decoder"
var external_node_string_decoder_ = __webpack_require__(46193);
;// CONCATENATED MODULE: ./build/src/core/logs.js

/** LogStreamError: the log could not be followed (too many failed reconnects). */
class LogStreamError extends Error {
    name = 'LogStreamError';
}
/** Longest line kept whole (bytes of text); a longer one is delivered in pieces. */
const MAX_LINE = 1 << 20;
/** The last timestamp timeKey parsed and its answer, and the last whole second (ms) it parsed. */
const memo = { time: '', key: undefined, second: '', secondKey: 0n };
/**
 * timeKey turns an RFC 3339 timestamp into nanoseconds since the epoch (BigInt), for ordering.
 * Each line's timestamp is looked at twice in a row (splitTimestamp, then LineCursor.accept) and
 * consecutive lines mostly share their second: both are remembered, so a busy log is not
 * parsed twice per line (docs/benchmarks.md, "Where the action's time goes").
 */
function timeKey(time) {
    if (time === memo.time)
        return memo.key;
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
    let key;
    if (m) {
        const second = `${m[1]}${m[3]}`;
        if (second !== memo.second) {
            const ms = Date.parse(second);
            if (!Number.isNaN(ms))
                Object.assign(memo, { second, secondKey: BigInt(ms) * 1000000n });
        }
        if (second === memo.second)
            key = memo.secondKey + BigInt((m[2] ?? '').padEnd(9, '0'));
    }
    memo.time = time;
    memo.key = key;
    return key;
}
/** LineCursor remembers the last delivered timestamp and how many lines carried it. */
class LineCursor {
    last;
    lastTime;
    atLast = 0;
    skipAtLast = 0;
    /** rewind is called at each reconnect: lines at the last timestamp are skipped up to atLast. */
    rewind() {
        this.skipAtLast = this.atLast;
    }
    /** accept tells whether a line with this timestamp is new, and records it when it is. */
    accept(time) {
        const key = timeKey(time);
        if (key === undefined)
            return true;
        if (this.last !== undefined && key < this.last)
            return false;
        if (this.last !== undefined && key === this.last) {
            if (this.skipAtLast > 0) {
                this.skipAtLast--;
                return false;
            }
            this.atLast++;
            return true;
        }
        this.last = key;
        this.lastTime = time;
        this.atLast = 1;
        this.skipAtLast = 0;
        return true;
    }
}
/** splitTimestamp separates `2026-01-01T00:00:00.123456789Z text` into time and text. */
function splitTimestamp(raw) {
    const sp = raw.indexOf(' ');
    if (sp > 0 && timeKey(raw.slice(0, sp)) !== undefined) {
        return { time: raw.slice(0, sp), text: raw.slice(sp + 1) };
    }
    return { time: '', text: raw };
}
/**
 * followLogs delivers every line of the container's log once, in order, until
 * the container has terminated and its stream has ended. Throws LogStreamError
 * after `maxFailures` failed reconnects in a row.
 */
async function followLogs(opts) {
    const cursor = new LineCursor();
    const sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const drainMs = opts.drainTimeoutMs ?? 10_000;
    const maxFailures = opts.maxFailures ?? 20;
    let terminated = false;
    void opts.terminated.then(() => (terminated = true));
    let lines = 0;
    let reconnects = 0;
    let failures = 0;
    let finalRead = false;
    while (!opts.signal.aborted) {
        const attempt = new AbortController();
        const stop = () => attempt.abort();
        opts.signal.addEventListener('abort', stop, { once: true });
        // Once the container has ended, its stream must end by itself; if it goes
        // silent instead (a half-open connection), abort it and read the rest once
        // more. Only silence counts: after a large, fast log the backlog may take
        // minutes to read, and cutting it would re-read the last second over and
        // over without getting further.
        let drainTimer;
        let active = true;
        let lastProgress = Date.now();
        const whenSilent = (ms) => {
            drainTimer = setTimeout(() => {
                if (!active)
                    return;
                const silent = Date.now() - lastProgress;
                if (silent < drainMs)
                    return whenSilent(drainMs - silent);
                finalRead = true;
                attempt.abort();
            }, ms);
        };
        void opts.terminated.then(() => {
            if (active)
                whenSilent(drainMs);
        });
        let endedCleanly = false;
        let reason = '';
        try {
            const stream = await opts.open(cursor.lastTime, attempt.signal);
            const decoder = new external_node_string_decoder_.StringDecoder('utf8');
            let pending = '';
            const deliver = async (raw) => {
                const line = splitTimestamp(raw);
                if (!cursor.accept(line.time))
                    return;
                lines++;
                await opts.onLine(line);
                lastProgress = Date.now();
            };
            for await (const chunk of stream) {
                lastProgress = Date.now();
                pending += decoder.write(chunk);
                let nl;
                while ((nl = pending.indexOf('\n')) >= 0) {
                    const raw = pending.slice(0, nl);
                    pending = pending.slice(nl + 1);
                    await deliver(raw);
                }
                if (pending.length > MAX_LINE) {
                    await deliver(pending);
                    pending = '';
                }
            }
            pending += decoder.end();
            endedCleanly = true;
            // A clean end while the container is done: a last line without newline is real.
            if (pending && terminated)
                await deliver(pending);
            failures = 0;
        }
        catch (err) {
            reason = err instanceof Error ? err.message : String(err);
            if (!attempt.signal.aborted || !finalRead)
                failures++;
        }
        finally {
            active = false;
            clearTimeout(drainTimer);
            opts.signal.removeEventListener('abort', stop);
        }
        if (opts.signal.aborted)
            break;
        if (endedCleanly && terminated)
            break;
        if (failures > maxFailures) {
            throw new LogStreamError(`log stream failed ${failures} times in a row; last error: ${reason}`);
        }
        reconnects++;
        cursor.rewind();
        opts.onReconnect?.(reconnects, reason || 'stream ended while the container runs');
        if (failures > 0)
            await sleep(Math.min(5_000, 200 * 2 ** Math.min(failures, 5)));
        // Ended before the pod watch saw the container end: give the watch a moment.
        else if (endedCleanly)
            await Promise.race([opts.terminated, sleep(1_000)]);
    }
    return { lines, reconnects };
}

;// CONCATENATED MODULE: ./build/src/core/record.js
/** kbuildRecord builds the kbuild.json document of a finished build. */
function kbuildRecord(spec, r) {
    const s = spec.source;
    return {
        schema: 'kbuild.dev/build/v1',
        build_id: spec.buildId,
        job_name: spec.jobName,
        repository: s.repository,
        ...(s.repositoryId ? { repository_id: s.repositoryId } : {}),
        sha: s.sha,
        ref: s.ref,
        run_id: s.runId,
        run_attempt: s.runAttempt,
        workflow_url: `${s.serverUrl}/${s.repository}/actions/runs/${s.runId}/attempts/${s.runAttempt}`,
        ...(spec.package ? { package: spec.package } : {}),
        packages: spec.packages,
        name: spec.name,
        arch: spec.arch,
        image: spec.image,
        command: spec.command,
        namespace: spec.namespace,
        ...(r.nodeName ? { node: r.nodeName } : {}),
        ...(r.nodePool ? { node_pool: r.nodePool } : {}),
        created_at: r.createdAt,
        ...(r.startedAt ? { started_at: r.startedAt } : {}),
        ...(r.finishedAt ? { finished_at: r.finishedAt } : {}),
        status: r.status,
        reason: r.reason,
        ...(r.exitCode !== undefined ? { exit_code: r.exitCode } : {}),
        artifacts: r.artifacts.map((a) => ({
            name: a.name,
            size: a.size,
            crc32c: a.crc32c,
            sha256: a.sha256,
            uri: a.uri,
        })),
    };
}

;// CONCATENATED MODULE: ./build/src/core/build-output.js
/**
 * build-output.ts: what one build leaves behind, shared by mode `build` (lifecycle.ts) and mode
 * `dispatch` (src/action/dispatch-follow.ts): the build container's log, followed into the
 * reporter (one group) and a local build.log copy; its artifacts, copied out through the
 * collector container (artifacts.ts); and build.log and kbuild.json stored beside them
 * (DESIGN section 2, steps 7-9; section 5 for the storage layout).
 */








/**
 * streamBuildLog follows the `build` container's log (timestamps: true, reconnecting with
 * sinceTime, logs.ts) line by line into the reporter's group `title` and the file `logPath`
 * (waiting for `drain` when the file falls behind), and fills r.lastLines, r.logLines and
 * r.logReconnects. The group is closed and the file flushed in every case. Throws
 * LogStreamError when the stream cannot be re-opened, or the signal's reason.
 */
async function streamBuildLog(o, r) {
    const file = (0,external_node_fs_.createWriteStream)(o.logPath, { flags: o.append ? 'a' : 'w' });
    o.reporter.startGroup(o.title);
    try {
        const res = await followLogs({
            open: (sinceTime, sig) => o.kube.openLog({
                namespace: o.namespace,
                pod: o.pod,
                container: podspec/* CONTAINER */.MR.build,
                follow: true,
                timestamps: true,
                sinceTime,
            }, sig),
            onLine: async (line) => {
                r.lastLines.push(line.text);
                if (r.lastLines.length > o.lastLines)
                    r.lastLines.shift();
                if (!file.write(`${line.text}\n`))
                    await (0,external_node_events_.once)(file, 'drain');
                await o.reporter.buildLine(line.text);
            },
            terminated: o.terminated,
            signal: o.signal,
            ...(o.onReconnect ? { onReconnect: o.onReconnect } : {}),
        });
        r.logLines = res.lines;
        r.logReconnects = res.reconnects;
    }
    finally {
        o.reporter.endGroup();
        file.end();
        await (0,external_node_events_.once)(file, 'close');
    }
}
/** artifactsUriOf is `gs://BUCKET/DESTINATION/`, the `artifacts_uri` output. */
function artifactsUriOf(bucket, destination) {
    return (0,core_destination/* gcsUri */.ok)(bucket, `${destination}/`);
}
/**
 * collectBuildArtifacts copies /workspace/<artifactsPath> out of the pod through its collector
 * container (collectArtifacts in artifacts.ts, which also releases the collector) and uploads
 * each file under the destination; sets r.artifactsUri, r.artifacts and r.skipped. Warnings
 * (skipped entries, a failed release) go to the reporter. Answers `missing`: artifactsPath does
 * not exist in the pod; the caller says so (or not). Throws when the exec or an upload fails.
 */
async function collectBuildArtifacts(o, r) {
    r.artifactsUri = artifactsUriOf(o.bucket, o.spec.destination);
    const res = await collectArtifacts({
        kube: o.kube,
        namespace: o.spec.namespace,
        pod: o.pod,
        artifactsPath: o.spec.artifactsPath,
        prefix: o.spec.destination,
        store: o.store,
        signal: o.signal,
        onWarning: (m) => o.reporter.warning(m),
    });
    r.artifacts = res.artifacts;
    r.skipped = res.skipped;
    return { missing: res.missing };
}
/**
 * uploadBuildRecords stores build.log (text/plain; sets r.logUri) and then kbuild.json
 * (kbuildRecord of spec and r, record.ts) as `<destination>/build.log` and
 * `<destination>/kbuild.json`. Throws when an upload fails (storage.ts).
 */
async function uploadBuildRecords(o, r) {
    if (o.withLog) {
        const log = await o.store.upload((0,core_destination/* objectName */.Hd)(o.spec.destination, 'build.log'), () => (0,external_node_fs_.createReadStream)(o.logPath), { contentType: 'text/plain; charset=utf-8' });
        r.logUri = log.uri;
    }
    const json = Buffer.from(JSON.stringify(kbuildRecord(o.spec, r), null, 2) + '\n');
    await o.store.upload((0,core_destination/* objectName */.Hd)(o.spec.destination, 'kbuild.json'), () => external_node_stream_.Readable.from([json]), {
        contentType: 'application/json',
        size: json.length,
    });
}


/***/ }),

/***/ 44067:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   a: () => (/* binding */ containerStatus),
/* harmony export */   n: () => (/* binding */ BuildWatcher)
/* harmony export */ });
/** containerStatus finds a container's status in a pod (init containers included). */
function containerStatus(pod, name) {
    const s = pod?.status;
    return [...(s?.initContainerStatuses ?? []), ...(s?.containerStatuses ?? [])].find((c) => c.name === name);
}
function created(p) {
    return new Date(p.metadata?.creationTimestamp ?? 0).getTime();
}
/**
 * BuildWatcher watches the pods and (kind job) the Job of one build by label
 * selector until stop(). `until(fn)` resolves with fn's first non-undefined
 * answer, evaluated after every change and every `tickMs` (for timeouts).
 */
class BuildWatcher {
    state = { pods: new Map(), podDeleted: false };
    stopper = new AbortController();
    listeners = new Set();
    clock;
    tickMs;
    /** The first error of a watch that could not continue (e.g. 403 on list). */
    failure;
    constructor(kube, namespace, selector, opts) {
        this.clock = opts.clock;
        this.tickMs = opts.tickMs ?? 1000;
        const fail = (err) => {
            this.failure ??= err;
            this.changed();
        };
        kube
            .watchPods(namespace, selector, (type, pod) => this.onPod(type, pod), this.stopper.signal)
            .catch(fail);
        if (opts.watchJob) {
            kube
                .watchJobs(namespace, selector, (type, job) => {
                this.state.job = type === 'DELETED' ? undefined : job;
                this.changed();
            }, this.stopper.signal)
                .catch(fail);
        }
    }
    onPod(type, pod) {
        const name = pod.metadata?.name ?? '';
        if (type === 'DELETED') {
            this.state.pods.delete(name);
            if (this.state.pod?.metadata?.name === name)
                this.state.podDeleted = true;
        }
        else {
            this.state.pods.set(name, pod);
            const newest = [...this.state.pods.values()].sort((a, b) => created(b) - created(a))[0];
            if (newest && newest.metadata?.name !== this.state.pod?.metadata?.name)
                this.state.podDeleted = false;
            this.state.pod = newest;
        }
        this.changed();
    }
    changed() {
        for (const l of [...this.listeners])
            l();
    }
    /**
     * until resolves with the first non-undefined answer of fn. It rejects when
     * `signal` aborts (with signal.reason) or a watch failed for good.
     */
    until(fn, signal) {
        return new Promise((resolve, reject) => {
            const timer = setInterval(() => check(), this.tickMs);
            const cleanup = () => {
                this.listeners.delete(check);
                clearInterval(timer);
                signal.removeEventListener('abort', onAbort);
            };
            const onAbort = () => {
                cleanup();
                reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
            };
            const check = () => {
                if (this.failure) {
                    cleanup();
                    reject(this.failure);
                    return;
                }
                let v;
                try {
                    v = fn(this.state);
                }
                catch (err) {
                    cleanup();
                    reject(err);
                    return;
                }
                if (v !== undefined) {
                    cleanup();
                    resolve(v);
                }
            };
            if (signal.aborted)
                return onAbort();
            signal.addEventListener('abort', onAbort, { once: true });
            this.listeners.add(check);
            check();
        });
    }
    /** now is the clock's time, for predicates that measure waits. */
    now() {
        return this.clock.now();
    }
    stop() {
        this.stopper.abort();
        this.listeners.clear();
    }
}


/***/ }),

/***/ 85501:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   h: () => (/* binding */ createObjects),
/* harmony export */   k: () => (/* binding */ deleteBuild)
/* harmony export */ });
/* harmony import */ var _kube_api_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(40729);

function conflict(err) {
    return err instanceof _kube_api_js__WEBPACK_IMPORTED_MODULE_0__/* .KubeApiError */ .W && err.status === 409;
}
/**
 * createObjects creates the manifests in namespace; `own(owner, secret)`
 * returns the Secret with its owner reference (manifest.ts withOwner).
 * Throws KubeApiError (with the API server's message) when creation is refused.
 */
async function createObjects(kube, namespace, m, own) {
    let secretCreated = false;
    if (m.secret) {
        try {
            await kube.createSecret(namespace, m.secret);
            secretCreated = true;
        }
        catch (err) {
            if (!conflict(err))
                throw err;
        }
    }
    let owner;
    let adopted = false;
    try {
        if (m.job)
            owner = await kube.createJob(namespace, m.job);
        else if (m.pod)
            owner = await kube.createPod(namespace, m.pod);
        else
            throw new Error('nothing to create: the manifests have neither a Job nor a Pod');
    }
    catch (err) {
        const name = (m.job ?? m.pod)?.metadata?.name ?? '';
        if (conflict(err)) {
            const existing = m.job
                ? await kube.readJob(namespace, name)
                : await kube.readPod(namespace, name);
            if (!existing)
                throw err;
            owner = { ...existing, apiVersion: m.job ? 'batch/v1' : 'v1', kind: m.job ? 'Job' : 'Pod' };
            adopted = true;
        }
        else {
            if (secretCreated && m.secret?.metadata?.name) {
                await kube.deleteSecret(namespace, m.secret.metadata.name).catch(() => undefined);
            }
            throw err;
        }
    }
    owner.apiVersion ??= m.job ? 'batch/v1' : 'v1';
    owner.kind ??= m.job ? 'Job' : 'Pod';
    if (m.secret?.metadata?.name) {
        const ref = own(owner, m.secret).metadata?.ownerReferences?.[0];
        if (ref)
            await kube.setSecretOwner(namespace, m.secret.metadata.name, ref);
    }
    return { owner, adopted };
}
/**
 * deleteBuild deletes the Job (propagation Background: the garbage collector
 * removes its pods and Secret) or the bare Pod, and the Secret in case its
 * owner reference was never set. Answers whether the Job or Pod existed.
 */
async function deleteBuild(kube, namespace, name, kind) {
    const existed = kind === 'job'
        ? await kube.deleteJob(namespace, name, 'Background')
        : await kube.deletePod(namespace, name);
    await kube.deleteSecret(namespace, name).catch(() => false);
    return existed;
}


/***/ }),

/***/ 77072:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   n: () => (/* binding */ formatEvents)
/* harmony export */ });
/* unused harmony export eventTime */
/** eventTime is when an event was last seen, in ms since the epoch (0 when unknown). */
function eventTime(e) {
    const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
    return t ? new Date(t).getTime() : 0;
}
/**
 * formatEvents renders the last max events (oldest first) as a table like `kubectl get events`:
 * LAST SEEN (UTC), TYPE, REASON, OBJECT, MESSAGE; `(no events)` when there are none.
 */
function formatEvents(events, max = 10) {
    const last = [...events].sort((a, b) => eventTime(a) - eventTime(b)).slice(-max);
    if (last.length === 0)
        return '(no events)';
    const rows = [
        ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
        ...last.map((e) => {
            const t = eventTime(e);
            const obj = e.involvedObject;
            return [
                t ? new Date(t).toISOString().slice(11, 19) : '-',
                e.type ?? '',
                e.reason ?? '',
                `${(obj.kind ?? '').toLowerCase()}/${obj.name ?? ''}`,
                `${(e.message ?? '').replace(/\s+/g, ' ').trim()}${e.count && e.count > 1 ? ` (x${e.count})` : ''}`,
            ];
        }),
    ];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
    return rows
        .map((r) => r
        .map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c))
        .join('  ')
        .trimEnd())
        .join('\n');
}


/***/ }),

/***/ 18732:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   nx: () => (/* binding */ podVerdict),
/* harmony export */   pS: () => (/* binding */ jobVerdict)
/* harmony export */ });
/* unused harmony export FATAL_WAITING_REASONS */
/* harmony import */ var _events_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(77072);
/* harmony import */ var _parse_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(11874);
/* harmony import */ var _podspec_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(27309);



/** FATAL_WAITING_REASONS fail a build at once: retrying cannot fix them. */
const FATAL_WAITING_REASONS = new Set([
    'ErrImagePull',
    'ImagePullBackOff',
    'InvalidImageName',
    'ErrImageNeverPull',
    'CreateContainerConfigError',
    'CreateContainerError',
    'RunContainerError',
]);
/** DISRUPTION_REASONS are pod reasons of a node going away (Spot preemption, node shutdown). */
const DISRUPTION_REASONS = new Set([
    'Terminated',
    'NodeShutdown',
    'Shutdown',
    'NodeLost',
    'PreemptionByScheduler',
]);
/** eventsOf keeps the events about the pod (by uid when both have one, else by name). */
function eventsOf(pod, events) {
    const uid = pod.metadata?.uid;
    const name = pod.metadata?.name;
    return events.filter((e) => uid && e.involvedObject.uid ? e.involvedObject.uid === uid : e.involvedObject.name === name);
}
/**
 * podVerdict reads a build pod (the `build` container, its init containers, conditions and
 * events) at time now. In order: deadline exceeded -> timed_out; eviction; node disruption
 * (retryable); the build container's end (OOMKilled, exit code N, or success); a fatal waiting
 * reason in any container (image pull errors, invalid image, config errors: failed at once); a
 * failed init container; running; otherwise pending, which fails once the pod waited more than
 * pendingTimeoutSeconds without starting any container (unschedulable: with the scheduler's
 * message). Failure messages end with the last events.
 */
function podVerdict(pod, events, now, opts) {
    const name = pod.metadata?.name ?? 'pod';
    const status = pod.status ?? {};
    const table = () => {
        const mine = eventsOf(pod, events);
        return mine.length > 0 ? `\nlast events:\n${(0,_events_js__WEBPACK_IMPORTED_MODULE_2__/* .formatEvents */ .n)(mine, opts.maxEvents ?? 10)}` : '';
    };
    const failed = (reason, message, extra = {}) => ({
        state: 'failed',
        reason,
        message: `${message}${table()}`,
        ...extra,
    });
    const containers = status.containerStatuses ?? [];
    const inits = status.initContainerStatuses ?? [];
    const build = containers.find((c) => c.name === _podspec_js__WEBPACK_IMPORTED_MODULE_1__/* .CONTAINER */ .MR.build);
    const ended = build?.state?.terminated;
    const exit = ended ? { exitCode: ended.exitCode } : {};
    if (status.phase === 'Failed' && status.reason === 'DeadlineExceeded') {
        return {
            state: 'timed_out',
            reason: 'DeadlineExceeded',
            message: `pod ${name} ran past its deadline: ${status.message ?? 'activeDeadlineSeconds exceeded'}; raise input "timeout"`,
            ...exit,
        };
    }
    if (status.phase === 'Failed' && status.reason === 'Evicted') {
        return failed('Evicted', `pod ${name} was evicted: ${status.message ?? 'no message'}`, exit);
    }
    const disruption = (status.conditions ?? []).find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
    const disrupted = disruption !== undefined ||
        (status.phase === 'Failed' && DISRUPTION_REASONS.has(status.reason ?? ''));
    if (disrupted && ended?.exitCode !== 0) {
        const why = disruption?.message ?? status.message ?? status.reason ?? 'the node went away';
        return failed('Preempted', `pod ${name} was stopped by its node: ${why}`, {
            ...exit,
            retryable: true,
        });
    }
    if (ended) {
        if (ended.reason === 'OOMKilled') {
            const limit = pod.spec?.containers.find((c) => c.name === _podspec_js__WEBPACK_IMPORTED_MODULE_1__/* .CONTAINER */ .MR.build)?.resources
                ?.limits?.['memory'];
            const of = limit ? ` (limit ${limit})` : '';
            return failed('OOMKilled', `build container of pod ${name} ran out of memory${of} and was killed; raise input "memory"`, exit);
        }
        if (ended.exitCode === 0)
            return {
                state: 'succeeded',
                reason: 'Completed',
                message: `build in pod ${name} succeeded`,
                exitCode: 0,
            };
        const detail = ended.message ? `: ${ended.message.trim()}` : '';
        return {
            state: 'failed',
            reason: ended.reason ?? 'Error',
            message: `build in pod ${name} exited with code ${ended.exitCode}${detail}`,
            exitCode: ended.exitCode,
        };
    }
    for (const c of [...inits, ...containers]) {
        const waiting = c.state?.waiting;
        if (waiting?.reason && FATAL_WAITING_REASONS.has(waiting.reason)) {
            const image = c.image ? ` (image ${c.image})` : '';
            return failed(waiting.reason, `container ${c.name} of pod ${name} cannot start: ${waiting.reason}${image}: ${waiting.message ?? 'no message'}`);
        }
    }
    const badInit = inits.find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0);
    if (badInit?.state?.terminated) {
        const t = badInit.state.terminated;
        return failed('InitContainerFailed', `init container ${badInit.name} of pod ${name} exited with code ${t.exitCode}${t.message ? `: ${t.message.trim()}` : ''}`);
    }
    if (build?.state?.running)
        return { state: 'running', reason: 'Running', message: `build in pod ${name} is running` };
    if (status.phase === 'Failed')
        return failed(status.reason ?? 'Failed', `pod ${name} failed: ${status.message ?? 'no message'}`);
    if (status.phase === 'Succeeded')
        return { state: 'succeeded', reason: 'Completed', message: `pod ${name} succeeded` };
    return pendingVerdict(pod, now, opts, failed);
}
function started(c) {
    return Boolean(c.state?.running || c.state?.terminated);
}
function pendingVerdict(pod, now, opts, failed) {
    const name = pod.metadata?.name ?? 'pod';
    const status = pod.status ?? {};
    const scheduled = (status.conditions ?? []).find((c) => c.type === 'PodScheduled');
    const unschedulable = scheduled?.status === 'False' && scheduled.reason === 'Unschedulable';
    const anyStarted = [
        ...(status.initContainerStatuses ?? []),
        ...(status.containerStatuses ?? []),
    ].some(started);
    const waited = (now.getTime() - opts.startedWaitingAt.getTime()) / 1000;
    const over = waited > opts.pendingTimeoutSeconds;
    const after = (0,_parse_js__WEBPACK_IMPORTED_MODULE_0__/* .formatDuration */ .a3)(opts.pendingTimeoutSeconds);
    if (unschedulable) {
        const why = scheduled.message ?? 'no message from the scheduler';
        if (over)
            return failed('Unschedulable', `pod ${name} is unschedulable after ${after}: ${why}`);
        return {
            state: 'pending',
            reason: 'Unschedulable',
            message: `pod ${name} is waiting for a node: ${why}`,
        };
    }
    const waiting = [
        ...(status.initContainerStatuses ?? []),
        ...(status.containerStatuses ?? []),
    ].find((c) => c.state?.waiting)?.state?.waiting;
    const reason = anyStarted
        ? 'Initializing'
        : (waiting?.reason ?? (scheduled?.status === 'True' ? 'ContainerCreating' : 'Pending'));
    if (!anyStarted && over) {
        return failed('PendingTimeout', `pod ${name} did not start within ${after} (${reason}); raise input "pending_timeout" or check the events`);
    }
    return {
        state: 'pending',
        reason,
        message: `pod ${name} is ${reason === 'Initializing' ? 'initializing' : `pending (${reason})`}`,
    };
}
/**
 * jobVerdict reads the conditions of a Job (batch/v1 JobCondition): Complete or
 * SuccessCriteriaMet -> succeeded; Failed or FailureTarget with DeadlineExceeded -> timed_out,
 * other reasons (BackoffLimitExceeded, PodFailurePolicy) -> failed; suspended (Kueue has not
 * admitted it yet) -> queued; active pods -> running; else pending.
 */
function jobVerdict(job) {
    const name = job.metadata?.name ?? 'job';
    const conditions = (job.status?.conditions ?? []).filter((c) => c.status === 'True');
    const has = (...types) => conditions.find((c) => types.includes(c.type));
    const done = has('Complete', 'SuccessCriteriaMet');
    if (done)
        return {
            state: 'succeeded',
            reason: done.reason ?? done.type,
            message: `job ${name} completed`,
        };
    const fail = has('Failed', 'FailureTarget');
    if (fail) {
        const reason = fail.reason ?? 'Failed';
        const detail = fail.message ? `: ${fail.message}` : '';
        if (reason === 'DeadlineExceeded') {
            return {
                state: 'timed_out',
                reason,
                message: `job ${name} ran past its deadline${detail}; raise input "timeout"`,
            };
        }
        return { state: 'failed', reason, message: `job ${name} failed (${reason})${detail}` };
    }
    if (has('Suspended') || job.spec?.suspend) {
        const queue = job.metadata?.labels?.['kueue.x-k8s.io/queue-name'];
        return {
            state: 'queued',
            reason: 'Suspended',
            message: `job ${name} is queued${queue ? ` in ${queue}` : ''}, waiting for admission`,
        };
    }
    if ((job.status?.active ?? 0) > 0)
        return { state: 'running', reason: 'Active', message: `job ${name} is running` };
    return { state: 'pending', reason: 'Pending', message: `job ${name} has no running pod yet` };
}


/***/ })

};
