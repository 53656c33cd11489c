// objects.ts: reading and deleting objects through the GCS JSON API:
// objects.get (metadata, or `alt=media` data), objects.list, objects.delete.
// Sources: https://cloud.google.com/storage/docs/json_api/v1/objects/get,
// .../objects/list, .../objects/delete, and
// https://cloud.google.com/storage/docs/json_api/v1/parameters#alt (alt=media
// answers with x-goog-hash, x-goog-generation, x-goog-metageneration,
// x-goog-stored-content-length and -encoding; Range gives 206).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { errorText, sendJson } from '../http.ts';
import { formatGoogHash } from './hashes.ts';
import { listPage, listParams } from './listing.ts';
import { parseDownloadRange } from './ranges.ts';
import {
  etagOf,
  gcsError,
  invalid,
  noSuchBucket,
  noSuchObject,
  objectResource,
  preconditionFailure,
} from './resources.ts';
import type { GcsStore, ObjectRecord } from './store.ts';

/**
 * liveObject returns the object `name` that matches `?generation=` (when
 * given) and the preconditions, or throws GCS's 404 / 412.
 */
export function liveObject(
  store: GcsStore,
  bucket: string,
  name: string,
  q: URLSearchParams,
): ObjectRecord {
  if (store.bucket(bucket) === undefined) throw noSuchBucket();
  const o = store.object(bucket, name);
  const generation = q.get('generation');
  if (o === undefined || (generation !== null && generation !== o.generation)) {
    throw noSuchObject(bucket, name);
  }
  const failed = preconditionFailure(o, q);
  if (failed !== undefined) throw failed;
  return o;
}

/** sendMedia streams an object's data (whole, or one Range) with GCS's headers. */
export async function sendMedia(
  req: IncomingMessage,
  res: ServerResponse,
  o: ObjectRecord,
  store: GcsStore,
): Promise<void> {
  const headers: Record<string, string | number> = {
    'content-type': o.contentType,
    'x-goog-hash': formatGoogHash(o),
    'x-goog-generation': o.generation,
    'x-goog-metageneration': o.metageneration,
    'x-goog-stored-content-length': o.size,
    'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
    etag: etagOf(o),
    'last-modified': new Date(o.updated).toUTCString(),
    'accept-ranges': 'bytes',
    ...(o.contentDisposition === undefined ? {} : { 'content-disposition': o.contentDisposition }),
    ...(o.contentEncoding === undefined ? {} : { 'content-encoding': o.contentEncoding }),
  };
  const range = parseDownloadRange(req.headers.range, o.size);
  if (range === 'unsatisfiable') {
    const err = gcsError(416, 'requestedRangeNotSatisfiable', 'Request range not satisfiable');
    err.headers['content-range'] = `bytes */${o.size}`;
    throw err;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? o.size - 1;
  let file;
  try {
    file = await open(store.dataPath(o.bucket, o.name));
  } catch (err) {
    throw gcsError(503, 'backendError', `object data unreadable: ${errorText(err)}`);
  }
  try {
    if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
    headers['content-length'] = Math.max(0, end - start + 1);
    res.writeHead(range === undefined ? 200 : 206, headers);
    if (req.method === 'HEAD' || o.size === 0) {
      res.end();
      return;
    }
    await pipeline(file.createReadStream({ start, end, autoClose: false }), res);
  } finally {
    await file.close();
  }
}

/** sendObject answers objects.get: metadata, or data for `alt=media`. */
export async function sendObject(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
  store: GcsStore,
  base: string,
  media: boolean,
): Promise<void> {
  const o = liveObject(store, bucket, name, url.searchParams);
  if (media || url.searchParams.get('alt') === 'media') return sendMedia(req, res, o, store);
  sendJson(res, 200, objectResource(o, base));
}

/** listObjects answers objects.list (`storage#objects`; items/prefixes omitted when empty, like GCS). */
export function listObjects(
  res: ServerResponse,
  url: URL,
  bucket: string,
  store: GcsStore,
  base: string,
): void {
  if (store.bucket(bucket) === undefined) throw noSuchBucket();
  let params;
  try {
    params = listParams(url.searchParams);
  } catch (err) {
    throw invalid(errorText(err));
  }
  const page = listPage(store.objectNames(bucket), params);
  const items = page.names.flatMap((n) => {
    const o = store.object(bucket, n);
    return o === undefined ? [] : [objectResource(o, base)];
  });
  sendJson(res, 200, {
    kind: 'storage#objects',
    ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
    ...(page.prefixes.length === 0 ? {} : { prefixes: page.prefixes }),
    ...(items.length === 0 ? {} : { items }),
  });
}

/** deleteObject answers objects.delete: 204, or 404 / 412. */
export function deleteObject(
  res: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
  store: GcsStore,
): void {
  liveObject(store, bucket, name, url.searchParams);
  store.deleteObject(bucket, name);
  res.writeHead(204);
  res.end();
}
