import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CRC32C } from '@google-cloud/storage';
import {
  GoogleApiError,
  googleErrorText,
  isRetryableStatus,
  redact,
  withRetry,
} from './google-http.ts';
import type { FetchLike, RetryOptions } from './google-http.ts';

/** GCS_CHUNK_ALIGN: every chunk of a resumable upload but the last is a multiple of 256 KiB (GCS resumable upload doc). */
export const GCS_CHUNK_ALIGN = 256 * 1024;

/** ObjectMetadata is the part of the GCS object resource (JSON API `objects`) the uploader reads back. */
export interface ObjectMetadata {
  name?: string;
  size?: string;
  crc32c?: string;
  md5Hash?: string;
  generation?: string;
}

/** ResumableUploadOptions describe one streamed upload (see resumableUpload). */
export interface ResumableUploadOptions {
  /** JSON API root without `/storage/v1`, e.g. `https://storage.googleapis.com`. */
  apiEndpoint: string;
  bucket: string;
  name: string;
  body: Readable;
  contentType?: string;
  /** Expected size in bytes; when set it is announced to GCS and checked. */
  size?: number;
  /** Bytes per request, a multiple of 256 KiB; bounds the memory one upload holds. */
  chunkSize: number;
  /** Returns the Authorization header value, or undefined for an unauthenticated emulator. */
  authorization: () => Promise<string | undefined>;
  fetch?: FetchLike;
  retry?: RetryOptions;
}

/** ResumableUploadResult is the finished object and the digests computed while streaming. */
export interface ResumableUploadResult {
  size: number;
  /** base64 big-endian CRC32C, as GCS writes it. */
  crc32c: string;
  /** lowercase hex SHA-256. */
  sha256: string;
  metadata: ObjectMetadata;
}

/**
 * ChecksumMismatchError means GCS rejected (or stored) bytes whose CRC32C
 * differs from the one computed while reading the stream: the data changed on
 * the way. The object was not kept; a fresh stream may be uploaded again.
 */
export class ChecksumMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChecksumMismatchError';
  }
}

/**
 * UploadSessionLostError means GCS no longer knows the resumable session
 * (HTTP 404 or 410): the upload must start again from a fresh stream.
 */
export class UploadSessionLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UploadSessionLostError';
  }
}

/**
 * resumableUpload streams `body` to `gs://bucket/name` with the JSON API
 * resumable protocol (GCS docs "Perform resumable uploads", chunked): it
 * starts a session (`POST /upload/storage/v1/b/B/o?uploadType=resumable`),
 * then sends `chunkSize` bytes per `PUT` with `Content-Range: bytes a-b/*`,
 * and the final request with the total size and `X-Goog-Hash: crc32c=...`
 * computed while reading, so GCS itself checks the object and refuses to
 * create it on a mismatch (HTTP 400). No copy goes to disk; at most one chunk
 * is held in memory. A network error, 408, 429 or 5xx is retried with backoff
 * after asking GCS how many bytes it persisted (`Content-Range: bytes *\/*`),
 * resending from there. Throws ChecksumMismatchError (also when GCS reports a
 * different crc32c than computed: the object is then deleted),
 * UploadSessionLostError, or GoogleApiError.
 */
export async function resumableUpload(o: ResumableUploadOptions): Promise<ResumableUploadResult> {
  if (o.chunkSize <= 0 || o.chunkSize % GCS_CHUNK_ALIGN !== 0) {
    throw new Error(
      `invalid chunk size ${o.chunkSize}: use a multiple of ${GCS_CHUNK_ALIGN} bytes`,
    );
  }
  const uri = `gs://${o.bucket}/${o.name}`;
  const doFetch = o.fetch ?? fetch;
  const crc = new CRC32C();
  const sha = createHash('sha256');
  let total = 0;
  const session = await startSession(o, uri, doFetch);
  const put = new ChunkSender(o, uri, session, doFetch);
  let metadata: ObjectMetadata | undefined;
  for await (const { data, last } of chunks(o.body, o.chunkSize, (buf) => {
    crc.update(buf);
    sha.update(buf);
    total += buf.length;
  })) {
    if (last && o.size !== undefined && total !== o.size) {
      throw new Error(
        `upload of ${uri} failed: the stream gave ${total} bytes, ${o.size} were expected`,
      );
    }
    const hash = last ? `crc32c=${crc.toString()}` : undefined;
    metadata = await put.send(data, last ? total : undefined, hash);
  }
  if (!metadata) throw new Error(`upload of ${uri} failed: GCS did not finalize the object`);
  const crc32c = crc.toString();
  if (metadata.crc32c !== crc32c || Number(metadata.size) !== total) {
    await deleteObject(o, metadata.generation, doFetch).catch(() => undefined);
    throw new ChecksumMismatchError(
      `upload of ${uri} failed: GCS stored crc32c ${metadata.crc32c ?? '(none)'} and size ${metadata.size ?? '?'}, ` +
        `the stream had crc32c ${crc32c} and size ${total}; the object was deleted`,
    );
  }
  return { size: total, crc32c, sha256: sha.digest('hex'), metadata };
}

