// resources.ts: GCS JSON API shapes: errors, bucket and object resources,
// upload metadata, preconditions.
// Sources: https://cloud.google.com/storage/docs/json_api/v1/status-codes
// (`{"error":{"code","message","errors":[{"domain","reason","message"}]}}`),
// https://cloud.google.com/storage/docs/json_api/v1/objects#resource and
// .../buckets#resource, https://cloud.google.com/storage/docs/request-preconditions.
import { HttpError } from '../http.ts';
import type { BucketRecord, ObjectRecord } from './store.ts';

/** gcsError builds GCS's JSON API error answer. */
export function gcsError(
  code: number,
  reason: string,
  message: string,
  where: { locationType?: string; location?: string } = {},
): HttpError {
  return new HttpError(code, {
    error: { code, message, errors: [{ message, domain: 'global', reason, ...where }] },
  });
}

/** noSuchBucket is GCS's 404 for a missing bucket. */
export function noSuchBucket(): HttpError {
  return gcsError(404, 'notFound', 'The specified bucket does not exist.');
}

/** noSuchObject is GCS's 404 for a missing object. */
export function noSuchObject(bucket: string, name: string): HttpError {
  return gcsError(404, 'notFound', `No such object: ${bucket}/${name}`);
}

/** invalid is GCS's 400 `invalid`. */
export function invalid(message: string): HttpError {
  return gcsError(400, 'invalid', message);
}

/** bucketResource renders a storage#bucket. */
export function bucketResource(b: BucketRecord, base: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    selfLink: `${base}/storage/v1/b/${b.name}`,
    id: b.name,
    name: b.name,
    projectNumber: b.projectNumber,
    metageneration: '1',
    location: b.location,
    storageClass: b.storageClass,
    etag: 'CAE=',
    timeCreated: b.timeCreated,
    updated: b.timeCreated,
    locationType: 'multi-region',
    iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
  };
}

/** objectResource renders a storage#object (size and generation as strings, like GCS). */
export function objectResource(o: ObjectRecord, base: string): Record<string, unknown> {
  const path = `b/${o.bucket}/o/${encodeURIComponent(o.name)}`;
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${base}/storage/v1/${path}`,
    mediaLink: `${base}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: o.metageneration,
    contentType: o.contentType,
    storageClass: 'STANDARD',
    size: String(o.size),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: etagOf(o),
    timeCreated: o.timeCreated,
    updated: o.updated,
    timeStorageClassUpdated: o.timeCreated,
    timeFinalized: o.timeCreated,
    ...(o.contentEncoding === undefined ? {} : { contentEncoding: o.contentEncoding }),
    ...(o.contentDisposition === undefined ? {} : { contentDisposition: o.contentDisposition }),
    ...(o.contentLanguage === undefined ? {} : { contentLanguage: o.contentLanguage }),
    ...(o.cacheControl === undefined ? {} : { cacheControl: o.cacheControl }),
    ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
  };
}

/** etagOf is an opaque ETag that changes with every generation. */
export function etagOf(o: ObjectRecord): string {
  return Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64');
}

/**
 * UploadMetadata is the object resource a client sends with an upload
 * (multipart's first part, a resumable upload's initiation body). crc32c and
 * md5Hash, when present, are checked against the data.
 */
export interface UploadMetadata {
  name?: string;
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
  crc32c?: string;
  md5Hash?: string;
}

const STRING_FIELDS = [
  'name',
  'contentType',
  'contentEncoding',
  'contentDisposition',
  'contentLanguage',
  'cacheControl',
  'crc32c',
  'md5Hash',
] as const;

/** parseUploadMetadata validates a JSON object resource body; other fields are ignored. */
export function parseUploadMetadata(json: Record<string, unknown>): UploadMetadata {
  const out: UploadMetadata = {};
  for (const field of STRING_FIELDS) {
    const v = json[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw invalid(`Invalid value for ${field}: ${JSON.stringify(v)}`);
    out[field] = v;
  }
  if (json.metadata !== undefined && json.metadata !== null) {
    const m = json.metadata;
    if (typeof m !== 'object' || Array.isArray(m)) throw invalid('Invalid value for metadata');
    out.metadata = Object.fromEntries(
      Object.entries(m as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
    );
  }
  return out;
}

/**
 * objectName validates an object name (1..1024 UTF-8 bytes, no CR or LF,
 * per https://cloud.google.com/storage/docs/objects#naming).
 */
export function objectName(name: string | undefined | null): string {
  if (name === undefined || name === null || name === '')
    throw gcsError(400, 'required', 'Required');
  if (Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name)) {
    throw invalid(`The specified object name is not valid: ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * preconditionFailure returns GCS's 412 when ifGenerationMatch,
 * ifGenerationNotMatch, ifMetagenerationMatch or ifMetagenerationNotMatch
 * does not hold for the current object (0 means "no live object").
 */
export function preconditionFailure(
  current: ObjectRecord | undefined,
  q: URLSearchParams,
): HttpError | undefined {
  const gen = current?.generation ?? '0';
  const meta = current?.metageneration;
  const checks: [string, boolean][] = [
    ['ifGenerationMatch', q.get('ifGenerationMatch') === gen],
    ['ifGenerationNotMatch', q.get('ifGenerationNotMatch') !== gen],
    ['ifMetagenerationMatch', meta !== undefined && q.get('ifMetagenerationMatch') === meta],
    ['ifMetagenerationNotMatch', q.get('ifMetagenerationNotMatch') !== meta],
  ];
  for (const [param, ok] of checks) {
    if (q.has(param) && !ok) {
      return gcsError(
        412,
        'conditionNotMet',
        'At least one of the pre-conditions you specified did not hold.',
        { locationType: 'header', location: param.includes('Not') ? 'If-None-Match' : 'If-Match' },
      );
    }
  }
  return undefined;
}
