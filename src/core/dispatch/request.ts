// request.ts: the body of `POST /v1/dispatches`, checked field by field. Every refusal is a
// RequestError naming the field (HTTP 400); values are checked with the core's parsers. The
// dispatcher parses the bodies it receives with it, the action's mode dispatch the body it sends.
import { validateBucketName, validateImageReference } from '../inputs/formats.ts';
import { isEnvName, parseArch, parseQuantity, type Arch, type Quantity } from '../inputs/parse.ts';
import { validateArtifactsPath, validatePackageName } from '../inputs/spec-fields.ts';
import { parseComputeClass, parseNodeSelector, parseTolerations } from '../inputs/scheduling.ts';
import { parseCacheKey, parseCachePath } from '../inputs/cache.ts';

/**
 * DispatchRequest is a validated body. `dependencies` maps a package to the packages it needs
 * (same arch); only packages of this request count, others are assumed to exist already.
 */
export interface DispatchRequest {
  packages: string[];
  archs: Arch[];
  image: string;
  command?: string;
  packageTarget?: string;
  cpu: Quantity;
  memory: Quantity;
  env: Record<string, string>;
  timeout?: string;
  ref: string;
  sha: string;
  dependencies: Record<string, string[]>;
  queueName?: string;
  privileged: boolean;
  /** bucket: the caller collects the artifacts (the pods get a collector container) and uploads them there. */
  bucket?: string;
  artifactsPath?: string;
  /**
   * stage: the caller stages its checkout into each pod (the pods get a `stage` init container
   * that waits for it, as in mode `build`, or with stagingCrc32c the `fetch` of its archive).
   * Only set when true.
   */
  stage?: true;
  /**
   * upload `cluster`: each build's pod uploads its own artifacts to `bucket` through its Workload
   * Identity (the pods get the `uploader` container and the pod program's ConfigMap instead of a
   * collector); the caller only checks the objects' metadata. Only set when `cluster`.
   */
  upload?: 'cluster';
  /**
   * serviceAccountName: the Kubernetes service account of the pods (its Workload Identity is
   * what uploads with `upload: cluster`), allowed by the policy's `service_accounts`. Only set
   * when it is not `default`.
   */
  serviceAccountName?: string;
  /**
   * stagingCrc32c: with `staging: bucket`, the CRC32C (base64) of the caller's context archive,
   * `kbuild-staging/<dispatch id>.tar.gz` in `bucket`, which every pod's `fetch` init container
   * downloads and checks instead of waiting for the checkout over exec. Only set then.
   */
  stagingCrc32c?: string;
  /** computeClass, nodeSelector and tolerations: as the build inputs (docs/autopilot.md); only set when given. */
  computeClass?: string;
  nodeSelector?: Record<string, string>;
  /** tolerations: the lines as given (`KEY=VALUE:EFFECT` ...), each checked by parseTolerations. */
  tolerations?: string[];
  /**
   * cache: the build cache of every build (the build inputs cache_key, cache_restore_keys and
   * cache_path); `{package}` and `{arch}` in the keys are each build's (expandCacheKey). The
   * scopes come from the caller's verified token, never from the body. Only set when given.
   */
  cache?: { key: string; restoreKeys: string[]; path?: string };
}

/** expandCacheKey puts a build's package and arch into a cache key template (`{package}`, `{arch}`). */
export function expandCacheKey(template: string, pkg: string, arch: string): string {
  return template.replaceAll('{package}', pkg).replaceAll('{arch}', arch);
}

