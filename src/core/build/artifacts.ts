/**
 * artifacts.ts: copies a build's artifacts out of its pod and into the object
 * store (docs/design.md, "One build", step 8).
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
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { posix } from 'node:path';
import tar from 'tar-stream';
import { createCrc32c } from '../gcs/crc32c.ts';
import { KubeApiError, runRetrying, type KubeApi } from '../kube/api.ts';
import type { ObjectStore, UploadResult } from '../gcs/storage.ts';
import { checkTarEntry } from './tarpath.ts';
import { objectName } from '../inputs/destination.ts';
import { COLLECTED_MARKER, CONTAINER, WORKSPACE_DIR } from '../manifest/podspec.ts';

/** Artifact: one uploaded (or, without a bucket, inspected) file; the `artifacts` output's items. */
export interface Artifact {
  /** Path relative to artifacts_path. */
  name: string;
  size: number;
  /** base64 big-endian CRC32C, as GCS reports it. */
  crc32c: string;
  /** lowercase hex SHA-256. */
  sha256: string;
  /** `gs://BUCKET/OBJECT`, or '' when nothing was uploaded. */
  uri: string;
}

/** CollectOptions: where the artifacts are and where they go. */
export interface CollectOptions {
  kube: KubeApi;
  namespace: string;
  pod: string;
  artifactsPath: string;
  /** Object prefix (the expanded destination); objects are `<prefix>/<name>`. */
  prefix: string;
  store?: ObjectStore;
  signal: AbortSignal;
  /** Parallel uploads of small files (default 8). */
  concurrency?: number;
  onWarning?: (message: string) => void;
  onArtifact?: (artifact: Artifact) => void;
}

/** CollectResult: what was collected, and what was left out and why. */
export interface CollectResult {
  artifacts: Artifact[];
  /** Entries not uploaded: links (GCS has none) and unsafe entries, with the reason. */
  skipped: { name: string; reason: string }[];
  /** True when artifacts_path does not exist in the pod. */
  missing: boolean;
}

/** SMALL_FILE: files up to this size are buffered and uploaded in parallel (4 MiB). */
export const SMALL_FILE = 4 << 20;

function tarCommand(dir: string, member = '.'): string[] {
  return ['tar', '-c', '-f', '-', '-C', dir, member];
}

/** digest hashes a stream without storing it: size, CRC32C (base64), SHA-256 (hex). */
async function digest(body: Readable): Promise<{ size: number; crc32c: string; sha256: string }> {
  const crc = await createCrc32c();
  const sha = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    crc.update(b);
    sha.update(b);
    size += b.length;
  }
  return { size, crc32c: crc.toString(), sha256: sha.digest('hex') };
}

/**
 * collectArtifacts copies every file below artifactsPath out of the pod and
 * uploads it (or only hashes it, without a store), then releases the
 * collector container. Throws when the exec or an upload fails (after the
 * retries of KubeApi.retrying for a cut session).
 */
export async function collectArtifacts(o: CollectOptions): Promise<CollectResult> {
  try {
    // A copy cut by a transient failure starts again from the beginning (KubeApi.retrying);
    // objects already uploaded are overwritten with the same bytes.
    return await runRetrying(o.kube, `copy the artifacts out of pod ${o.pod}`, () => copyOut(o));
  } finally {
    // The pod (and the Job) ends only when the collector does, whatever happened to the copy.
    await runRetrying(o.kube, `release the collector of pod ${o.pod}`, () => release(o)).catch(
      (err: Error) => o.onWarning?.(err.message),
    );
  }
}