/**
 * chunks reads `body` and yields consecutive pieces of exactly `size` bytes,
 * then the remainder (possibly empty) marked `last`. `onData` sees every byte
 * in order as soon as it is read. A piece is yielded only when at least one
 * more byte is known to follow, so the last piece is never a full piece
 * followed by an empty one (unless the body is empty).
 */
export async function* chunks(
  body: Readable,
  size: number,
  onData: (buf: Buffer) => void,
): AsyncGenerator<{ data: Buffer; last: boolean }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of body) {
    const buf: Buffer =
      typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece as Uint8Array);
    if (buf.length === 0) continue;
    onData(buf);
    pending.push(buf);
    pendingBytes += buf.length;
    while (pendingBytes > size) {
      const all = Buffer.concat(pending, pendingBytes);
      yield { data: all.subarray(0, size), last: false };
      pending = [all.subarray(size)];
      pendingBytes -= size;
    }
  }
  yield { data: Buffer.concat(pending, pendingBytes), last: true };
}

function objectPath(bucket: string): string {
  return `b/${encodeURIComponent(bucket)}/o`;
}

function hintFor(bucket: string, permission: string): (status: number) => string | undefined {
  return (status) =>
    status === 403
      ? `the caller needs ${permission} on bucket ${bucket} (e.g. roles/storage.objectUser)`
      : status === 404
        ? `bucket ${bucket} was not found: check the bucket input`
        : undefined;
}

/** secretsOf returns an Authorization header value and its bare token, for redact. */
function secretsOf(authorization: string | undefined): Array<string | undefined> {
  return [authorization, authorization?.replace(/^Bearer /i, '')];
}

async function headersWith(
  o: ResumableUploadOptions,
  extra: Record<string, string>,
): Promise<Record<string, string>> {
  const authorization = await o.authorization();
  return authorization ? { ...extra, authorization } : extra;
}

async function startSession(
  o: ResumableUploadOptions,
  uri: string,
  doFetch: FetchLike,
): Promise<string> {
  const url =
    `${o.apiEndpoint}/upload/storage/v1/${objectPath(o.bucket)}` +
    `?uploadType=resumable&name=${encodeURIComponent(o.name)}`;
  const step = `GCS resumable upload start for ${uri}`;
  return withRetry(async () => {
    const extra: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
    if (o.contentType) extra['x-upload-content-type'] = o.contentType;
    if (o.size !== undefined) extra['x-upload-content-length'] = String(o.size);
    const headers = await headersWith(o, extra);
    const body = JSON.stringify(
      o.contentType ? { name: o.name, contentType: o.contentType } : { name: o.name },
    );
    const response = await call(
      doFetch,
      url,
      { method: 'POST', headers, body },
      step,
      headers.authorization,
    );
    const location = response.headers.get('location');
    if (!response.ok || !location) {
      const text = googleErrorText(await response.text());
      throw new GoogleApiError(
        step,
        response.status,
        response.ok
          ? 'no Location header in the response'
          : redact(text, secretsOf(headers.authorization)),
        hintFor(o.bucket, 'storage.objects.create')(response.status),
      );
    }
    await response.body?.cancel();
    return new URL(location, url).toString();
  }, o.retry);
}

async function call(
  doFetch: FetchLike,
  url: string,
  init: RequestInit,
  step: string,
  secret: string | undefined,
): Promise<Response> {
  try {
    return await doFetch(url, init);
  } catch (error) {
    const cause =
      error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : undefined;
    throw new GoogleApiError(step, 0, redact(cause?.message ?? String(error), secretsOf(secret)));
  }
}

/** ChunkSender sends the pieces of one session, tracking the offset GCS confirmed. */
class ChunkSender {
  #confirmed = 0;
  readonly #o: ResumableUploadOptions;
  readonly #uri: string;
  readonly #session: string;
  readonly #fetch: FetchLike;