/** DispatchBody is the JSON body of `POST /v1/dispatches`, as clients send it (docs/dispatcher.md). */
export interface DispatchBody {
  packages: string[] | string;
  archs: string[] | string;
  image: string;
  command?: string;
  package_target?: string;
  cpu?: string | number;
  memory?: string;
  env?: Record<string, string>;
  timeout?: string;
  ref: string;
  sha: string;
  dependencies?: Record<string, string[]>;
  queue_name?: string;
  privileged?: boolean;
  bucket?: string;
  artifacts_path?: string;
  stage?: boolean;
  upload?: string;
  staging?: string;
  staging_crc32c?: string;
  service_account_name?: string;
  compute_class?: string;
  node_selector?: Record<string, string>;
  tolerations?: string[];
  cache_key?: string;
  cache_restore_keys?: string[];
  cache_path?: string;
}

/** RequestError is a 400: the field of the body and what is wrong with it. */
export class RequestError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'RequestError';
    this.field = field;
  }
}

/** REQUEST_FIELDS lists the fields of the body; others are refused. */
export const REQUEST_FIELDS = [
  'packages',
  'archs',
  'image',
  'command',
  'package_target',
  'cpu',
  'memory',
  'env',
  'timeout',
  'ref',
  'sha',
  'dependencies',
  'queue_name',
  'privileged',
  'bucket',
  'artifacts_path',
  'stage',
  'upload',
  'staging',
  'staging_crc32c',
  'service_account_name',
  'compute_class',
  'node_selector',
  'tolerations',
  'cache_key',
  'cache_restore_keys',
  'cache_path',
] as const satisfies readonly (keyof DispatchBody)[];

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** wrap runs a core parser and turns its error into a RequestError for field. */
function wrap<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new RequestError(
      field,
      (err as Error).message.replace(/\binput "([a-z_]+)"/g, 'field "$1"'),
    );
  }
}

/** list reads a field that is a JSON list of strings or one string of space/comma separated items. */
function list(field: string, v: unknown): string[] {
  const items = typeof v === 'string' ? v.split(/[\s,]+/) : v;
  if (!Array.isArray(items) || items.some((i) => typeof i !== 'string')) {
    throw new RequestError(field, `field "${field}" must be a list of strings`);
  }
  const out = [...new Set((items as string[]).map((i) => i.trim()).filter((i) => i !== ''))];
  if (out.length === 0) throw new RequestError(field, `field "${field}" is empty`);
  return out;
}

