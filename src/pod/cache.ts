/**
 * cache.ts: the pod program's `cache-restore` and `cache-save` commands, the build cache of
 * inputs `cache_key`, `cache_restore_keys` and `cache_path` (inputs/cache.ts has the scopes and
 * docs/design.md section 3 the contract).
 *
 * - `cache-restore` (an init container, before the build): finds the archive of the exact key,
 *   else the newest archive whose key starts with a restore key, in the read scopes in order;
 *   streams it from GCS through the decompressor into the image's `tar -x`, computing its
 *   CRC32C on the way, and compares that with the CRC32C GCS holds. A damaged or truncated
 *   archive is discarded (the directory is emptied) with a warning and the build goes on cold.
 * - `cache-save` (a container beside the build): waits for the build's end; after a successful
 *   build whose exact key missed, streams `tar -c` of the directory through the compressor into
 *   a GCS resumable upload below the write scope, with its CRC32C so GCS refuses a corrupted
 *   object (gcs/resumable.ts), and sends it again from the start when GCS refuses it.
 *
 * Archives are zstd-compressed tar streams when this Node has zstd (node:zlib), else gzip. Each
 * command prints one report line (manifest/pod-program.ts) and always exits 0: the cache makes a
 * build faster, never fails it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { createCrc32c } from '../core/gcs/crc32c.ts';
import { listObjects, type ListedObject } from '../core/gcs/objects.ts';
import { uploadWithRestarts } from '../core/gcs/resumable.ts';
import {
  CACHE_RESTORED_LINE,
  CACHE_SAVED_LINE,
  CACHE_SUFFIXES,
  POD_ENV,
  type CacheHit,
  type CacheRestore,
  type CacheSave,
} from '../core/manifest/pod-program.ts';
import { envReader } from './env.ts';
import { MetadataServer } from './metadata.ts';
import { waitFor } from './upload.ts';

/** ATTEMPTS: whole-archive uploads before the save gives up (a refused checksum restarts it). */
export const ATTEMPTS = 3;
/** CHUNK_BYTES: bytes per resumable-upload request (a multiple of 256 KiB). */
const CHUNK_BYTES = 8 << 20;

/** CacheEnv: what both commands read (POD_ENV names). */
export interface CacheEnv {
  bucket: string;
  apiEndpoint: string;
  metadataHost: string | undefined;
  dir: string;
  key: string;
  restoreKeys: string[];
  read: string[];
  write: string;
  stateFile: string;
  /** For the save: the build's done marker (its content is the exit status) and the wait bound. */
  doneMarker?: string;
  waitSeconds?: number;
}

/** cacheEnvFrom reads CacheEnv from the process environment; throws naming a missing variable. */
export function cacheEnvFrom(env: NodeJS.ProcessEnv): CacheEnv {
  const { need, common } = envReader(env);
  const lines = (v: string | undefined): string[] =>
    (v ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  return {
    ...common(),
    dir: need(POD_ENV.cacheDir),
    key: need(POD_ENV.cacheKey),
    restoreKeys: lines(env[POD_ENV.cacheRestoreKeys]),
    read: lines(need(POD_ENV.cacheReadScopes)),
    write: need(POD_ENV.cacheWriteScope),
    stateFile: need(POD_ENV.cacheState),
    ...(env[POD_ENV.doneMarker] ? { doneMarker: env[POD_ENV.doneMarker] } : {}),
    ...(env[POD_ENV.waitSeconds] ? { waitSeconds: Number(env[POD_ENV.waitSeconds]) } : {}),
  };
}

/** zstdAvailable: this Node's zlib has zstd (Node 22.15 and later). */
function zstdAvailable(): boolean {
  return typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';
}

/** keyOf answers the key of an archive object below scope, or undefined when it is not one. */
function keyOf(scope: string, name: string): { key: string; suffix: string } | undefined {
  if (!name.startsWith(`${scope}/`)) return undefined;
  const rest = name.slice(scope.length + 1);
  const suffix = CACHE_SUFFIXES.find((s) => rest.endsWith(s));
  if (!suffix || rest.includes('/')) return undefined;
  if (suffix === '.tar.zst' && !zstdAvailable()) return undefined;
  return { key: rest.slice(0, -suffix.length), suffix };
}

/** Found: the archive chosen for a restore. */
export interface Found {
  hit: Exclude<CacheHit, 'none'>;
  key: string;
  object: ListedObject;
}

/**
 * findArchive picks the archive to restore: the exact key in the read scopes in order, else for
 * each restore key in order, the newest archive (by `updated`) whose key starts with it, in the
 * first read scope that has one. `list` answers the objects below a name prefix.
 */
export async function findArchive(
  c: Pick<CacheEnv, 'key' | 'restoreKeys' | 'read'>,
  list: (prefix: string) => Promise<ListedObject[]>,
): Promise<Found | undefined> {
  const candidates = [
    { key: c.key, exact: true },
    ...c.restoreKeys.map((k) => ({ key: k, exact: false })),
  ];
  for (const cand of candidates) {
    for (const scope of c.read) {
      const matches = (await list(`${scope}/${cand.key}`))
        .map((o) => ({ o, k: keyOf(scope, o.name) }))
        .filter(({ k }) => k && (cand.exact ? k.key === cand.key : k.key.startsWith(cand.key)))
        .sort((a, b) => Date.parse(b.o.updated) - Date.parse(a.o.updated));
      const best = matches[0];
      if (best?.k)
        return { hit: cand.exact ? 'exact' : 'partial', key: best.k.key, object: best.o };
    }
  }
  return undefined;
}

/** runTar runs the image's tar with args (argv, no shell); answers the child and its exit. */
function runTar(args: string[], stdin: 'pipe' | 'ignore', stdout: 'pipe' | 'ignore') {
  const child = spawn('tar', args, { stdio: [stdin, stdout, 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  const exit = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  }).then((code) => ({ code, err: err.trim() }));
  return { child, exit };
}

/**
 * intoChild is a Writable into a child's stdin that outlives the child: tar stops reading at the
 * archive's end-of-archive blocks and may exit before the decompressor's last bytes (padding)
 * arrive, so whatever comes after it has exited is dropped. The whole download is still read, so
 * its CRC32C is complete; tar's exit code says whether the unpacking worked.
 */
function intoChild(child: ChildProcess): Writable {
  const stdin = child.stdin!;
  let closed = false;
  let pending: (() => void) | undefined;
  stdin.on('error', () => {}); // EPIPE once tar has exited; its exit code is what counts.
  child.on('close', () => {
    closed = true;
    pending?.();
    pending = undefined;
  });
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (closed || stdin.destroyed || stdin.writableEnded) return done();
      if (stdin.write(chunk)) return done();
      pending = done;
      stdin.once('drain', () => {
        if (pending === done) {
          pending = undefined;
          done();
        }
      });
    },
    final(done) {
      if (!stdin.destroyed) stdin.end();
      done();
    },
    destroy(err, done) {
      // The download or the decompressor failed: end tar's input, so it exits (and fails).
      if (!stdin.destroyed) stdin.destroy();
      done(err);
    },
  });
}

