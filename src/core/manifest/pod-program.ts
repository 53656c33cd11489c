/**
 * pod-program.ts: the contract between the runner and kbuild's pod program (src/pod, bundled by
 * `npm run build` into dist/pod/index.js and delivered to the pod in a ConfigMap): where it is
 * mounted, the image that runs it, its environment, and the report lines it prints. Pure
 * constants and parsing; the pod program imports this file, so it must stay free of any
 * runtime dependency.
 */

/** POD_PROGRAM_IMAGE runs the pod program: a public image with Node 24 (DESIGN section 3, `upload`). */
export const POD_PROGRAM_IMAGE = 'node:24-slim';
/** POD_PROGRAM_DIR is where the ConfigMap volume with the program is mounted (read-only). */
export const POD_PROGRAM_DIR = '/kbuild';
/** POD_PROGRAM_KEY is the ConfigMap key and file name (`.mjs`: Node loads it as ES module). */
export const POD_PROGRAM_KEY = 'kbuild-pod.mjs';
/** POD_PROGRAM_PATH is the program's path in the containers that run it. */
export const POD_PROGRAM_PATH = `${POD_PROGRAM_DIR}/${POD_PROGRAM_KEY}`;

/** POD_ENV names the environment variables the pod program reads. */
export const POD_ENV = {
  /** bucket: the GCS bucket. */
  bucket: 'KBUILD_BUCKET',
  /** prefix: the object prefix (the expanded destination), objects are `<prefix>/<name>`. */
  prefix: 'KBUILD_PREFIX',
  /** artifactsDir: the absolute directory whose files are uploaded. */
  artifactsDir: 'KBUILD_ARTIFACTS_DIR',
  /** storageEndpoint: the JSON API root, absent for https://storage.googleapis.com. */
  storageEndpoint: 'KBUILD_GCS_ENDPOINT',
  /** doneMarker: the file the build container's wrapper creates when the build ends. */
  doneMarker: 'KBUILD_DONE_MARKER',
  /** waitSeconds: how long the uploader waits for doneMarker. */
  waitSeconds: 'KBUILD_WAIT_SECONDS',
  /** permissions: comma-separated GCS permissions the check asks for on the bucket. */
  permissions: 'KBUILD_PERMISSIONS',
  /** serviceAccount: `NAMESPACE/KSA`, for messages and the principal:// member. */
  serviceAccount: 'KBUILD_KSA',
  /** stagingObject: the object name of the context archive (`staging: bucket`). */
  stagingObject: 'KBUILD_STAGING_OBJECT',
  /** stagingCrc32c: the archive's CRC32C as the runner uploaded it (base64). */
  stagingCrc32c: 'KBUILD_STAGING_CRC32C',
  /** workspace: where the archive is unpacked. */
  workspace: 'KBUILD_WORKSPACE',
  /** cacheDir: the directory (the `kbuild-cache` volume) the cache is restored into and saved from. */
  cacheDir: 'KBUILD_CACHE_DIR',
  /** cacheKey: the exact key (input `cache_key`). */
  cacheKey: 'KBUILD_CACHE_KEY',
  /** cacheRestoreKeys: the prefixes tried after the key, one per line (`cache_restore_keys`). */
  cacheRestoreKeys: 'KBUILD_CACHE_RESTORE_KEYS',
  /** cacheReadScopes: the object prefixes a restore may read, one per line, in order. */
  cacheReadScopes: 'KBUILD_CACHE_READ_SCOPES',
  /** cacheWriteScope: the one object prefix a save writes below. */
  cacheWriteScope: 'KBUILD_CACHE_WRITE_SCOPE',
  /** cacheState: the file where the restore leaves its outcome for the save. */
  cacheState: 'KBUILD_CACHE_STATE',
} as const;

/**
 * CACHE_SUFFIXES are the archive forms, in order of preference: a zstd- or gzip-compressed tar
 * stream. The pod program writes zstd when its Node has it (node:zlib zstd), else gzip.
 */
export const CACHE_SUFFIXES = ['.tar.zst', '.tar.gz'] as const;

/** CACHE_RESTORED_LINE starts the restore's report line (CacheRestore, JSON). */
export const CACHE_RESTORED_LINE = 'kbuild-cache-restored ';
/** CACHE_SAVED_LINE starts the save's report line (CacheSave, JSON). */
export const CACHE_SAVED_LINE = 'kbuild-cache-saved ';

/** CacheHit: `exact` (the key itself), `partial` (a restore key's prefix) or `none`. */
export type CacheHit = 'exact' | 'partial' | 'none';

/** CacheRestore is what the restore reports: what it found and how long it took. */
export interface CacheRestore {
  hit: CacheHit;
  /** The key of the archive restored (absent with hit `none`). */
  key?: string;
  /** The object restored, below the bucket. */
  object?: string;
  /** Bytes of the archive (compressed). */
  bytes?: number;
  seconds: number;
  /** Why an archive that was found was not used (damaged, truncated): it was discarded. */
  discarded?: string;
}