function optionalString(b: Record<string, unknown>, field: string): string | undefined {
  const v = b[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new RequestError(field, `field "${field}" must be a string`);
  return v;
}

function quantity(b: Record<string, unknown>, field: 'cpu' | 'memory', fallback: string): Quantity {
  const v = b[field] ?? fallback;
  if (typeof v !== 'string' && typeof v !== 'number') {
    throw new RequestError(field, `field "${field}" must be a Kubernetes quantity string`);
  }
  return wrap(field, () =>
    parseQuantity(field, String(v), field === 'cpu' ? 'millicores' : 'bytes'),
  );
}

function envOf(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new RequestError('env', 'field "env" must be an object of NAME: "value" strings');
  }
  for (const [k, val] of Object.entries(v)) {
    if (!isEnvName(k))
      throw new RequestError(
        'env',
        `invalid variable name ${JSON.stringify(k)} in field "env": use letters, digits and _, not starting with a digit`,
      );
    if (typeof val !== 'string')
      throw new RequestError('env', `variable ${k} in field "env" must be a string`);
  }
  // Sorted, so the request hash does not depend on the order of the keys.
  return Object.fromEntries(
    Object.entries(v as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

function dependenciesOf(v: unknown, packages: readonly string[]): Record<string, string[]> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new RequestError(
      'dependencies',
      'field "dependencies" must be an object {package: [packages it needs]}',
    );
  }
  const out: Record<string, string[]> = {};
  for (const [pkg, deps] of Object.entries(v)) {
    if (!packages.includes(pkg)) {
      throw new RequestError(
        'dependencies',
        `field "dependencies" names package ${JSON.stringify(pkg)}, which is not in "packages"`,
      );
    }
    const names = list('dependencies', deps).map((d) =>
      wrap('dependencies', () => validatePackageName(d, 'dependencies')),
    );
    if (names.includes(pkg))
      throw new RequestError(
        'dependencies',
        `package ${pkg} depends on itself in field "dependencies"`,
      );
    out[pkg] = names.filter((d) => packages.includes(d));
  }
  return out;
}

/**
 * parseDispatchRequest validates the JSON body of `POST /v1/dispatches`. Required: packages,
 * archs, image, ref, sha. Defaults: cpu 1, memory 2Gi, privileged false. Throws RequestError
 * naming the first bad field.
 */
export function parseDispatchRequest(body: unknown): DispatchRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestError(
      'body',
      'the body must be a JSON object (Content-Type: application/json)',
    );
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!(REQUEST_FIELDS as readonly string[]).includes(key)) {
      throw new RequestError(key, `unknown field "${key}"; fields: ${REQUEST_FIELDS.join(', ')}`);
    }
  }
  if (b.packages === undefined)
    throw new RequestError('packages', 'field "packages" is required: list the packages to build');
  const packages = list('packages', b.packages).map((p) =>
    wrap('packages', () => validatePackageName(p)),
  );
  if (b.archs === undefined)
    throw new RequestError('archs', 'field "archs" is required: list amd64, arm64 or both');
  const archs = [
    ...new Set(list('archs', b.archs).map((a) => wrap('archs', () => parseArch('archs', a)))),
  ];
  const image = optionalString(b, 'image');
  if (!image) throw new RequestError('image', 'field "image" is required: give the build image');
  const ref = optionalString(b, 'ref');
  if (!ref || !ref.startsWith('refs/'))
    throw new RequestError(
      'ref',
      'field "ref" is required: give the git ref, e.g. refs/heads/main',
    );
  const sha = optionalString(b, 'sha');
  if (!sha || !SHA.test(sha))
    throw new RequestError(
      'sha',
      'field "sha" is required: give the 40 or 64 hex digit commit sha',
    );
  for (const field of ['privileged', 'stage'] as const) {
    if (b[field] !== undefined && typeof b[field] !== 'boolean')
      throw new RequestError(field, `field "${field}" must be true or false`);
  }
  const req: DispatchRequest = {
    packages,
    archs,
    image: wrap('image', () => validateImageReference('image', image)),
    cpu: quantity(b, 'cpu', '1'),
    memory: quantity(b, 'memory', '2Gi'),
    env: envOf(b.env),
    ref,
    sha,
    dependencies: dependenciesOf(b.dependencies, packages),
    privileged: b.privileged === true,
  };
  const command = optionalString(b, 'command');
  const packageTarget = optionalString(b, 'package_target');
  const timeout = optionalString(b, 'timeout');
  const queueName = optionalString(b, 'queue_name');
  const bucket = optionalString(b, 'bucket');
  const artifactsPath = optionalString(b, 'artifacts_path');
  if (command !== undefined) req.command = command;
  if (packageTarget !== undefined) req.packageTarget = packageTarget;
  if (timeout !== undefined) req.timeout = timeout;
  if (queueName) req.queueName = queueName;
  if (bucket) req.bucket = wrap('bucket', () => validateBucketName('bucket', bucket));
  // Only when true: requests without it keep the request hash they had before the field existed.
  if (b.stage === true) req.stage = true;
  if (artifactsPath !== undefined)
    req.artifactsPath = wrap('artifacts_path', () => validateArtifactsPath(artifactsPath));
  Object.assign(req, dataPathsOf(b, req));
  const computeClass = optionalString(b, 'compute_class');
  if (computeClass)
    req.computeClass = wrap('compute_class', () =>
      parseComputeClass('compute_class', computeClass),
    );
  const nodeSelector = nodeSelectorOf(b.node_selector);
  if (nodeSelector) req.nodeSelector = nodeSelector;
  const tolerations = tolerationsOf(b.tolerations);
  if (tolerations) req.tolerations = tolerations;
  const cache = cacheOf(b, req);
  if (cache) req.cache = cache;
  levelsOf(req.packages, req.dependencies);
  return req;
}

