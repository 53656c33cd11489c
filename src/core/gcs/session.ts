import {
  exchange,
  nodeFetch,
  GoogleApiError,
  googleErrorText,
  isRetryableStatus,
  redact,
  withRetry,
  withRetryAfter,
} from '../google/http.ts';
import type { FetchInit, FetchLike, RetryOptions } from '../google/http.ts';

/** ObjectMetadata is the part of the GCS object resource (JSON API `objects`) the uploader reads back. */
export interface ObjectMetadata {
  name?: string;
  size?: string;
  crc32c?: string;
  md5Hash?: string;
  generation?: string;
}

/** SessionOptions are what every request of an upload needs. */
export interface SessionOptions {
  bucket: string;
  /** Returns the Authorization header value, or undefined for an unauthenticated emulator. */
  authorization: () => Promise<string | undefined>;
  fetch?: FetchLike;
  retry?: RetryOptions;
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
 * LEAST_ROLE is the least-privileged predefined role that holds each object permission the
 * uploads use (https://cloud.google.com/storage/docs/access-control/iam-roles); the upload path
 * needs create only, and objectCreator cannot replace or delete an object.
 */
const LEAST_ROLE: Record<string, string> = {
  'storage.objects.create': 'roles/storage.objectCreator',
  'storage.objects.delete': 'roles/storage.objectUser',
  'storage.objects.get': 'roles/storage.objectViewer',
};

/** gcsHint names the permission (and its least role) to grant on a 403 and the input to check on a 404. */
export function gcsHint(
  bucket: string,
  permission: string,
): (status: number) => string | undefined {
  const role = LEAST_ROLE[permission];
  return (status) =>
    status === 403
      ? `the caller needs ${permission} on bucket ${bucket}${role ? ` (${role})` : ''}; ` +
        'deploy/gcp/setup.sh grants it to the builder outside releases/ and to the release ' +
        'service account under releases/ only'
      : status === 404
        ? `bucket ${bucket} was not found: check the bucket input`
        : undefined;
}

/** secretsOf returns an Authorization header value and its bare token, for redact. */
export function secretsOf(authorization: string | undefined): Array<string | undefined> {
  return [authorization, authorization?.replace(/^Bearer /i, '')];
}

/** headersWith adds the current Authorization header (fresh from the TokenSource) to `extra`. */
export async function headersWith(
  o: SessionOptions,
  extra: Record<string, string>,
): Promise<Record<string, string>> {
  const authorization = await o.authorization();
  return authorization ? { ...extra, authorization } : extra;
}

/**
 * UploadSession sends the data of one resumable upload session (GCS docs
 * "Perform resumable uploads": chunked uploads and "Check the status of a
 * resumable upload"), tracking the offset GCS confirmed with its 308 `Range`.
 */
export class UploadSession {
  #confirmed = 0;
  readonly #o: SessionOptions;
  readonly #uri: string;
  readonly #session: string;

  /** `uri` is the object's `gs://` URI (for messages), `session` the session URI from `Location`. */
  constructor(o: SessionOptions, uri: string, session: string) {
    this.#o = o;
    this.#uri = uri;
    this.#session = session;
  }

  /**
   * send uploads `data`, the bytes from the confirmed offset on; a final piece
   * carries `total` and `hash` (`crc32c=...`). Returns the object's metadata
   * once GCS finalizes it, undefined after a non-final piece is persisted. On
   * a network error, 408, 429 or 5xx it waits (withRetry), asks GCS what it
   * persisted (`Content-Range: bytes *\/*`) and resends the rest.
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
    return withRetry(
      async () => {
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
            const detail = 'GCS persisted no new bytes after 3 requests';
            throw new GoogleApiError(`GCS upload of ${this.#uri}`, 308, detail);
          }
        }
      },
      this.#o.retry,
      `GCS upload of ${this.#uri}`,
    );
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
    const secrets = secretsOf(headers.authorization);
    const { response, text } = await exchange(
      this.#o.fetch ?? nodeFetch,
      this.#session,
      putInit(headers, data),
      step,
      secrets,
    );
    if (response.status === 308) {
      const persisted = /bytes=0-(\d+)/.exec(response.headers.get('range') ?? '');
      this.#confirmed = persisted?.[1] ? Number(persisted[1]) + 1 : 0;
      return undefined;
    }
    if (response.ok) return JSON.parse(text) as ObjectMetadata;
    const detail = redact(googleErrorText(text), secrets);
    if (response.status === 404 || response.status === 410) {
      throw new UploadSessionLostError(
        `${step} failed: HTTP ${response.status}: the upload session is gone: ${detail}`,
      );
    }
    if (response.status === 400 && hash && /crc32c|checksum|hash/i.test(detail)) {
      throw new ChecksumMismatchError(`${step} rejected by GCS: HTTP 400: ${detail}`);
    }
    const hint = isRetryableStatus(response.status)
      ? undefined
      : gcsHint(this.#o.bucket, 'storage.objects.create')(response.status);
    throw withRetryAfter(new GoogleApiError(step, response.status, detail, hint), response);
  }
}

/**
 * putInit answers the options of a PUT of `data` with its Content-Length. nodeFetch writes the
 * Buffer itself to the socket, no copy (the global fetch would copy a BufferSource body first:
 * 8 MiB of garbage per chunk of a large upload; docs/benchmarks.md, "memory of upload and
 * collection").
 */
export function putInit(headers: Record<string, string>, data: Buffer): FetchInit {
  return {
    method: 'PUT',
    headers: { ...headers, 'content-length': String(data.length) },
    ...(data.length ? { body: data } : {}),
  };
}
