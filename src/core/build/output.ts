/**
 * build/output.ts: what one build leaves behind, shared by mode `build` (lifecycle.ts) and mode
 * `dispatch` (src/action/dispatch-follow.ts): the build container's log, followed into the
 * reporter (one group) and a local build.log copy; its artifacts, copied out through the
 * collector container (artifacts.ts); and build.log and kbuild.json stored beside them
 * (docs/design.md, "One build", steps 7-9; "Storage layout").
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { collectArtifacts } from './artifacts.ts';
import { gcsUri, objectName } from '../inputs/destination.ts';
import type { KubeApi } from '../kube/api.ts';
import { followLogs, type FollowResult } from './logs.ts';
import { CONTAINER } from '../manifest/podspec.ts';
import { kbuildRecord, type BuildResult } from './record.ts';
import type { Reporter } from '../base/report.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import type { ObjectStore } from '../gcs/storage.ts';

/** StreamLogOptions: whose log, where it goes, and when its container ended. */
export interface StreamLogOptions {
  kube: KubeApi;
  namespace: string;
  /** pod: the name of the pod whose `build` container is followed. */
  pod: string;
  reporter: Reporter;
  /** title of the reporter group the lines go into, e.g. `Build output: brotli (arm64)`. */
  title: string;
  /** logPath: the local build.log copy; append: add to it (a retried attempt) instead of replacing it. */
  logPath: string;
  append: boolean;
  /** lastLines: how many of the last lines BuildResult.lastLines keeps (for failure messages). */
  lastLines: number;
  /**
   * terminated resolves once the build container ended (the pod watch); a container known to
   * have ended already passes Promise.resolve() (see followLogs in logs.ts).
   */
  terminated: Promise<void>;
  signal: AbortSignal;
  /** onReconnect: called for each reconnect of the log stream (attempt from 1); absent: silent. */
  onReconnect?: (attempt: number, why: string) => void;
}

/**
 * streamBuildLog follows the `build` container's log (timestamps: true, reconnecting with
 * sinceTime, logs.ts) into the reporter's group `title` (Reporter.buildOutput, or buildLine per
 * line) and the file `logPath`, one Buffer per read of the stream (waiting for `drain` when the
 * file or the reporter falls behind), and fills r.lastLines, r.logLines and
 * r.logReconnects. The group is closed and the file flushed in every case. Throws
 * LogStreamError when the stream cannot be re-opened, or the signal's reason.
 */
export async function streamBuildLog(o: StreamLogOptions, r: BuildResult): Promise<void> {
  const file = createWriteStream(o.logPath, { flags: o.append ? 'a' : 'w' });
  const tail = new LastLines(o.lastLines);
  let reread: FollowResult | undefined;
  o.reporter.startGroup(o.title);
  try {
    const res = await followLogs({
      open: (sinceTime, sig) =>
        o.kube.openLog(
          {
            namespace: o.namespace,
            pod: o.pod,
            container: CONTAINER.build,
            follow: true,
            timestamps: true,
            sinceTime,
          },
          sig,
        ),
      // One Buffer per read of the stream, shared by the file and the reporter; synchronous
      // unless one of them asks to wait.
      onText: (text) => {
        tail.add(text);
        const fileFull = !file.write(text);
        const shown = o.reporter.buildOutput
          ? o.reporter.buildOutput(text)
          : lineByLine(o.reporter, text);
        if (!fileFull && !shown) return;
        return (async () => {
          if (fileFull) await once(file, 'drain');
          await shown;
        })();
      },
      terminated: o.terminated,
      signal: o.signal,
      ...(o.onReconnect ? { onReconnect: o.onReconnect } : {}),
      onStuck: (line) => o.reporter.warning(line),
    });
    r.logLines = res.lines;
    r.logReconnects = res.reconnects;
    reread = res;
  } finally {
    // A retried attempt (append) adds to the lines of the one before.
    const kept = tail.lines();
    if (kept.length) r.lastLines = [...r.lastLines, ...kept].slice(-o.lastLines);
    o.reporter.endGroup();
    file.end();
    await once(file, 'close');
  }
  if (reread?.reconnects)
    o.reporter.info(
      `Log stream: ${reread.reconnects} reconnects re-read ${(reread.skippedBytes / 1024).toFixed(1)} KiB ` +
        `(${reread.skippedLines} lines) already shown, and dropped them`,
    );
}

/**
 * lineByLine hands whole lines of text (each ended by `\n`) to a reporter without buildOutput,
 * one buildLine call each, awaiting the ones that answer a promise.
 */
