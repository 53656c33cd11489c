// api.ts: the GCS JSON API stand-in's router (what STORAGE_EMULATOR_HOST
// points at), bucket methods and authentication.
// Sources: https://cloud.google.com/storage/docs/json_api (paths
// /storage/v1/..., /upload/storage/v1/..., /download/storage/v1/...),
// .../buckets/insert, .../buckets/get, .../buckets/list, .../buckets/delete.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonObject, sendJson } from '../http.ts';
import type { Handler } from '../http.ts';
import type { TokenStore } from '../tokens.ts';
import { BucketPolicies, STORAGE_ROLE } from './iam.ts';
import type { BucketBinding } from './iam.ts';
import { deleteObject, listObjects, sendObject } from './objects.ts';
import { gcsError, invalid, noSuchBucket, bucketResource } from './resources.ts';
import { CORRUPT_ROUTE, GcsFaults } from './faults.ts';
import { ResumableSessions } from './resumable.ts';
import { TEST_PERMISSIONS, testPermissions } from './test-permissions.ts';
import type { GcsStore } from './store.ts';
import { mediaUpload, multipartUpload } from './uploads.ts';

/**
 * GcsOptions are the project new buckets belong to, the token store for
 * auth, and the IAM policies of the buckets that have one (iam.ts; a bucket
 * without one is open to every caller).
 */
export interface GcsOptions {
  projectNumber: string;
  tokens: TokenStore;
  iam?: Readonly<Record<string, readonly BucketBinding[]>>;
  /** policies, when given, replaces `iam` (the stand-ins share it with `/_lab/iam-bindings`). */
  policies?: BucketPolicies;
}

/**
 * checkAuthorization accepts requests without an Authorization header (the
 * emulator convention; @google-cloud/storage sends none to a custom
 * endpoint) and requests with a live lab access token; any other header
 * answers GCS's 401 "Invalid Credentials".
 */
export function checkAuthorization(req: IncomingMessage, tokens: TokenStore): void {
  const header = req.headers.authorization;
  if (header === undefined) return;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m !== null && tokens.lookup(m[1]) !== undefined) return;
  const err = gcsError(401, 'authError', 'Invalid Credentials', {
    locationType: 'header',
    location: 'Authorization',
  });
  err.headers['www-authenticate'] = 'Bearer realm="https://accounts.google.com/"';
  throw err;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/** createGcsHandler serves buckets and objects from `store`. */
export function createGcsHandler(store: GcsStore, options: GcsOptions): Handler {
  const faults = new GcsFaults();
  const sessions = new ResumableSessions(store, faults);
  const policies = options.policies ?? new BucketPolicies(options.iam ?? {}, options.tokens);
  return async (req, res, url) => {
    if (url.pathname === CORRUPT_ROUTE) return faults.handle(req, res);
    checkAuthorization(req, options.tokens);
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    // With STORAGE_EMULATOR_HOST set, @google-cloud/storage uses the host
    // itself as its JSON API base URL (`/b/...`, no `/storage/v1`).
    const path = /^\/b(\/|$)/.test(url.pathname) ? `/storage/v1${url.pathname}` : url.pathname;
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;
    // Lab only: faults and counts of resumable uploads (resumable.ts UploadCounts).
    if (path === '/_lab/gcs/faults' && method === 'POST') {
      const body = await readJsonObject(req, invalid);
      const puts = Array.isArray(body.failPuts) ? body.failPuts.map(Number) : [];
      sessions.failPuts(String(body.name ?? ''), puts);
      res.writeHead(204);
      res.end();
      return;
    }
    if (path === '/_lab/gcs/uploads' && method === 'GET') {
      return sendJson(res, 200, sessions.counts(url.searchParams.get('name') ?? ''));
    }
    // apitools (gcloud) starts resumable uploads at /resumable/upload/...
    if ((m = /^(?:\/resumable)?\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) !== null) {
      const bucket = decodeURIComponent(m[1] ?? '');
      if (url.searchParams.has('upload_id')) return sessions.handle(req, res, url, base);
      if (method !== 'POST') throw methodNotAllowed(method, path);
      if (store.bucket(bucket) === undefined) {
        req.resume();
        throw noSuchBucket();
      }
      const uploadType = url.searchParams.get('uploadType');
      // Creating needs storage.objects.create on the new name; replacing an
      // object also needs storage.objects.delete (objectCreator cannot overwrite).
      const authorize = (name: string): void =>
        policies.require(req, bucket, name, [
          'storage.objects.create',
          ...(store.object(bucket, name) ? (['storage.objects.delete'] as const) : []),
        ]);
      const call = { req, res, url, bucket, store, base, authorize, faults };
      if (uploadType === 'media') return mediaUpload(call);
      if (uploadType === 'multipart') return multipartUpload(call);
      if (uploadType === 'resumable') {
        return sessions.initiate(req, res, url, bucket, base, authorize);
      }
      req.resume();
      throw invalid(
        `Unsupported uploadType ${JSON.stringify(uploadType)}: use media, multipart or resumable`,
      );
    }
    if ((m = /^\/(download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path)) !== null) {
      const media = m[1] !== undefined;
      const bucket = decodeURIComponent(m[2] ?? '');
      const name = decodeURIComponent(m[3] ?? '');
      if (method === 'GET' || method === 'HEAD') {
        policies.require(req, bucket, name, ['storage.objects.get']);
        return sendObject(req, res, url, bucket, name, store, base, media);
      }
      if (method === 'DELETE' && !media) {
        policies.require(req, bucket, name, ['storage.objects.delete']);
        return deleteObject(res, url, bucket, name, store);
      }
      throw methodNotAllowed(method, path);
    }
    if ((m = TEST_PERMISSIONS.exec(path)) !== null) {
      const bucket = decodeURIComponent(m[1] ?? '');
      return testPermissions(req, res, url, bucket, store, (p) => policies.holds(req, bucket, p));
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) !== null) {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      const bucket = decodeURIComponent(m[1] ?? '');
      policies.require(req, bucket, undefined, ['storage.objects.list']);
      return listObjects(res, url, bucket, store, base);
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/iam$/.exec(path)) !== null) {
      return bucketIam(req, res, decodeURIComponent(m[1] ?? ''), store, policies);
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)$/.exec(path)) !== null) {
      return bucketMethod(req, res, decodeURIComponent(m[1] ?? ''), store, base);
    }
    if (path === '/storage/v1/b') {
      if (method === 'GET') {
        const items = store.buckets().map((b) => bucketResource(b, base));
        return sendJson(res, 200, { kind: 'storage#buckets', ...(items.length ? { items } : {}) });
      }
      if (method === 'POST') return insertBucket(req, res, store, options, base);
    }
    req.resume();
    throw gcsError(404, 'notFound', `Not Found: ${method} ${path}`);
  };
}

