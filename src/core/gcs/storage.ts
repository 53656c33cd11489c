import type { Readable } from 'node:stream';
import type { TokenSource } from '../google/auth.ts';
import {
  ChecksumMismatchError,
  GCS_CHUNK_ALIGN,
  uploadWithRestarts,
  UploadSessionLostError,
} from './resumable.ts';
import type { FetchLike, RetryOptions } from '../google/http.ts';
import { validateBucketName } from '../inputs/formats.ts';
import { removeObject, statObject, type GcsCallOptions, type ObjectStat } from './objects.ts';

export type { ObjectStat } from './objects.ts';

/** UploadOptions: MIME type of the object and, when known, its size in bytes (checked). */
export interface UploadOptions {
  contentType?: string;
  size?: number;
}

/** UploadResult describes a stored object: digests computed while streaming, confirmed by GCS. */
export interface UploadResult {
  name: string;
  size: number;
  /** base64 big-endian CRC32C (the form GCS uses). */
  crc32c: string;
  /** base64 MD5 as reported by GCS (absent for composite objects). */
  md5?: string;
  /** lowercase hex SHA-256. */
  sha256: string;
  /** `gs://BUCKET/NAME`. */
  uri: string;
}

/**
 * BodySource is an object's content: a Readable (uploaded once: a checksum
 * failure cannot be retried and fails loudly) or a factory that opens a fresh
 * Readable for each attempt (a rejected upload is then retried).
 */
export type BodySource = Readable | (() => Readable);

/** ObjectStore stores build outputs (artifacts, build.log, kbuild.json) under object names. */
export interface ObjectStore {
  upload(name: string, body: BodySource, opts?: UploadOptions): Promise<UploadResult>;
  /** stat reads an object's metadata, no data (undefined: no such object); gcs/objects.ts statObject. */
  stat?(name: string): Promise<ObjectStat | undefined>;
  /** remove deletes an object; false when it was already gone (gcs/objects.ts removeObject). */
  remove?(name: string): Promise<boolean>;
}

/** GcsObjectStoreOptions configure GcsObjectStore. */
export interface GcsObjectStoreOptions {
  bucket: string;
  /** Access tokens for every request; required unless `apiEndpoint` is an emulator. */
  tokenSource?: TokenSource;
  /** JSON API root without `/storage/v1`; default `https://storage.googleapis.com` (see endpointsFromEnv). */
  apiEndpoint?: string;
  /** Bytes per resumable-upload request, a multiple of 256 KiB; default 8 MiB. */
  chunkSize?: number;
  /** Upload attempts when GCS rejects the checksum or loses the session (BodySource factories only); default 3. */
  attempts?: number;
  fetch?: FetchLike;
  retry?: RetryOptions;
}

const DEFAULT_API = 'https://storage.googleapis.com';

/**
 * GcsObjectStore uploads to one Cloud Storage bucket. Uploads use the JSON
 * API resumable protocol (resumableUpload): the body streams through in
 * chunks (no copy on disk), CRC32C (crc32c.ts) and
 * SHA-256 are computed on the way, and the CRC32C goes to GCS with the final
 * request (`X-Goog-Hash`) so GCS refuses a corrupted object instead of storing
 * it. A refused upload is retried from a fresh stream when the body is a
 * factory, and never accepted. Small objects (build.log, kbuild.json) take the
 * same path: one session start and one final PUT that carries the hash.
 *
 * Why not `File#createWriteStream` of @google-cloud/storage 8.x: its
 * resumable path does not pass the streamed CRC32C to the upload (the internal
 * Upload class supports `crc32c`, but `startResumableUpload_` does not set it
 * and the module is not exported), so `validation: 'crc32c'` only compares
 * after the object is committed and then deletes it, which briefly exposes
 * bad bytes and destroys the previous version; and for a custom endpoint its
 * resumable uploads are sent without credentials.
 *
 * Every request carries `Authorization: Bearer` from the TokenSource; without
 * one only a non-Google endpoint (an emulator) is accepted.
 */
export class GcsObjectStore implements ObjectStore {
  readonly #o: GcsObjectStoreOptions;
  readonly #api: string;

  constructor(options: GcsObjectStoreOptions) {
    validateBucketName('bucket', options.bucket);
    const api = (options.apiEndpoint ?? DEFAULT_API)
      .replace(/\/+$/, '')
      .replace(/\/storage\/v1$/, '');
    if (!options.tokenSource && /(^|\.)googleapis\.com$/.test(new URL(api).hostname)) {
      throw new Error(`uploading to ${api} needs credentials: pass a tokenSource`);
    }
    const chunk = options.chunkSize ?? 8 * 1024 * 1024;
    if (chunk <= 0 || chunk % GCS_CHUNK_ALIGN !== 0) {
      throw new Error(`invalid chunk size ${chunk}: use a multiple of ${GCS_CHUNK_ALIGN} bytes`);
    }
    this.#o = { ...options, chunkSize: chunk };
    this.#api = api;
  }

  /** uri returns `gs://BUCKET/NAME`. */
  uri(name: string): string {
    return `gs://${this.#o.bucket}/${name}`;
  }

  /**
   * upload streams `body` to the object `name` (see the class comment).
   * Throws ChecksumMismatchError when the last attempt is refused, or when a
   * single Readable was refused (it cannot be replayed); GoogleApiError for
   * API errors, after retries with backoff on 429/5xx.
   */
  async upload(name: string, body: BodySource, opts: UploadOptions = {}): Promise<UploadResult> {
    if (!name || name.startsWith('/') || name.length > 1024) {
      throw new Error(`invalid object name "${name}": use a relative name of at most 1024 bytes`);
    }
    const single = typeof body === 'function' ? undefined : body;
    const open = typeof body === 'function' ? body : () => body;
    try {
      const done = await uploadWithRestarts(
        {
          apiEndpoint: this.#api,
          bucket: this.#o.bucket,
          name,
          contentType: opts.contentType,
          size: opts.size,
          chunkSize: this.#o.chunkSize ?? 0,
          authorization: () => this.#authorization(),
          fetch: this.#o.fetch,
          retry: this.#o.retry,
        },
        open,
        single ? 1 : Math.max(1, this.#o.attempts ?? 3),
      );
      return {
        name,
        size: done.size,
        crc32c: done.crc32c,
        ...(done.metadata.md5Hash ? { md5: done.metadata.md5Hash } : {}),
        sha256: done.sha256,
        uri: this.uri(name),
      };
    } catch (error) {
      const replayable =
        error instanceof ChecksumMismatchError || error instanceof UploadSessionLostError;
      if (replayable && single) {
        error.message += '; the body was a single stream and cannot be sent again';
      }
      throw error;
    }
  }

  /** stat reads the metadata of `name` (JSON API objects.get); undefined when it does not exist. */
  stat(name: string): Promise<ObjectStat | undefined> {
    return statObject(this.#call(), name);
  }

  /** remove deletes `name` (JSON API objects.delete); false when it was already gone. */
  remove(name: string): Promise<boolean> {
    return removeObject(this.#call(), name);
  }

  #call(): GcsCallOptions {
    return {
      apiEndpoint: this.#api,
      bucket: this.#o.bucket,
      authorization: () => this.#authorization(),
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
      ...(this.#o.retry ? { retry: this.#o.retry } : {}),
    };
  }

  async #authorization(): Promise<string | undefined> {
    if (!this.#o.tokenSource) return undefined;
    const { token } = await this.#o.tokenSource.getAccessToken();
    return `Bearer ${token}`;
  }
}
