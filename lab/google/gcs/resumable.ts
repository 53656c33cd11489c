// resumable.ts: resumable uploads of the GCS JSON API.
// Source: https://cloud.google.com/storage/docs/performing-resumable-uploads
// and https://cloud.google.com/storage/docs/resumable-uploads:
// - initiate: `POST /upload/storage/v1/b/B/o?uploadType=resumable[&name=N]`,
//   body the object resource (JSON, optional), X-Upload-Content-Type and
//   X-Upload-Content-Length headers; answer 200 with the session URI in
//   `Location` (it carries `upload_id`);
// - data: `PUT <session URI>`, whole or in chunks with
//   `Content-Range: bytes FIRST-LAST/TOTAL|*`; an incomplete upload answers
//   308 with `Range: bytes=0-LAST` (no Range when nothing is persisted); the
//   request that completes it answers 200 with the object resource; a
//   request without Content-Range, or with `bytes FIRST-*/*`
//   (@google-cloud/storage's single streamed request), ends the object;
// - status check: empty PUT with `Content-Range: bytes */TOTAL|*`;
// - cancel: `DELETE <session URI>` answers 499;
// - `x-goog-hash` (crc32c, md5) on the final request is checked, like
//   crc32c / md5Hash in the initiation's metadata.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rm, writeFile } from 'node:fs/promises';
import { errorText, HttpError, readJsonObject, sendJson } from '../http.ts';
import { ObjectHasher } from './hashes.ts';
import type { ExpectedHashes } from './hashes.ts';
import { flipOne, type GcsFaults } from './faults.ts';
import { appendData, finishUpload } from './ingest.ts';
import { parseUploadRange } from './ranges.ts';
import type { UploadRange } from './ranges.ts';
import {
  gcsError,
  invalid,
  objectName,
  objectResource,
  parseUploadMetadata,
  preconditionFailure,
} from './resources.ts';
import type { UploadMetadata } from './resources.ts';
import type { GcsStore, ObjectRecord } from './store.ts';
import { declaredHashes } from './uploads.ts';

interface Session {
  bucket: string;
  name: string;
  meta: UploadMetadata;
  query: URLSearchParams;
  contentType: string;
  tempPath: string;
  hasher: ObjectHasher;
  total: number | undefined;
  declared: ExpectedHashes[];
  result?: ObjectRecord;
  failure?: HttpError;
  /** queue serializes the requests of one session. */
  queue: Promise<void>;
}

/**
 * UploadCounts: what the data requests of an object's resumable uploads carried, for tests
 * (GET /_lab/gcs/uploads): `resentBytes` are bytes a request carried that the session had
 * already persisted (a client that resumes from the offset GCS reports sends none).
 */
export interface UploadCounts {
  puts: number;
  statusQueries: number;
  receivedBytes: number;
  resentBytes: number;
  /** Data requests answered 503 by a lab fault (POST /_lab/gcs/faults). */
  faults: number;
}

/** GCS_GRANULE: GCS persists resumable data in multiples of 256 KiB. */
const GCS_GRANULE = 256 * 1024;

/**
 * ResumableSessions keeps upload sessions in memory (a restart loses them,
 * as it clears their data) and their data in the store's uploads directory.
 */
export class ResumableSessions {
  readonly #store: GcsStore;
  readonly #faults: GcsFaults | undefined;
  readonly #sessions = new Map<string, Session>();
  readonly #counts = new Map<string, UploadCounts>();
  /** Data requests (1-based, per object name) to answer 503 after persisting half of their new bytes. */
  readonly #failing = new Map<string, Set<number>>();

  /** failPuts makes the listed data requests of uploads of `name` fail with 503 (a lab fault). */
  failPuts(name: string, puts: number[]): void {
    this.#failing.set(name, new Set(puts));
    this.#counts.delete(name);
  }

