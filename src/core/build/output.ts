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
 * sinceTime, logs.ts) line by line into the reporter's group `title` and the file `logPath`
 * (waiting for `drain` when the file falls behind), and fills r.lastLines, r.logLines and
 * r.logReconnects. The group is closed and the file flushed in every case. Throws
 * LogStreamError when the stream cannot be re-opened, or the signal's reason.
 */
export async function streamBuildLog(o: StreamLogOptions, r: BuildResult): Promise<void> {
  const file = createWriteStream(o.logPath, { flags: o.append ? 'a' : 'w' });
  const copy = new LineBatch(file);
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
      // Synchronous unless the file or the reporter asks to wait: no promise per line.
      onLine: (line) => {
        r.lastLines.push(line.text);
        if (r.lastLines.length > o.lastLines) r.lastLines.shift();
        const fileFull = !copy.add(line.text);
        const shown = o.reporter.buildLine(line.text);
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
    o.reporter.endGroup();
    copy.flush();
    file.end();
    await once(file, 'close');
  }
  if (reread?.reconnects)
    o.reporter.info(
      `Log stream: ${reread.reconnects} reconnects re-read ${(reread.skippedBytes / 1024).toFixed(1)} KiB ` +
        `(${reread.skippedLines} lines) already shown, and dropped them`,
    );
}

/** LOG_BATCH_BYTES: build.log is written in pieces of about this many bytes. */
const LOG_BATCH_BYTES = 64 * 1024;

/**
 * LineBatch writes lines to a file stream in pieces of about LOG_BATCH_BYTES: one write (and
 * one Buffer) per piece instead of per line, which is most of what a busy log allocates.
 */
class LineBatch {
  readonly #out: NodeJS.WritableStream;
  #lines: string[] = [];
  #bytes = 0;
  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
  }
  /** add queues a line (its newline added); answers false when the stream asks to wait for 'drain'. */
  add(text: string): boolean {
    this.#lines.push(text);
    this.#bytes += text.length + 1;
    return this.#bytes < LOG_BATCH_BYTES || this.flush();
  }
  /** flush writes what is queued; answers the stream's write() (false: wait for 'drain'). */
  flush(): boolean {
    if (!this.#lines.length) return true;
    const text = `${this.#lines.join('\n')}\n`;
    this.#lines = [];
    this.#bytes = 0;
    return this.#out.write(text);
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