async function bucketMethod(
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  store: GcsStore,
  base: string,
): Promise<void> {
  const bucket = store.bucket(name);
  if (bucket === undefined) throw noSuchBucket();
  if (req.method === 'GET') return sendJson(res, 200, bucketResource(bucket, base));
  if (req.method === 'DELETE') {
    if (!store.objectNames(name).next().done) {
      throw gcsError(409, 'conflict', 'The bucket you tried to delete is not empty.');
    }
    store.deleteBucket(name);
    res.writeHead(204);
    res.end();
    return;
  }
  throw methodNotAllowed(req.method ?? '', `/storage/v1/b/${name}`);
}

async function insertBucket(
  req: IncomingMessage,
  res: ServerResponse,
  store: GcsStore,
  options: GcsOptions,
  base: string,
): Promise<void> {
  const body = await readJsonObject(req, invalid);
  const name = body.name;
  if (typeof name !== 'string' || !BUCKET_NAME.test(name)) {
    throw invalid(`Invalid bucket name: ${JSON.stringify(name)}`);
  }
  if (store.bucket(name) !== undefined) {
    throw gcsError(
      409,
      'conflict',
      'Your previous request to create the named bucket succeeded and you already own it.',
    );
  }
  const b = store.createBucket({
    name,
    projectNumber: options.projectNumber,
    location: typeof body.location === 'string' ? body.location.toUpperCase() : 'US',
    storageClass: typeof body.storageClass === 'string' ? body.storageClass : 'STANDARD',
    timeCreated: new Date().toISOString(),
  });
  sendJson(res, 200, bucketResource(b, base));
}

/**
 * bucketIam serves buckets.getIamPolicy (GET .../b/B/iam) and
 * buckets.setIamPolicy (PUT, `{bindings: [{role, members, condition?}]}`),
 * what `gcloud storage buckets add-iam-policy-binding` calls. A bucket with
 * a policy needs storage.buckets.getIamPolicy / setIamPolicy
 * (roles/storage.admin); an open bucket (no policy) answers no bindings and
 * takes any. Etags are not checked.
 */
async function bucketIam(
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  store: GcsStore,
  policies: BucketPolicies,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'PUT') {
    req.resume();
    throw methodNotAllowed(method, `/storage/v1/b/${bucket}/iam`);
  }
  try {
    const permission =
      method === 'GET' ? 'storage.buckets.getIamPolicy' : 'storage.buckets.setIamPolicy';
    policies.require(req, bucket, undefined, [permission]);
    if (store.bucket(bucket) === undefined) throw noSuchBucket();
  } catch (err) {
    req.resume();
    throw err;
  }
  if (method === 'PUT') {
    const body = await readJsonObject(req, invalid);
    const list: unknown[] = Array.isArray(body.bindings) ? body.bindings : [];
    const bindings: BucketBinding[] = list.map((b, i) => {
      const o = (typeof b === 'object' && b !== null ? b : {}) as Record<string, unknown>;
      const members = Array.isArray(o.members) ? o.members : [];
      if (typeof o.role !== 'string' || !STORAGE_ROLE.test(o.role)) {
        throw invalid(`Invalid role in bindings[${i}]: ${JSON.stringify(o.role)}`);
      }
      if (!members.every((x) => typeof x === 'string')) {
        throw invalid(`Invalid members in bindings[${i}]: want strings`);
      }
      const c = o.condition as { title?: unknown; expression?: unknown } | undefined;
      return {
        role: o.role,
        members: members as string[],
        ...(typeof c?.expression === 'string'
          ? { condition: { title: String(c.title ?? ''), expression: c.expression } }
          : {}),
      };
    });
    policies.set(bucket, bindings);
  }
  sendJson(res, 200, {
    kind: 'storage#policy',
    resourceId: `projects/_/buckets/${bucket}`,
    version: 3,
    etag: 'CAE=',
    bindings: policies.get(bucket) ?? [],
  });
}

function methodNotAllowed(method: string, path: string) {
  return gcsError(405, 'methodNotAllowed', `Method ${method} is not allowed on ${path}`);
}