  /** counts answers the UploadCounts of uploads of `name` since its last failPuts (or start). */
  counts(name: string): UploadCounts {
    return (
      this.#counts.get(name) ?? {
        puts: 0,
        statusQueries: 0,
        receivedBytes: 0,
        resentBytes: 0,
        faults: 0,
      }
    );
  }

  /** faults: armed corruption (faults.ts), applied to data requests. */
  constructor(store: GcsStore, faults?: GcsFaults) {
    this.#store = store;
    this.#faults = faults;
  }

  /**
   * initiate opens a session and answers its URI in Location, after
   * `authorize(name)` (which throws when the caller may not write it).
   */
  async initiate(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    base: string,
    authorize: (name: string) => void = () => undefined,
  ): Promise<void> {
    const meta = parseUploadMetadata(await readJsonObject(req, invalid));
    const name = objectName(url.searchParams.get('name') ?? meta.name);
    authorize(name);
    const early = preconditionFailure(this.#store.object(bucket, name), url.searchParams);
    if (early !== undefined) throw early;
    const declaredLength = req.headers['x-upload-content-length'];
    const total = declaredLength === undefined ? undefined : Number(declaredLength);
    if (total !== undefined && !(Number.isInteger(total) && total >= 0)) {
      throw invalid(`invalid X-Upload-Content-Length "${String(declaredLength)}"`);
    }
    const header = req.headers['x-upload-content-type'];
    const session: Session = {
      bucket,
      name,
      meta,
      query: url.searchParams,
      contentType:
        meta.contentType ?? (typeof header === 'string' ? header : 'application/octet-stream'),
      tempPath: this.#store.tempPath(),
      hasher: new ObjectHasher(),
      total,
      declared: [],
      queue: Promise.resolve(),
    };
    await writeFile(session.tempPath, '');
    const id = randomBytes(24).toString('base64url');
    this.#sessions.set(id, session);
    const location = `${base}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    res.writeHead(200, { location, 'x-guploader-uploadid': id, 'content-length': 0 });
    res.end();
  }

  /** handle serves PUT/POST (data, status) and DELETE (cancel) on a session URI. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, base: string): Promise<void> {
    const id = url.searchParams.get('upload_id') ?? '';
    const session = this.#sessions.get(id);
    if (session === undefined) {
      req.resume();
      throw gcsError(404, 'notFound', 'No such upload session (unknown or cancelled upload_id).');
    }
    if (req.method === 'DELETE') {
      this.#sessions.delete(id);
      await rm(session.tempPath, { force: true });
      res.writeHead(499, { 'content-length': 0 });
      res.end();
      return;
    }
    const run = session.queue.then(() => this.#data(req, res, session, id, base));
    session.queue = run.catch(() => undefined);
    await run;
  }

  async #data(
    req: IncomingMessage,
    res: ServerResponse,
    s: Session,
    id: string,
    base: string,
  ): Promise<void> {
    if (s.failure !== undefined) {
      req.resume();
      throw s.failure;
    }
    if (s.result !== undefined) {
      req.resume();
      return sendJson(res, 200, objectResource(s.result, base));
    }
    s.declared.push(declaredHashes(req));
    const header = req.headers['content-range'];
    let range: UploadRange;
    try {
      range =
        header === undefined
          ? { first: 0, last: undefined, total: undefined }
          : parseUploadRange(header);
    } catch (err) {
      req.resume();
      throw invalid(errorText(err));
    }
    const received = s.hasher.size;
    const counts = this.counts(s.name);
    this.#counts.set(s.name, counts);
    if (range.first === undefined) {
      counts.statusQueries++;
      req.resume();
    } else {
      counts.puts++;
      if (this.#failing.get(s.name)?.has(counts.puts)) {
        // A lab fault: persist about half of the new bytes (whole 256 KiB units), then answer 503.
        const fresh = range.last === undefined ? 0 : range.last + 1 - received;
        const keep = Math.floor(fresh / 2 / GCS_GRANULE) * GCS_GRANULE;
        const skip = received - range.first;
        const carried = await appendData(req, s.tempPath, s.hasher, skip, undefined, keep);
        counts.receivedBytes += carried;
        counts.resentBytes += Math.min(carried, skip);
        counts.faults++;
        throw gcsError(503, 'backendError', 'Backend Error (a lab fault: POST /_lab/gcs/faults)');
      }
      if (range.first > received) {
        req.resume();
        throw invalid(
          `Content-Range starts at byte ${range.first} but only ${received} bytes are persisted; resume from ${received}.`,
        );
      }
      const corrupt = this.#faults?.take(s.bucket, s.name) ? flipOne() : undefined;
      const carried = await appendData(req, s.tempPath, s.hasher, received - range.first, corrupt);
      counts.receivedBytes += carried;
      counts.resentBytes += Math.min(carried, received - range.first);
      if (range.last !== undefined && carried !== range.last - range.first + 1) {
        throw invalid(
          `Content-Range ${header ?? ''} announces ${range.last - range.first + 1} bytes but the body had ${carried}.`,
        );
      }
      // No Content-Range, or `bytes FIRST-*/*`: the object ends with this request.
      if (range.last === undefined && range.total === undefined) s.total = s.hasher.size;
    }
    if (range.total !== undefined) s.total = range.total;
    const size = s.hasher.size;
    if (s.total !== undefined && size > s.total) {
      s.failure = invalid(`Received ${size} bytes but the upload's total is ${s.total}.`);
      throw s.failure;
    }
    if (s.total !== undefined && size === s.total) {
      try {
        s.result = await finishUpload(this.#store, s.tempPath, s.hasher, {
          bucket: s.bucket,
          name: s.name,
          query: s.query,
          meta: s.meta,
          contentType: s.contentType,
          declared: s.declared,
        });
      } catch (err) {
        if (err instanceof HttpError) s.failure = err;
        throw err;
      }
      return sendJson(res, 200, objectResource(s.result, base));
    }
    res.writeHead(308, {
      ...(size > 0 ? { range: `bytes=0-${size - 1}` } : {}),
      'x-guploader-uploadid': id,
      'content-length': 0,
    });
    res.end();
  }
}
