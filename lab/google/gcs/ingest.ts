// ingest.ts: streaming object data to disk while hashing it, and turning a
// finished upload into an object (hash checks, preconditions, commit).
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HttpError } from '../http.ts';
import { hashMismatch } from './hashes.ts';
import type { ExpectedHashes, ObjectHasher } from './hashes.ts';
import { invalid, noSuchBucket, preconditionFailure } from './resources.ts';
import type { UploadMetadata } from './resources.ts';
import type { GcsStore, ObjectRecord } from './store.ts';

/**
 * appendData streams `source` to the end of `path`, dropping its first
 * `skip` bytes (data a resumable upload already has) and hashing the rest,
 * at most `limit` bytes of it (the rest is read and dropped: a lab fault).
 * `corrupt` (faults.ts) may change the data as it arrives, before hashing.
 * Returns the number of bytes the source carried. Memory use is one chunk.
 */
export async function appendData(
  source: Readable,
  path: string,
  hasher: ObjectHasher,
  skip = 0,
  corrupt?: (data: Buffer) => Buffer,
  limit = Infinity,
): Promise<number> {
  let seen = 0;
  let toSkip = skip;
  let room = limit;
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const raw of chunks) {
        const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
        seen += chunk.length;
        const all = toSkip > 0 ? chunk.subarray(Math.min(toSkip, chunk.length)) : chunk;
        toSkip -= chunk.length - all.length;
        const kept = all.subarray(0, Math.min(all.length, room));
        room -= kept.length;
        if (kept.length === 0) continue;
        const data = corrupt ? corrupt(kept) : kept;
        hasher.update(data);
        yield data;
      }
    },
    createWriteStream(path, { flags: 'a' }),
  );
  return seen;
}

/** UploadTarget is where a finished upload goes and what the client declared. */
export interface UploadTarget {
  bucket: string;
  name: string;
  /** query holds the preconditions (ifGenerationMatch, ...). */
  query: URLSearchParams;
  meta: UploadMetadata;
  contentType: string;
  /** declared are the hashes from x-goog-hash headers (metadata's are added here). */
  declared: ExpectedHashes[];
}

/**
 * finishUpload verifies a fully written upload (every declared CRC32C/MD5
 * and the preconditions) and commits it. On any refusal the data is deleted
 * and nothing is created: 400 `invalid` for a hash mismatch (GCS's message),
 * 412 for a failed precondition, 404 when the bucket went away.
 */
export async function finishUpload(
  store: GcsStore,
  tempPath: string,
  hasher: ObjectHasher,
  t: UploadTarget,
): Promise<ObjectRecord> {
  const hashes = hasher.digest();
  const declared = [...t.declared, { crc32c: t.meta.crc32c, md5: t.meta.md5Hash }];
  const mismatch = hashMismatch(declared, hashes);
  let refusal: HttpError | undefined;
  if (mismatch !== undefined) refusal = invalid(mismatch);
  else if (store.bucket(t.bucket) === undefined) refusal = noSuchBucket();
  else refusal = preconditionFailure(store.object(t.bucket, t.name), t.query);
  if (refusal !== undefined) {
    await rm(tempPath, { force: true });
    throw refusal;
  }
  const m = t.meta;
  return store.commit(tempPath, {
    bucket: t.bucket,
    name: t.name,
    size: hasher.size,
    crc32c: hashes.crc32c,
    md5Hash: hashes.md5Hash,
    contentType: m.contentType ?? t.contentType,
    ...(m.contentEncoding === undefined ? {} : { contentEncoding: m.contentEncoding }),
    ...(m.contentDisposition === undefined ? {} : { contentDisposition: m.contentDisposition }),
    ...(m.contentLanguage === undefined ? {} : { contentLanguage: m.contentLanguage }),
    ...(m.cacheControl === undefined ? {} : { cacheControl: m.cacheControl }),
    ...(m.metadata === undefined ? {} : { metadata: m.metadata }),
  });
}