/** emptyDir removes everything inside dir (a volume mount point, which itself stays). */
async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[]))
    await rm(join(dir, name), { recursive: true, force: true });
}

/**
 * restoreArchive streams the object into `tar -x` in c.dir and checks its CRC32C against GCS's;
 * throws (the caller discards what was unpacked) on any difference or error.
 */
async function restoreArchive(
  c: CacheEnv,
  md: MetadataServer,
  found: Found,
  suffix: string,
): Promise<void> {
  const name = found.object.name;
  const url =
    `${c.apiEndpoint}/download/storage/v1/b/${encodeURIComponent(c.bucket)}` +
    `/o/${encodeURIComponent(name)}?alt=media&generation=${encodeURIComponent(found.object.generation)}`;
  const res = await fetch(url, { headers: { authorization: await md.authorization() } });
  if (!res.ok || !res.body) {
    const text = (await res.text().catch(() => '')).slice(0, 300);
    throw new Error(`downloading gs://${c.bucket}/${name} failed: HTTP ${res.status}: ${text}`);
  }
  const crc = await createCrc32c();
  const decompress =
    suffix === '.tar.zst'
      ? (zlib as unknown as { createZstdDecompress: () => Transform }).createZstdDecompress()
      : zlib.createGunzip();
  const tar = runTar(
    // Existing directories keep their metadata (--no-overwrite-dir); files keep their modes and
    // mtimes (make relies on them).
    ['-x', '-f', '-', '-C', c.dir, '--no-same-owner', '--no-overwrite-dir'],
    'pipe',
    'ignore',
  );
  const [streamed, unpacked] = await Promise.allSettled([
    pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          crc.update(chunk);
          done(null, chunk);
        },
      }),
      decompress,
      intoChild(tar.child),
    ),
    tar.exit.then(({ code, err }) => {
      if (code !== 0) throw new Error(`tar -x exited with code ${code}: ${err}`);
    }),
  ]);
  // tar's own complaint says more than the broken pipe it leaves behind.
  if (unpacked.status === 'rejected') throw unpacked.reason;
  if (streamed.status === 'rejected') {
    const why =
      streamed.reason instanceof Error ? streamed.reason.message : String(streamed.reason);
    throw new Error(`the archive could not be read: ${why}`);
  }
  if (crc.toString() !== found.object.crc32c) {
    throw new Error(
      `its CRC32C is ${crc.toString()} as downloaded, GCS holds ${found.object.crc32c}`,
    );
  }
}

/**
 * runCacheRestore restores the cache into c.dir and answers its report line; leaves the outcome
 * in c.stateFile for the save. Never throws for a cache problem: a damaged archive is discarded
 * and reported, a failed listing is reported as a miss.
 */
