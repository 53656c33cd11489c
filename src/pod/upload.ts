/**
 * upload.ts: the pod program's `upload` command, the `uploader` container of a build with
 * `upload: cluster`. It waits until the build container's wrapper creates the done marker, then
 * uploads every regular file below the artifacts directory to `gs://BUCKET/PREFIX/<name>` as the
 * pod's own Google identity (metadata.ts), and prints one report line per file
 * (pod-program.ts). Each file streams from disk through a GCS resumable upload in chunks, with its
 * CRC32C sent on the final request so GCS refuses a corrupted object (gcs/resumable.ts); a
 * refused object is sent again from the file, at most ATTEMPTS times. No file is held in memory
 * whole: at most two chunks per upload in flight.
 */
import { createReadStream } from 'node:fs';
import { access, lstat, opendir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { uploadWithRestarts } from '../core/gcs/resumable.ts';
import {
  DONE_LINE,
  POD_ENV,
  SKIPPED_LINE,
  UPLOADED_LINE,
  type UploadedFile,
} from '../core/manifest/pod-program.ts';
import { envReader } from './env.ts';
import { MetadataServer } from './metadata.ts';

/** ATTEMPTS: whole-object attempts per file (a checksum refusal or a lost session restarts it). */
export const ATTEMPTS = 3;
/** CHUNK_BYTES: bytes per resumable-upload request (a multiple of 256 KiB). */
export const CHUNK_BYTES = 8 << 20;
/** PARALLEL: files uploaded at the same time. */
export const PARALLEL = 4;

/** UploadEnv: what the uploader reads (POD_ENV names). */
export interface UploadEnv {
  bucket: string;
  prefix: string;
  artifactsDir: string;
  apiEndpoint: string;
  doneMarker: string;
  waitSeconds: number;
  metadataHost: string | undefined;
}

/** uploadEnvFrom reads UploadEnv from the process environment; throws naming a missing variable. */
export function uploadEnvFrom(env: NodeJS.ProcessEnv): UploadEnv {
  const { need, common } = envReader(env);
  return {
    ...common(),
    prefix: need(POD_ENV.prefix),
    artifactsDir: need(POD_ENV.artifactsDir),
    doneMarker: need(POD_ENV.doneMarker),
    waitSeconds: Number(need(POD_ENV.waitSeconds)),
  };
}

/** waitFor polls for `file` once a second; throws after `seconds` seconds. */
export async function waitFor(file: string, seconds: number): Promise<void> {
  for (let i = 0; ; i++) {
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    )
      return;
    if (i >= seconds) throw new Error(`the build did not end within ${seconds}s (no ${file})`);
    await sleep(1000);
  }
}

/**
 * listFiles walks dir without following links: regular files to upload, links and other
 * entries to skip (with the reason), names relative to dir with POSIX separators, sorted.
 * Answers undefined when dir does not exist.
 */
export async function listFiles(
  dir: string,
): Promise<
  | { files: { name: string; size: number }[]; skipped: { name: string; reason: string }[] }
  | undefined
> {
  const top = await lstat(dir).catch(() => undefined);
  if (!top?.isDirectory()) return undefined;
  const files: { name: string; size: number }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const e of await opendir(join(dir, rel))) {
      const name = rel ? posix.join(rel, e.name) : e.name;
      if (e.isDirectory()) await walk(name);
      else if (e.isFile()) files.push({ name, size: (await lstat(join(dir, name))).size });
      else if (e.isSymbolicLink())
        skipped.push({ name, reason: 'symlink (object storage has no links)' });
      else skipped.push({ name, reason: 'not a regular file' });
    }
  };
  await walk('');
  files.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { files, skipped };
}

/**
 * runUpload waits for the build, uploads the artifacts and prints the report; `print` receives
 * each output line. Throws on the first file that cannot be stored (after its attempts).
 */
export async function runUpload(u: UploadEnv, print: (line: string) => void): Promise<void> {
  await waitFor(u.doneMarker, u.waitSeconds);
  const listing = await listFiles(u.artifactsDir);
  if (!listing) {
    print(`${DONE_LINE}${JSON.stringify({ files: 0, bytes: 0, missing: true })}`);
    return;
  }
  for (const s of listing.skipped) print(`${SKIPPED_LINE}${JSON.stringify(s)}`);
  const md = new MetadataServer(u.metadataHost);
  const limit = pLimit(PARALLEL);
  let bytes = 0;
  await Promise.all(
    listing.files.map((f) =>
      limit(async () => {
        const object = `${u.prefix}/${f.name}`;
        let attempts = 1;
        const done = await uploadWithRestarts(
          {
            apiEndpoint: u.apiEndpoint,
            bucket: u.bucket,
            name: object,
            size: f.size,
            chunkSize: CHUNK_BYTES,
            authorization: () => md.authorization(),
          },
          () => createReadStream(join(u.artifactsDir, f.name), { highWaterMark: 1 << 20 }),
          ATTEMPTS,
          (attempt, err) => {
            attempts = attempt;
            print(
              `kbuild: ${err.message}; sending ${f.name} again (attempt ${attempt} of ${ATTEMPTS})`,
            );
          },
        );
        const rec: UploadedFile = {
          name: f.name,
          size: done.size,
          crc32c: done.crc32c,
          sha256: done.sha256,
          generation: done.metadata.generation ?? '',
          attempts,
        };
        bytes += done.size;
        print(`${UPLOADED_LINE}${JSON.stringify(rec)}`);
      }),
    ),
  );
  print(`${DONE_LINE}${JSON.stringify({ files: listing.files.length, bytes, missing: false })}`);
}
