/**
 * gcs/objects.ts: the small GCS JSON API calls around an upload that move no object data:
 * reading an object's metadata (objects.get) and asking which bucket permissions the caller
 * holds (buckets.testIamPermissions). Shared by the runner (verifying what a pod uploaded) and
 * the pod program (src/pod, its permission check), so it imports nothing heavy.
 */
import {
  exchange,
  nodeFetch,
  GoogleApiError,
  googleErrorText,
  redact,
  requestJson,
  withRetry,
} from '../google/http.ts';
import { gcsHint, headersWith, secretsOf } from './session.ts';
import type { ObjectMetadata, SessionOptions } from './session.ts';

/** GcsCallOptions: the bucket, the JSON API root (without `/storage/v1`) and the credentials. */
export interface GcsCallOptions extends SessionOptions {
  apiEndpoint: string;
}

/** ObjectStat is what GCS reports of a stored object; size in bytes, crc32c base64 big-endian. */
export interface ObjectStat {
  name: string;
  size: number;
  crc32c: string;
  generation: string;
}

function bucketPath(o: GcsCallOptions): string {
  return `${o.apiEndpoint}/storage/v1/b/${encodeURIComponent(o.bucket)}`;
}

/**
 * statObject reads the metadata of `gs://bucket/name` (JSON API `objects.get`, `fields=name,
 * size,crc32c,generation`), no data. Answers undefined when the object does not exist (404).
 * Throws GoogleApiError after retries, naming storage.objects.get on a 403.
 */
export async function statObject(o: GcsCallOptions, name: string): Promise<ObjectStat | undefined> {
  const url = `${bucketPath(o)}/o/${encodeURIComponent(name)}?fields=name,size,crc32c,generation`;
  const headers = await headersWith(o, {});
  try {
    const m = await requestJson<ObjectMetadata>({
      step: `GCS objects.get of gs://${o.bucket}/${name}`,
      url,
      method: 'GET',
      headers,
      secrets: secretsOf(headers.authorization),
      hint: gcsHint(o.bucket, 'storage.objects.get'),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.retry ? { retry: o.retry } : {}),
    });
    return {
      name: m.name ?? name,
      size: Number(m.size ?? NaN),
      crc32c: m.crc32c ?? '',
      generation: m.generation ?? '',
    };
  } catch (err) {
    if (err instanceof GoogleApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** ListedObject is one object of a listing: its stat and when it was last written (RFC 3339). */
export interface ListedObject extends ObjectStat {
  updated: string;
}

/**
 * listObjects lists the objects whose names start with `prefix` (JSON API `objects.list`, with
 * `prefix` and `fields=items(name,size,crc32c,generation,updated),nextPageToken`), following
 * every page. Throws GoogleApiError after retries, naming storage.objects.list on a 403.
 */
export async function listObjects(o: GcsCallOptions, prefix: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let page: string | undefined;
  do {
    const query = new URLSearchParams({
      prefix,
      fields: 'items(name,size,crc32c,generation,updated),nextPageToken',
      ...(page ? { pageToken: page } : {}),
    });
    const headers = await headersWith(o, {});
    const res = await requestJson<{
      items?: (ObjectMetadata & { updated?: string })[];
      nextPageToken?: string;
    }>({
      step: `GCS objects.list of gs://${o.bucket}/${prefix}`,
      url: `${bucketPath(o)}/o?${query.toString()}`,
      method: 'GET',
      headers,
      secrets: secretsOf(headers.authorization),
      hint: gcsHint(o.bucket, 'storage.objects.list'),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.retry ? { retry: o.retry } : {}),
    });
    for (const m of res.items ?? []) {
      out.push({
        name: m.name ?? '',
        size: Number(m.size ?? NaN),
        crc32c: m.crc32c ?? '',
        generation: m.generation ?? '',
        updated: m.updated ?? '',
      });
    }
    page = res.nextPageToken;
  } while (page);
  return out;
}

/**
 * testBucketPermissions answers which of `permissions` the caller holds on the bucket (JSON API
 * `buckets.testIamPermissions`, `GET /storage/v1/b/B/iam/testPermissions?permissions=...`):
 * GCS answers the subset held, and needs no permission to be asked. Throws GoogleApiError (404:
 * no such bucket) after retries.
 */
export async function testBucketPermissions(
  o: GcsCallOptions,
  permissions: readonly string[],
): Promise<string[]> {
  const query = permissions.map((p) => `permissions=${encodeURIComponent(p)}`).join('&');
  const headers = await headersWith(o, {});
  const res = await requestJson<{ permissions?: string[] }>({
    step: `GCS testIamPermissions on bucket ${o.bucket}`,
    url: `${bucketPath(o)}/iam/testPermissions?${query}`,
    method: 'GET',
    headers,
    secrets: secretsOf(headers.authorization),
    hint: (status) =>
      status === 404 ? `bucket ${o.bucket} was not found: check the bucket input` : undefined,
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.retry ? { retry: o.retry } : {}),
  });
  return (res.permissions ?? []).filter((p) => permissions.includes(p));
}

/**
 * removeObject deletes `gs://bucket/name` (JSON API `objects.delete`); answers false when it was
 * already gone (404). Throws GoogleApiError after retries, naming storage.objects.delete on a 403.
 */
export async function removeObject(o: GcsCallOptions, name: string): Promise<boolean> {
  const headers = await headersWith(o, {});
  const secrets = secretsOf(headers.authorization);
  const step = `GCS objects.delete of gs://${o.bucket}/${name}`;
  return withRetry(async () => {
    const { response, text } = await exchange(
      o.fetch ?? nodeFetch,
      `${bucketPath(o)}/o/${encodeURIComponent(name)}`,
      { method: 'DELETE', headers },
      step,
      secrets,
    );
    if (response.status === 404) return false;
    if (!response.ok) {
      throw new GoogleApiError(
        step,
        response.status,
        redact(googleErrorText(text), secrets),
        gcsHint(o.bucket, 'storage.objects.delete')(response.status),
      );
    }
    return true;
  }, o.retry);
}