export async function runCacheRestore(c: CacheEnv, log: (line: string) => void): Promise<string> {
  const started = performance.now();
  const md = new MetadataServer(c.metadataHost);
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const call = {
    bucket: c.bucket,
    apiEndpoint: c.apiEndpoint,
    authorization: () => md.authorization(),
  };
  let report: CacheRestore;
  try {
    const found = await findArchive(c, (prefix) => listObjects(call, prefix));
    if (!found) {
      report = { hit: 'none', seconds: seconds() };
    } else {
      const suffix = keyOf(dirname(found.object.name), found.object.name)?.suffix ?? '.tar.gz';
      try {
        await restoreArchive(c, md, found, suffix);
        report = {
          hit: found.hit,
          key: found.key,
          object: found.object.name,
          bytes: found.object.size,
          seconds: seconds(),
        };
      } catch (err) {
        await emptyDir(c.dir);
        const why = err instanceof Error ? err.message : String(err);
        log(
          `kbuild: warning: the cache archive gs://${c.bucket}/${found.object.name} was discarded: ${why}; the build goes on without a cache`,
        );
        report = { hit: 'none', object: found.object.name, discarded: why, seconds: seconds() };
      }
    }
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log(`kbuild: warning: no cache was restored: ${why}`);
    report = { hit: 'none', discarded: why, seconds: seconds() };
  }
  await mkdir(dirname(c.stateFile), { recursive: true });
  await writeFile(c.stateFile, JSON.stringify(report));
  return `${CACHE_RESTORED_LINE}${JSON.stringify(report)}`;
}

/**
 * archiveStream answers a fresh compressed tar stream of `entries` of dir: `tar -c` piped through zstd (or
 * gzip). The stream fails when tar fails (exit 2 or more), so a partial archive is never stored;
 * destroying it ends tar.
 */
export function archiveStream(
  dir: string,
  entries: readonly string[],
  zstd = zstdAvailable(),
): Readable {
  // The directory's entries, not `.`: the directory is a volume's mount point, which the
  // restoring container may not chmod or utime (it is root's).
  const tar = runTar(['-c', '-f', '-', '-C', dir, '--', ...entries], 'ignore', 'pipe');
  const gate = new Transform({
    transform: (chunk: Buffer, _enc, done) => done(null, chunk),
    // GNU tar exits 1 when a file changed while it was read (still a whole archive), 2 on a fatal error.
    flush: (done) =>
      void tar.exit.then(
        ({ code, err }) =>
          done(code >= 2 ? new Error(`tar -c exited with code ${code}: ${err}`) : null),
        done,
      ),
  });
  const compress = zstd
    ? (zlib as unknown as { createZstdCompress: () => Transform }).createZstdCompress()
    : zlib.createGzip({ level: 6 });
  const out = new PassThrough();
  pipeline(tar.child.stdout!, gate, compress, out).catch((err: Error) => out.destroy(err));
  out.on('close', () => tar.child.kill('SIGTERM'));
  return out;
}

/**
 * runCacheSave waits for the build's end and saves c.dir under the exact key when the build
 * succeeded and the key missed; answers its report line. Never throws for a cache problem.
 */
export async function runCacheSave(c: CacheEnv, log: (line: string) => void): Promise<string> {
  await waitFor(c.doneMarker ?? '', c.waitSeconds ?? 0);
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const skip = (reason: string): string =>
    `${CACHE_SAVED_LINE}${JSON.stringify({ saved: false, key: c.key, seconds: seconds(), reason } satisfies CacheSave)}`;
  const rc = (await readFile(c.doneMarker ?? '', 'utf8').catch(() => '')).trim();
  if (rc !== '0') return skip(`the build did not succeed (exit code ${rc || 'unknown'})`);
  const restored = await readFile(c.stateFile, 'utf8')
    .then((t) => JSON.parse(t) as CacheRestore)
    .catch(() => undefined);
  if (restored?.hit === 'exact') return skip(`key ${c.key} was restored exactly; nothing to save`);
  const entries = (await readdir(c.dir).catch(() => [] as string[])).sort();
  if (entries.length === 0) return skip(`the cache directory is empty`);
  const zstd = zstdAvailable();
  const object = `${c.write}/${c.key}${zstd ? '.tar.zst' : '.tar.gz'}`;
  const md = new MetadataServer(c.metadataHost);
  try {
    const done = await uploadWithRestarts(
      {
        apiEndpoint: c.apiEndpoint,
        bucket: c.bucket,
        name: object,
        chunkSize: CHUNK_BYTES,
        contentType: zstd ? 'application/zstd' : 'application/gzip',
        authorization: () => md.authorization(),
      },
      () => archiveStream(c.dir, entries, zstd),
      ATTEMPTS,
      (attempt, err) =>
        log(`kbuild: ${err.message}; saving the cache again (attempt ${attempt} of ${ATTEMPTS})`),
    );
    const report: CacheSave = {
      saved: true,
      key: c.key,
      object,
      bytes: done.size,
      crc32c: done.crc32c,
      seconds: seconds(),
    };
    return `${CACHE_SAVED_LINE}${JSON.stringify(report)}`;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log(`kbuild: warning: the cache was not saved: ${why}`);
    return skip(`saving failed: ${why}`);
  }
}