/** copyOut does collectArtifacts' copy, without the release. */
async function copyOut(o: CollectOptions): Promise<CollectResult> {
  const dir = posix.join(WORKSPACE_DIR, o.artifactsPath);
  const result: CollectResult = { artifacts: [], skipped: [], missing: false };
  const inFlight = new Set<Promise<void>>();
  const limit = o.concurrency ?? 8;
  let failure: unknown;

  const record = (a: Artifact) => {
    result.artifacts.push(a);
    o.onArtifact?.(a);
  };
  const put = async (
    name: string,
    body: Readable | (() => Readable),
    size: number,
  ): Promise<void> => {
    if (!o.store) {
      const d = await digest(typeof body === 'function' ? body() : body);
      record({ name, ...d, uri: '' });
      return;
    }
    const r: UploadResult = await o.store.upload(objectName(o.prefix, name), body, { size });
    record({ name, size: r.size, crc32c: r.crc32c, sha256: r.sha256, uri: r.uri });
  };

  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const extract = tar.extract();
  const stderr = new PassThrough();
  let stderrText = '';
  stderr.on('data', (c: Buffer) => (stderrText = (stderrText + c.toString('utf8')).slice(-2000)));
  const exec = o.kube.exec({
    namespace: o.namespace,
    pod: o.pod,
    container: CONTAINER.collector,
    command: tarCommand(dir),
    stdout: extract,
    stderr,
    signal,
  });
  // If the exec fails, the extractor must end too, or the loop below waits forever.
  exec.catch((err: Error) => extract.destroy(err));

  // tar-stream's words when its input ends before the archive's end-of-archive blocks.
  let cut = false;
  try {
    await copyEntries();
  } catch (err) {
    if (!(err instanceof Error && err.message === 'Unexpected end of data')) throw err;
    cut = true;
  }
  async function copyEntries(): Promise<void> {
    for await (const entry of extract) {
      let checked;
      try {
        checked = checkTarEntry(entry.header, o.artifactsPath);
      } catch (err) {
        result.skipped.push({ name: entry.header.name, reason: (err as Error).message });
        o.onWarning?.((err as Error).message);
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
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const data = Buffer.concat(chunks);
        while (inFlight.size >= limit) await Promise.race(inFlight);
        if (failure) {
          stop.abort();
          break;
        }
        const p: Promise<void> = put(name, () => Readable.from([data]), size)
          .catch((err) => void (failure ??= err))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      } else {
        // The first attempt streams the entry itself; a retry fetches the file again.
        let first = true;
        const source = () => {
          if (first) {
            first = false;
            return Readable.from(entry);
          }
          return refetch(o, dir, name);
        };
        await put(name, o.store ? source : Readable.from(entry), size);
      }
    }
  }
  await Promise.all(inFlight);
  if (failure) {
    stop.abort();
    await exec.catch(() => undefined);
    throw failure;
  }
  const res = await exec;
  if (cut && res.exitCode === 0) {
    // tar in the pod finished, but its stream ended early on the way: a cut session, copied
    // again from the beginning (collectArtifacts' retries).
    const e = new KubeApiError(
      0,
      'StreamCut',
      `the tar stream of ${dir} from pod ${o.pod} ended before the archive did`,
    );
    e.code = 'ECONNRESET';
    throw e;
  }
  if (res.exitCode !== 0) {
    if (
      /No such file or directory|can't change directory|cannot change directory/i.test(stderrText)
    ) {
      result.missing = true;
    } else {
      throw new Error(
        `copying ${dir} out of pod ${o.pod} failed (tar exit code ${res.exitCode}): ${stderrText.trim() || res.message}`,
      );
    }
  }
  return result;
}

/** release creates the marker that lets the collector container end. */
export async function release(
  o: Pick<CollectOptions, 'kube' | 'namespace' | 'pod' | 'signal'>,
): Promise<void> {
  // The API server refuses an exec without any stream ("you must specify at
  // least 1 of stdin, stdout, stderr"): attach stderr, which also explains a failure.
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text = (text + c.toString('utf8')).slice(-1000)));
  const res = await o.kube.exec({
    namespace: o.namespace,
    pod: o.pod,
    container: CONTAINER.collector,
    command: ['touch', COLLECTED_MARKER],
    stderr,
    signal: o.signal,
  });
  if (res.exitCode !== 0) {
    throw new Error(
      `could not release the collector of pod ${o.pod}: ${text.trim() || res.message}`,
    );
  }
}

/** refetch reads one file from the pod again: a one-member tar, unpacked on the fly. */
function refetch(o: CollectOptions, dir: string, name: string): Readable {
  const out = new PassThrough();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    if (header.type === 'file') {
      stream.pipe(out);
      stream.on('end', next);
    } else {
      stream.on('end', next);
      stream.resume();
    }
  });
  extract.on('error', (err: Error) => out.destroy(err));
  o.kube
    .exec({
      namespace: o.namespace,
      pod: o.pod,
      container: CONTAINER.collector,
      command: tarCommand(dir, `./${name}`),
      stdout: extract,
      signal: o.signal,
    })
    .then(
      (r) =>
        r.exitCode !== 0 && out.destroy(new Error(`fetching ${name} again failed: ${r.message}`)),
    )
    .catch((err: Error) => out.destroy(err));
  return out;
}
