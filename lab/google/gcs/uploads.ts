// uploads.ts: single-request uploads of the GCS JSON API,
// `POST /upload/storage/v1/b/{bucket}/o?uploadType=media|multipart`.
// Source: https://cloud.google.com/storage/docs/uploading-objects (media:
// the body is the data, `name` in the query; multipart: a
// multipart/related body, first part the JSON object resource, second part
// the data) and https://cloud.google.com/storage/docs/json_api/v1/objects/insert.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeFile, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { errorText, sendJson } from '../http.ts';
import { ObjectHasher, parseGoogHash } from './hashes.ts';
import type { ExpectedHashes } from './hashes.ts';
import { flipOne, type GcsFaults } from './faults.ts';
import { appendData, finishUpload } from './ingest.ts';
import { MultipartError, openRelated } from './multipart.ts';
import { invalid, objectName, objectResource, parseUploadMetadata } from './resources.ts';
import type { GcsStore, ObjectRecord } from './store.ts';

const OCTET_STREAM = 'application/octet-stream';

/**
 * UploadCall is one upload request to a bucket; `base` is the URL clients
 * used; `authorize` throws GCS's 403 when the caller may not write the name.
 */
export interface UploadCall {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  bucket: string;
  store: GcsStore;
  base: string;
  authorize: (name: string) => void;
  /** faults: armed corruption (faults.ts). */
  faults?: GcsFaults;
}

/** declaredHashes reads the request's x-goog-hash headers (400 when malformed). */
export function declaredHashes(req: IncomingMessage): ExpectedHashes {
  try {
    return parseGoogHash(req.headers['x-goog-hash']);
  } catch (err) {
    throw invalid(errorText(err));
  }
}

/**
 * mediaUpload stores the request body as object `?name=`, with the request's
 * Content-Type, and answers the object resource.
 */
export async function mediaUpload(call: UploadCall): Promise<void> {
  const { req, res, url, bucket, store, base } = call;
  const name = objectName(url.searchParams.get('name'));
  call.authorize(name);
  const declared = declaredHashes(req);
  const record = await receive(store, async (temp, hasher) => {
    const corrupt = call.faults?.take(bucket, name) ? flipOne() : undefined;
    await appendData(req, temp, hasher, 0, corrupt);
    return finishUpload(store, temp, hasher, {
      bucket,
      name,
      query: url.searchParams,
      meta: {},
      contentType: req.headers['content-type'] ?? OCTET_STREAM,
      declared: [declared],
    });
  });
  sendJson(res, 200, objectResource(record, base));
}

/**
 * multipartUpload reads a multipart/related body (metadata part, then data
 * part streamed to disk) and answers the object resource. The name comes
 * from the metadata or `?name=`.
 */
export async function multipartUpload(call: UploadCall): Promise<void> {
  const { req, res, url, bucket, store, base } = call;
  const declared = declaredHashes(req);
  if (!/^multipart\/related\b/i.test(req.headers['content-type'] ?? '')) {
    throw invalid('uploadType=multipart needs a multipart/related body with a boundary');
  }
  const record = await receive(store, async (temp, hasher) => {
    try {
      const body = await openRelated(req, req.headers['content-type'] ?? '');
      const meta = parseUploadMetadata(jsonObject(body.metadata.toString('utf8')));
      const name = objectName(meta.name ?? url.searchParams.get('name'));
      call.authorize(name);
      const corrupt = call.faults?.take(bucket, name) ? flipOne() : undefined;
      await appendData(Readable.from(body.media), temp, hasher, 0, corrupt);
      return await finishUpload(store, temp, hasher, {
        bucket,
        name,
        query: url.searchParams,
        meta,
        contentType: body.mediaType || OCTET_STREAM,
        declared: [declared],
      });
    } catch (err) {
      if (err instanceof MultipartError) throw invalid(`malformed multipart body: ${err.message}`);
      throw err;
    }
  });
  sendJson(res, 200, objectResource(record, base));
}

/**
 * receive gives `work` a fresh temporary file and hasher, and deletes the
 * file if the upload fails before it is committed.
 */
async function receive(
  store: GcsStore,
  work: (temp: string, hasher: ObjectHasher) => Promise<ObjectRecord>,
): Promise<ObjectRecord> {
  const temp = store.tempPath();
  await writeFile(temp, '');
  try {
    return await work(temp, new ObjectHasher());
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function jsonObject(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw invalid(`metadata part is not JSON: ${errorText(err)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalid('metadata part must be a JSON object');
  }
  return v as Record<string, unknown>;
}
