import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createCrc32c } from './crc32c.ts';
import {
  exchange,
  nodeFetch,
  GoogleApiError,
  googleErrorText,
  redact,
  withRetry,
  withRetryAfter,
} from '../google/http.ts';
import {
  ChecksumMismatchError,
  gcsHint,
  headersWith,
  secretsOf,
  UploadSession,
  UploadSessionLostError,
} from './session.ts';
import type { ObjectMetadata, SessionOptions } from './session.ts';

export { ChecksumMismatchError, UploadSessionLostError } from './session.ts';
export type { ObjectMetadata } from './session.ts';

/** GCS_CHUNK_ALIGN: every chunk of a resumable upload but the last is a multiple of 256 KiB (GCS resumable upload doc). */
export const GCS_CHUNK_ALIGN = 256 * 1024;

/** ResumableUploadOptions describe one streamed upload (see resumableUpload). */
export interface ResumableUploadOptions extends SessionOptions {
  /** JSON API root without `/storage/v1`, e.g. `https://storage.googleapis.com`. */
  apiEndpoint: string;
  name: string;
  body: Readable;
  contentType?: string;
  /** Expected size in bytes; when set it is announced to GCS and checked. */
  size?: number;
  /** Bytes per request, a multiple of 256 KiB; bounds the memory one upload holds. */
  chunkSize: number;
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
 * resumableUpload streams `body` to `gs://bucket/name` with the JSON API
 * resumable protocol (GCS docs "Perform resumable uploads", chunked): it
 * starts a session (`POST /upload/storage/v1/b/B/o?uploadType=resumable`),
 * then sends `chunkSize` bytes per `PUT` with `Content-Range: bytes a-b/*`,
 * and the final request with the total size and `X-Goog-Hash: crc32c=...`
 * computed while reading, so GCS itself checks the object and refuses to
 * create it on a mismatch (HTTP 400). No copy goes to disk; two chunk
 * buffers are held in memory, taking turns (chunks): the one being sent and
 * the next, read and hashed meanwhile (reading and sending overlap; bench/upload.ts). A network error, 408, 429 or 5xx is retried with backoff
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
  const crc = await createCrc32c();
  const sha = createHash('sha256');
  let total = 0;
  const put = new UploadSession(o, uri, await startSession(o, uri));
  let metadata: ObjectMetadata | undefined;
  const source = chunks(
    o.body,
    o.chunkSize,
    (buf) => {
      crc.update(buf);
      sha.update(buf);
      total += buf.length;
    },
    o.size,
  );
  let next = source.next();
  for (;;) {
    const item = await next;
    if (item.done) break;
    const { data, last } = item.value;
    if (!last) {
      // Read (and hash) the next chunk while this one is sent: the body's
      // source and GCS work at the same time. If the send fails, the caller
      // destroys the body, which ends this read; it is never awaited then.
      next = source.next();
      next.catch(() => undefined);
    }
    if (last && o.size !== undefined && total !== o.size) {
      throw new Error(
        `upload of ${uri} failed: the stream gave ${total} bytes, ${o.size} were expected`,
      );
    }
    const hash = last ? `crc32c=${crc.toString()}` : undefined;
    metadata = await put.send(data, last ? total : undefined, hash);
    if (last) break;
  }
  if (!metadata) throw new Error(`upload of ${uri} failed: GCS did not finalize the object`);
  const crc32c = crc.toString();
  if (metadata.crc32c !== crc32c || Number(metadata.size) !== total) {
    const deleted = await deleteObject(o, metadata.generation).catch(
      (e: unknown) => `${e instanceof Error ? e.message : String(e)}`,
    );
    const generation = metadata.generation ? `#${metadata.generation}` : '';
    throw new ChecksumMismatchError(
      `upload of ${uri} failed: GCS stored crc32c ${metadata.crc32c ?? '(none)'} and size ${metadata.size ?? '?'}, ` +
        `the stream had crc32c ${crc32c} and size ${total}; ` +
        (deleted === true
          ? 'the stored object was deleted'
          : `the stored object is left in place (deleting it failed: ${deleted}; the roles ` +
            'deploy/gcp/setup.sh grants cannot delete): remove it with ' +
            `gcloud storage rm ${uri}${generation}`),
    );
  }
  return { size: total, crc32c, sha256: sha.digest('hex'), metadata };
}

/**
 * uploadWithRestarts runs resumableUpload on a fresh body from `open` for each
 * attempt: when GCS refuses the checksum (ChecksumMismatchError) or loses the
 * session (UploadSessionLostError), the whole object is sent again, at most
 * `attempts` times in all; `onRestart(attempt, error)` is told before each new
 * attempt (from 2). Any other error, or the last refusal, is thrown; a refused
 * object is never accepted. Each attempt's body is destroyed when it fails.
 */
export async function uploadWithRestarts(
  o: Omit<ResumableUploadOptions, 'body'>,
  open: () => Readable,
  attempts: number,
  onRestart?: (attempt: number, error: Error) => void,
): Promise<ResumableUploadResult> {
  for (let attempt = 1; ; attempt++) {
    const body = open();
    try {
      return await resumableUpload({ ...o, body });
    } catch (error) {
      body.destroy();
      const replayable =
        error instanceof ChecksumMismatchError || error instanceof UploadSessionLostError;
      if (!replayable || attempt >= attempts) throw error;
      onRestart?.(attempt + 1, error);
    }
  }
}