/**
 * cacheOf reads fields cache_key (needs a bucket; with several packages it must hold
 * `{package}`, with several archs `{arch}`, so that no two builds share an archive),
 * cache_restore_keys (a list of prefixes) and cache_path. Throws RequestError.
 */
function cacheOf(
  b: Record<string, unknown>,
  req: Pick<DispatchRequest, 'bucket' | 'packages' | 'archs'>,
): DispatchRequest['cache'] {
  const key = optionalString(b, 'cache_key');
  const restore = b.cache_restore_keys;
  const path = optionalString(b, 'cache_path');
  if (key === undefined || key === '') {
    if ((Array.isArray(restore) && restore.length > 0) || path)
      throw new RequestError(
        'cache_key',
        'fields "cache_restore_keys" and "cache_path" need a "cache_key"',
      );
    return undefined;
  }
  if (!req.bucket)
    throw new RequestError(
      'cache_key',
      'field "cache_key" needs a "bucket": the cache is kept in it',
    );
  const sample = (k: string) => expandCacheKey(k, 'p', 'amd64');
  wrap('cache_key', () => parseCacheKey('cache_key', sample(key)));
  for (const [many, placeholder] of [
    [req.packages.length > 1, '{package}'],
    [req.archs.length > 1, '{arch}'],
  ] as const) {
    if (many && !key.includes(placeholder))
      throw new RequestError(
        'cache_key',
        `field "cache_key" must contain ${placeholder}: the request has several, and each build saves its own archive`,
      );
  }
  if (
    restore !== undefined &&
    (!Array.isArray(restore) || restore.some((x) => typeof x !== 'string'))
  )
    throw new RequestError(
      'cache_restore_keys',
      'field "cache_restore_keys" must be a list of strings',
    );
  const restoreKeys = ((restore as string[] | undefined) ?? [])
    .map((k) => k.trim())
    .filter(Boolean);
  for (const k of restoreKeys)
    wrap('cache_restore_keys', () => parseCacheKey('cache_restore_keys', sample(k)));
  const out: NonNullable<DispatchRequest['cache']> = { key, restoreKeys };
  if (path) out.path = wrap('cache_path', () => parseCachePath('cache_path', path));
  return out;
}

/** CRC32C_BASE64: a CRC32C as GCS writes it, 4 bytes in base64. */
const CRC32C_BASE64 = /^[A-Za-z0-9+/]{6}==$/;

/**
 * dataPathsOf reads fields upload, staging, staging_crc32c and service_account_name: upload
 * `runner` (default) or `cluster` (needs a bucket); staging `exec` (default) or `bucket` (needs a
 * bucket, `stage: true` and the archive's `staging_crc32c`); the pods' Kubernetes service account
 * (its format is checked with the build spec). Throws RequestError.
 */
