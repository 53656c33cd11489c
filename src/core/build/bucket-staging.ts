/**
 * bucket-staging.ts: the runner's half of `staging: bucket` (docs/design.md section 3). The
 * context (the same tar stream as staging over exec, context.ts packContext) is gzip-compressed
 * and uploaded as one object, `kbuild-staging/<build id>.tar.gz`, with its CRC32C checked by GCS;
 * the pod's `fetch` init container downloads it through Workload Identity, checks that CRC32C
 * and unpacks it (src/pod/stage.ts). No exec is needed. The object is deleted after the build; a
 * lifecycle rule on the bucket removes any left behind after a day (deploy/gcp/setup.sh).
 */
import { createGzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { ObjectStore } from '../gcs/storage.ts';
import type { Reporter } from '../base/report.ts';
import { stagingObjectName, type StagedContext } from '../manifest/pod-program.ts';
import { packContext } from './context.ts';

/**
 * uploadContext packs `files` of `dir` into a gzip-compressed tar object for build `buildId` and
 * answers where it is and its CRC32C. A refused upload is packed and sent again (the store's
 * restarts); throws when the store cannot store it.
 */
export async function uploadContext(
  store: ObjectStore,
  buildId: string,
  dir: string,
  files: readonly string[],
  reporter: Pick<Reporter, 'info' | 'warning'>,
): Promise<StagedContext> {
  const object = stagingObjectName(buildId);
  let last: ReturnType<typeof packContext> | undefined;
  const open = (): Readable => {
    last = packContext(dir, files);
    return last.stream.pipe(createGzip({ level: 6 }));
  };
  const res = await store.upload(object, open, { contentType: 'application/gzip' });
  const stats = await last!.stats;
  reporter.info(
    `Staged ${stats.files} files (${(stats.bytes / 1048576).toFixed(1)} MiB, ${(res.size / 1048576).toFixed(1)} MiB compressed) from ${dir} as ${res.uri}`,
  );
  for (const s of stats.skipped)
    reporter.warning(`not staged: ${s} (not a regular file or symlink)`);
  return { object, crc32c: res.crc32c };
}

/** removeContext deletes the context archive; a failure is a warning (the lifecycle rule removes it later). */
export async function removeContext(
  store: ObjectStore,
  staged: StagedContext,
  reporter: Pick<Reporter, 'info' | 'warning'>,
): Promise<void> {
  if (!store.remove) return;
  await store
    .remove(staged.object)
    .catch((err: Error) =>
      reporter.warning(
        `could not delete the context archive ${staged.object}: ${err.message}; the bucket's lifecycle rule removes it after a day`,
      ),
    );
}