function lineByLine(reporter: Reporter, text: Buffer): void | Promise<void> {
  const lines = text.toString('utf8').split('\n');
  lines.pop();
  let i = 0;
  const next = (): void | Promise<void> => {
    while (i < lines.length) {
      const wait = reporter.buildLine(lines[i++]!);
      if (wait) return wait.then(next);
    }
  };
  return next();
}

/**
 * LastLines keeps the last `max` lines of a log given as pieces of whole lines (Buffers, each
 * line ended by `\n`): references to the pieces, not copies, and only as many pieces as hold
 * those lines. It runs once per read of the stream, not once per line.
 */
export class LastLines {
  readonly #max: number;
  #pieces: Buffer[] = [];
  #counts: number[] = [];
  #lines = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** add takes a piece of whole lines (it may be kept, so it must not be changed afterwards). */
  add(text: Buffer): void {
    if (this.#max <= 0 || text.length === 0) return;
    // Count the piece's lines back from its end, up to max; `start`: where the max-th last begins.
    let count = 0;
    let at = text.length - 1; // the newline that ends its last line
    let start = 0;
    while (count < this.#max) {
      count++;
      const nl = at > 0 ? text.lastIndexOf(10, at - 1) : -1;
      if (nl < 0) break;
      at = nl;
      if (count === this.#max) start = nl + 1;
    }
    if (count >= this.#max) {
      this.#pieces = [text.subarray(start)];
      this.#counts = [this.#max];
      this.#lines = this.#max;
      return;
    }
    this.#pieces.push(text);
    this.#counts.push(count);
    this.#lines += count;
    while (this.#pieces.length > 1 && this.#lines - this.#counts[0]! >= this.#max) {
      this.#lines -= this.#counts.shift()!;
      this.#pieces.shift();
    }
  }

  /** lines answers the kept lines as strings (UTF-8), oldest first, at most max. */
  lines(): string[] {
    if (this.#lines === 0) return [];
    const all = Buffer.concat(this.#pieces).toString('utf8').split('\n');
    all.pop();
    return all.slice(-this.#max);
  }
}

/** artifactsUriOf is `gs://BUCKET/DESTINATION/`, the `artifacts_uri` output. */
export function artifactsUriOf(bucket: string, destination: string): string {
  return gcsUri(bucket, `${destination}/`);
}

/** CollectBuildOptions: the pod whose collector container is running, the store and its bucket. */
export interface CollectBuildOptions {
  kube: KubeApi;
  store: ObjectStore;
  bucket: string;
  spec: Pick<BuildSpec, 'namespace' | 'artifactsPath' | 'destination'>;
  pod: string;
  reporter: Reporter;
  signal: AbortSignal;
}

/**
 * collectBuildArtifacts copies /workspace/<artifactsPath> out of the pod through its collector
 * container (collectArtifacts in artifacts.ts, which also releases the collector) and uploads
 * each file under the destination; sets r.artifactsUri, r.artifacts and r.skipped. Warnings
 * (skipped entries, a failed release) go to the reporter. Answers `missing`: artifactsPath does
 * not exist in the pod; the caller says so (or not). Throws when the exec or an upload fails.
 */
export async function collectBuildArtifacts(
  o: CollectBuildOptions,
  r: BuildResult,
): Promise<{ missing: boolean }> {
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

/** UploadRecordsOptions: the store, the build's spec (kbuild.json) and its local build.log. */
export interface UploadRecordsOptions {
  store: ObjectStore;
  spec: BuildSpec;
  logPath: string;
  /** withLog: upload build.log too (false when the build never started, so there is no log). */
  withLog: boolean;
}

/**
 * uploadBuildRecords stores build.log (text/plain; sets r.logUri) and then kbuild.json
 * (kbuildRecord of spec and r, record.ts) as `<destination>/build.log` and
 * `<destination>/kbuild.json`. Throws when an upload fails (storage.ts).
 */
export async function uploadBuildRecords(o: UploadRecordsOptions, r: BuildResult): Promise<void> {
  if (o.withLog) {
    const log = await o.store.upload(
      objectName(o.spec.destination, 'build.log'),
      () => createReadStream(o.logPath),
      { contentType: 'text/plain; charset=utf-8' },
    );
    r.logUri = log.uri;
  }
  const json = Buffer.from(JSON.stringify(kbuildRecord(o.spec, r), null, 2) + '\n');
  await o.store.upload(objectName(o.spec.destination, 'kbuild.json'), () => Readable.from([json]), {
    contentType: 'application/json',
    size: json.length,
  });
}