function dataPathsOf(
  b: Record<string, unknown>,
  req: Pick<DispatchRequest, 'bucket' | 'stage'>,
): Pick<DispatchRequest, 'upload' | 'serviceAccountName' | 'stagingCrc32c'> {
  const out: Pick<DispatchRequest, 'upload' | 'serviceAccountName' | 'stagingCrc32c'> = {};
  const upload = optionalString(b, 'upload');
  if (upload !== undefined && upload !== 'runner' && upload !== 'cluster')
    throw new RequestError(
      'upload',
      `invalid value ${JSON.stringify(upload)} for field "upload": use runner or cluster`,
    );
  if (upload === 'cluster') {
    if (!req.bucket)
      throw new RequestError(
        'upload',
        'field "upload": "cluster" needs a "bucket": each build\'s pod uploads its artifacts to it',
      );
    out.upload = 'cluster';
  }
  const staging = optionalString(b, 'staging');
  if (staging !== undefined && staging !== 'exec' && staging !== 'bucket')
    throw new RequestError(
      'staging',
      `invalid value ${JSON.stringify(staging)} for field "staging": use exec or bucket`,
    );
  const crc32c = optionalString(b, 'staging_crc32c');
  if (staging === 'bucket') {
    if (!req.bucket || !req.stage)
      throw new RequestError(
        'staging',
        'field "staging": "bucket" needs a "bucket" and "stage": true: the pods fetch the caller\'s checkout from the bucket',
      );
    if (crc32c === undefined || !CRC32C_BASE64.test(crc32c))
      throw new RequestError(
        'staging_crc32c',
        'field "staging_crc32c" is required with "staging": "bucket": the CRC32C of the context archive, base64 as GCS gives it (e.g. "AAAAAA==")',
      );
    out.stagingCrc32c = crc32c;
  } else if (crc32c !== undefined)
    throw new RequestError('staging_crc32c', 'field "staging_crc32c" needs "staging": "bucket"');
  const ksa = optionalString(b, 'service_account_name');
  if (ksa !== undefined && ksa !== '' && ksa !== 'default') out.serviceAccountName = ksa;
  return out;
}

/** nodeSelectorOf reads field node_selector: an object of label: value strings (sorted). */
function nodeSelectorOf(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (
    typeof v !== 'object' ||
    Array.isArray(v) ||
    Object.values(v).some((x) => typeof x !== 'string')
  ) {
    throw new RequestError(
      'node_selector',
      'field "node_selector" must be an object of "label": "value" strings',
    );
  }
  const entries = Object.entries(v as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1));
  if (entries.length === 0) return undefined;
  // The build input's parser checks each key and value.
  wrap('node_selector', () =>
    parseNodeSelector('node_selector', entries.map(([k, x]) => `${k}=${x}`).join('\n')),
  );
  return Object.fromEntries(entries);
}

/** tolerationsOf reads field tolerations: a list of toleration lines (`KEY=VALUE:EFFECT` ...). */
function tolerationsOf(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || /[\r\n]/.test(x))) {
    throw new RequestError(
      'tolerations',
      'field "tolerations" must be a list of strings like "KEY=VALUE:NoSchedule"',
    );
  }
  const lines = (v as string[]).map((x) => x.trim()).filter((x) => x !== '');
  if (lines.length === 0) return undefined;
  wrap('tolerations', () => parseTolerations('tolerations', lines.join('\n')));
  return lines;
}

/**
 * levelsOf orders packages in dependency levels: level 0 needs nothing of this request, level N
 * only packages of levels < N. Throws RequestError (field `dependencies`) naming the packages
 * of a cycle.
 */
export function levelsOf(
  packages: readonly string[],
  deps: Readonly<Record<string, readonly string[]>>,
): Map<string, number> {
  const level = new Map<string, number>();
  let rest = [...packages];
  for (let n = 0; rest.length > 0; n++) {
    const ready = rest.filter((p) => (deps[p] ?? []).every((d) => (level.get(d) ?? n) < n));
    if (ready.length === 0) {
      throw new RequestError(
        'dependencies',
        `dependency cycle among packages ${cycleIn(rest, deps).join(' -> ')}: break it`,
      );
    }
    for (const p of ready) level.set(p, n);
    rest = rest.filter((p) => !level.has(p));
  }
  return level;
}

/** cycleIn walks dependencies from the first stuck package until one repeats: that loop is a cycle. */
function cycleIn(
  stuck: readonly string[],
  deps: Readonly<Record<string, readonly string[]>>,
): string[] {
  const path: string[] = [];
  let at = stuck[0] ?? '';
  while (!path.includes(at)) {
    path.push(at);
    at = (deps[at] ?? []).find((d) => stuck.includes(d)) ?? at;
  }
  return [...path.slice(path.indexOf(at)), at];
}