/**
 * chunks reads `body` and yields consecutive pieces of exactly `size` bytes,
 * then the remainder (possibly empty) marked `last`. `onData` sees every byte
 * in order as soon as it is read. A piece is yielded only when at least one
 * more byte is known to follow, so the last piece is never a full piece
 * followed by an empty one (unless the body is empty).
 *
 * Memory: every byte is copied once, into one of two buffers that take turns
 * (no list of pieces, no concatenation), so a whole upload allocates two
 * buffers, not one per piece. A yielded piece is therefore overwritten two
 * pieces later: a consumer must be done with a piece before it asks for the
 * piece after the next one (resumableUpload sends a piece while the next is
 * read). `expected` (bytes, optional) sizes the buffers of a small body to
 * the body; a body longer than expected still works (its buffer grows).
 */
export async function* chunks(
  body: Readable,
  size: number,
  onData: (buf: Buffer) => void,
  expected?: number,
): AsyncGenerator<{ data: Buffer; last: boolean }> {
  const first = Math.min(size, Math.max(expected ?? size, 1));
  const spare: (Buffer | undefined)[] = [undefined, undefined];
  let turn = 0;
  let buf: Buffer = Buffer.allocUnsafe(first);
  spare[0] = buf;
  let used = 0;
  for await (const piece of body) {
    const b: Buffer =
      typeof piece === 'string'
        ? Buffer.from(piece)
        : Buffer.isBuffer(piece)
          ? piece
          : Buffer.from(
              (piece as Uint8Array).buffer,
              (piece as Uint8Array).byteOffset,
              (piece as Uint8Array).byteLength,
            );
    if (b.length === 0) continue;
    onData(b);
    let off = 0;
    while (off < b.length) {
      if (used === size) {
        yield { data: buf, last: false };
        turn ^= 1;
        const kept = spare[turn];
        buf = kept && kept.length === size ? kept : Buffer.allocUnsafe(size);
        spare[turn] = buf;
        used = 0;
      }
      if (used === buf.length) {
        // A body longer than expected: grow this buffer (up to `size`).
        const grown = Buffer.allocUnsafe(
          Math.min(size, Math.max(buf.length * 2, used + b.length - off)),
        );
        buf.copy(grown, 0, 0, used);
        buf = grown;
        spare[turn] = buf;
      }
      const n = b.copy(buf, used, off, Math.min(b.length, off + buf.length - used));
      used += n;
      off += n;
    }
  }
  yield { data: buf.subarray(0, used), last: true };
}

function objectPath(bucket: string): string {
  return `b/${encodeURIComponent(bucket)}/o`;
}

/** startSession opens a resumable upload session and returns its URI (the `Location` answer header). */
async function startSession(o: ResumableUploadOptions, uri: string): Promise<string> {
  const url =
    `${o.apiEndpoint}/upload/storage/v1/${objectPath(o.bucket)}` +
    `?uploadType=resumable&name=${encodeURIComponent(o.name)}`;
  const step = `GCS resumable upload start for ${uri}`;
  return withRetry(
    async () => {
      const extra: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
      if (o.contentType) extra['x-upload-content-type'] = o.contentType;
      if (o.size !== undefined) extra['x-upload-content-length'] = String(o.size);
      const headers = await headersWith(o, extra);
      const body = JSON.stringify(
        o.contentType ? { name: o.name, contentType: o.contentType } : { name: o.name },
      );
      const secrets = secretsOf(headers.authorization);
      const init = { method: 'POST', headers, body };
      const { response, text } = await exchange(o.fetch ?? nodeFetch, url, init, step, secrets);
      const location = response.headers.get('location');
      if (!response.ok || !location) {
        throw withRetryAfter(
          new GoogleApiError(
            step,
            response.status,
            response.ok
              ? 'no Location header in the response'
              : redact(googleErrorText(text), secrets),
            gcsHint(o.bucket, 'storage.objects.create')(response.status),
          ),
          response,
        );
      }
      return new URL(location, url).toString();
    },
    o.retry,
    step,
  );
}

/**
 * deleteObject removes the object just stored, if it is still that generation; answers true
 * when GCS deleted it, else `HTTP <status>` (e.g. 403 without storage.objects.delete).
 */
async function deleteObject(
  o: ResumableUploadOptions,
  generation: string | undefined,
): Promise<true | string> {
  const query = generation ? `?ifGenerationMatch=${encodeURIComponent(generation)}` : '';
  const url = `${o.apiEndpoint}/storage/v1/${objectPath(o.bucket)}/${encodeURIComponent(o.name)}${query}`;
  const response = await (o.fetch ?? nodeFetch)(url, {
    method: 'DELETE',
    headers: await headersWith(o, {}),
  });
  await response.text();
  return response.ok ? true : `HTTP ${response.status}`;
}