  constructor(o: ResumableUploadOptions, uri: string, session: string, doFetch: FetchLike) {
    this.#o = o;
    this.#uri = uri;
    this.#session = session;
    this.#fetch = doFetch;
  }

  /**
   * send uploads `data`, the bytes from the confirmed offset on; a final piece
   * carries `total` and `hash`. Returns the object's metadata once GCS
   * finalizes it, undefined after a non-final piece is fully persisted.
   */
  async send(
    data: Buffer,
    total: number | undefined,
    hash: string | undefined,
  ): Promise<ObjectMetadata | undefined> {
    const start = this.#confirmed;
    const end = start + data.length;
    let needStatus = false;
    let stalls = 0;
    return withRetry(async () => {
      for (;;) {
        if (needStatus) {
          const done = await this.#put(Buffer.alloc(0), undefined, undefined);
          if (done) return done;
          needStatus = false;
        }
        if (this.#confirmed >= end && total === undefined) return undefined;
        if (this.#confirmed < start) {
          throw new UploadSessionLostError(
            `upload of ${this.#uri} failed: GCS lost bytes it had confirmed`,
          );
        }
        const before = this.#confirmed;
        needStatus = true;
        const done = await this.#put(data.subarray(before - start), total ?? '*', hash);
        needStatus = false;
        if (done) return done;
        stalls = this.#confirmed > before ? 0 : stalls + 1;
        if (stalls >= 3) {
          throw new GoogleApiError(
            `GCS upload of ${this.#uri}`,
            308,
            'GCS persisted no new bytes after 3 requests',
          );
        }
      }
    }, this.#o.retry);
  }

  /**
   * #put sends one PUT: `data` at the confirmed offset with `total` (`*` while
   * unknown), or with `total` undefined a status query (`bytes *\/*`). Returns
   * metadata on 200/201, undefined on 308 after reading the persisted Range.
   */
  async #put(
    data: Buffer,
    total: number | '*' | undefined,
    hash: string | undefined,
  ): Promise<ObjectMetadata | undefined> {
    const statusOnly = total === undefined;
    const range = statusOnly
      ? 'bytes */*'
      : data.length === 0
        ? `bytes */${total}`
        : `bytes ${this.#confirmed}-${this.#confirmed + data.length - 1}/${total}`;
    const step = statusOnly
      ? `GCS upload status query for ${this.#uri}`
      : `GCS upload of ${this.#uri}`;
    const extra: Record<string, string> = { 'content-range': range };
    if (hash) extra['x-goog-hash'] = hash;
    const headers = await headersWith(this.#o, extra);
    const response = await call(
      this.#fetch,
      this.#session,
      { method: 'PUT', headers, body: new Uint8Array(data.buffer, data.byteOffset, data.length) },
      step,
      headers.authorization,
    );
    const text = await response.text();
    if (response.status === 308) {
      const persisted = /bytes=0-(\d+)/.exec(response.headers.get('range') ?? '');
      this.#confirmed = persisted?.[1] ? Number(persisted[1]) + 1 : 0;
      return undefined;
    }
    if (response.ok) return JSON.parse(text) as ObjectMetadata;
    const detail = redact(googleErrorText(text), secretsOf(headers.authorization));
    if (response.status === 404 || response.status === 410) {
      throw new UploadSessionLostError(
        `${step} failed: HTTP ${response.status}: the upload session is gone: ${detail}`,
      );
    }
    if (response.status === 400 && hash && /crc32c|checksum|hash/i.test(detail)) {
      throw new ChecksumMismatchError(`${step} rejected by GCS: HTTP 400: ${detail}`);
    }
    if (!isRetryableStatus(response.status)) {
      throw new GoogleApiError(
        step,
        response.status,
        detail,
        hintFor(this.#o.bucket, 'storage.objects.create')(response.status),
      );
    }
    throw new GoogleApiError(step, response.status, detail);
  }
}

async function deleteObject(
  o: ResumableUploadOptions,
  generation: string | undefined,
  doFetch: FetchLike,
): Promise<void> {
  const query = generation ? `?ifGenerationMatch=${encodeURIComponent(generation)}` : '';
  const url = `${o.apiEndpoint}/storage/v1/${objectPath(o.bucket)}/${encodeURIComponent(o.name)}${query}`;
  await doFetch(url, { method: 'DELETE', headers: await headersWith(o, {}) });
}