/** CacheSave is what the save reports: stored (with the object) or skipped (with the reason). */
export interface CacheSave {
  saved: boolean;
  key: string;
  object?: string;
  /** Bytes of the archive (compressed). */
  bytes?: number;
  /** base64 big-endian CRC32C of the archive, which GCS checked. */
  crc32c?: string;
  seconds: number;
  /** Why nothing was saved (an exact hit, a failed build, an error). */
  reason?: string;
}

/**
 * parseCacheLine reads the last line of `log` that starts with `prefix` (CACHE_RESTORED_LINE or
 * CACHE_SAVED_LINE) as JSON; answers undefined when there is none or it is not an object.
 */
export function parseCacheLine<T>(log: string, prefix: string): T | undefined {
  const line = log
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .pop();
  if (!line) return undefined;
  try {
    const v: unknown = JSON.parse(line.slice(prefix.length));
    return typeof v === 'object' && v !== null ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

/** STAGING_PREFIX: context archives live below it, so a lifecycle rule can remove orphans (deploy/gcp/setup.sh). */
export const STAGING_PREFIX = 'kbuild-staging';

/** stagingObjectName is the object of a build's context archive: `kbuild-staging/<build id>.tar.gz`. */
export function stagingObjectName(buildId: string): string {
  return `${STAGING_PREFIX}/${buildId}.tar.gz`;
}

/** StagedContext: the context archive the runner uploaded, as the pod is told to check it. */
export interface StagedContext {
  object: string;
  /** base64 big-endian CRC32C of the archive's bytes. */
  crc32c: string;
}

/** UPLOADED_LINE starts each line the uploader prints for a stored object. */
export const UPLOADED_LINE = 'kbuild-uploaded ';
/** SKIPPED_LINE starts each line for a file left out (links: GCS has none). */
export const SKIPPED_LINE = 'kbuild-skipped ';
/** DONE_LINE starts the uploader's last line, once every file is stored. */
export const DONE_LINE = 'kbuild-upload-done ';

/** UploadedFile is one object the pod stored, as it reports it. */
export interface UploadedFile {
  /** Path relative to artifacts_path (POSIX separators). */
  name: string;
  /** Bytes. */
  size: number;
  /** base64 big-endian CRC32C of the bytes read, which GCS checked (x-goog-hash). */
  crc32c: string;
  /** lowercase hex SHA-256 of the bytes read. */
  sha256: string;
  /** The object generation GCS answered. */
  generation: string;
  /** Attempts it took (a refused checksum or a lost session starts the object again). */
  attempts: number;
}

/** UploadReport is what the uploader's log says, parsed (parseUploadReport). */
export interface UploadReport {
  files: UploadedFile[];
  skipped: { name: string; reason: string }[];
  /** done: the last line was printed (files and bytes it counted); absent: the report is cut short. */
  done?: { files: number; bytes: number; missing: boolean };
}

/**
 * parseUploadReport reads the uploader container's log (one line per file, the DONE_LINE last);
 * other lines (retries, progress) are ignored. Throws on a report line that is not valid JSON of
 * the expected shape.
 */
export function parseUploadReport(log: string): UploadReport {
  const out: UploadReport = { files: [], skipped: [] };
  for (const line of log.split('\n')) {
    const json = (prefix: string): Record<string, unknown> => {
      const v: unknown = JSON.parse(line.slice(prefix.length));
      if (typeof v !== 'object' || v === null) throw new Error(`bad report line: ${line}`);
      return v as Record<string, unknown>;
    };
    if (line.startsWith(UPLOADED_LINE)) {
      const v = json(UPLOADED_LINE);
      const f: UploadedFile = {
        name: String(v.name),
        size: Number(v.size),
        crc32c: String(v.crc32c),
        sha256: String(v.sha256),
        generation: String(v.generation),
        attempts: Number(v.attempts ?? 1),
      };
      if (!f.name || !Number.isSafeInteger(f.size) || !f.crc32c || !f.generation) {
        throw new Error(`incomplete report line: ${line}`);
      }
      out.files.push(f);
    } else if (line.startsWith(SKIPPED_LINE)) {
      const v = json(SKIPPED_LINE);
      out.skipped.push({ name: String(v.name), reason: String(v.reason) });
    } else if (line.startsWith(DONE_LINE)) {
      const v = json(DONE_LINE);
      out.done = { files: Number(v.files), bytes: Number(v.bytes), missing: v.missing === true };
    }
  }
  return out;
}

/**
 * roleFor names the smallest predefined role that grants every permission of `permissions`
 * (Cloud Storage IAM roles): objectCreator for `storage.objects.create` alone, else objectUser.
 */
export function roleFor(permissions: readonly string[]): string {
  return permissions.every((p) => p === 'storage.objects.create')
    ? 'roles/storage.objectCreator'
    : 'roles/storage.objectUser';
}
