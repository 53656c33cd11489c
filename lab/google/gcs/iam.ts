// iam.ts: bucket IAM policies of the GCS stand-in: predefined roles, members
// and IAM conditions on the object name, evaluated like Cloud Storage does.
// Sources: https://cloud.google.com/storage/docs/access-control/iam-roles
// (the permissions of roles/storage.object*), https://cloud.google.com/iam/docs/conditions-resource-attributes
// (Cloud Storage resource names `projects/_/buckets/B/objects/NAME` in
// `resource.name`; a bucket-level request, such as objects.list, carries
// `projects/_/buckets/B`), https://cloud.google.com/storage/docs/json_api/v1/status-codes
// (403 `forbidden`: "X does not have P access to ...") and
// https://cloud.google.com/storage/docs/json_api/v1/objects/insert (replacing
// an object also needs storage.objects.delete).
import type { IncomingMessage } from 'node:http';
import { parse } from '@marcbachmann/cel-js';
import { callerIds } from '../iam.ts';
import type { TokenStore } from '../tokens.ts';
import { gcsError } from './resources.ts';

/**
 * ObjectPermission is a Cloud Storage permission the stand-in checks: the
 * object permissions, and the bucket's own IAM policy (getIamPolicy,
 * setIamPolicy).
 */
export type ObjectPermission =
  | 'storage.objects.create'
  | 'storage.objects.delete'
  | 'storage.objects.get'
  | 'storage.objects.list'
  | 'storage.buckets.getIamPolicy'
  | 'storage.buckets.setIamPolicy';

/**
 * BucketBinding is one binding of a bucket's IAM policy (policy version 3):
 * a predefined role, its members (`serviceAccount:EMAIL`, `principal://...`,
 * `principalSet://...`, `allUsers`, `allAuthenticatedUsers`) and an optional
 * condition, a CEL expression over `resource.name`, `resource.type`,
 * `resource.service` and `request.time`.
 */
export interface BucketBinding {
  role: string;
  members: string[];
  condition?: { title: string; expression: string };
}

/** STORAGE_ROLE is the form of the roles a bucket policy may grant (ROLE_PERMISSIONS). */
export const STORAGE_ROLE = /^roles\/storage\.(object(Creator|Viewer|User|Admin)|admin)$/;

/** ROLE_PERMISSIONS are the permissions of the predefined storage roles the lab knows. */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly ObjectPermission[]>> = {
  'roles/storage.objectCreator': ['storage.objects.create'],
  'roles/storage.objectViewer': ['storage.objects.get', 'storage.objects.list'],
  'roles/storage.objectUser': [
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.list',
  ],
  'roles/storage.objectAdmin': [
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.list',
  ],
  'roles/storage.admin': [
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.list',
    'storage.buckets.getIamPolicy',
    'storage.buckets.setIamPolicy',
  ],
};

/** storageResourceName is `projects/_/buckets/B`, or `.../objects/NAME` for an object. */
export function storageResourceName(bucket: string, object?: string): string {
  const b = `projects/_/buckets/${bucket}`;
  return object === undefined ? b : `${b}/objects/${object}`;
}

const compiled = new Map<string, ReturnType<typeof parse>>();

/**
 * conditionHolds evaluates a binding's condition for a resource name; an
 * expression that fails to compile or evaluate does not hold (IAM treats an
 * error as false).
 */
export function conditionHolds(
  expression: string,
  resourceName: string,
  now = new Date(),
): boolean {
  try {
    let fn = compiled.get(expression);
    if (fn === undefined) {
      fn = parse(expression);
      compiled.set(expression, fn);
    }
    const type = resourceName.includes('/objects/')
      ? 'storage.googleapis.com/Object'
      : 'storage.googleapis.com/Bucket';
    const result = fn({
      resource: { name: resourceName, type, service: 'storage.googleapis.com' },
      request: { time: now },
    });
    return result === true;
  } catch {
    return false;
  }
}

/**
 * permits tells whether any binding grants `permission` on `resourceName`
 * to a caller named by `ids` (its member strings).
 */
export function permits(
  bindings: readonly BucketBinding[],
  ids: readonly string[],
  permission: ObjectPermission,
  resourceName: string,
): boolean {
  return bindings.some(
    (b) =>
      (ROLE_PERMISSIONS[b.role] ?? []).includes(permission) &&
      b.members.some((m) => ids.includes(m)) &&
      (b.condition === undefined || conditionHolds(b.condition.expression, resourceName)),
  );
}

/**
 * callerOf names the request's caller as IAM members: `allUsers` without an
 * Authorization header, else the token's identity plus
 * `allAuthenticatedUsers` and `allUsers`, and a display name for messages.
 * The header was already checked (checkAuthorization).
 */
export function callerOf(
  req: IncomingMessage,
  tokens: TokenStore,
): { ids: string[]; display: string } {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const info = m === null ? undefined : tokens.lookup(m[1]);
  if (info === undefined) return { ids: ['allUsers'], display: 'Anonymous caller' };
  const ids = [...callerIds(info), 'allAuthenticatedUsers', 'allUsers'];
  return { ids, display: info.kind === 'serviceAccount' ? info.email : info.principal };
}

/**
 * BucketPolicies enforces the IAM policies of the buckets that have one; a
 * bucket without a policy stays open to every caller (the emulator
 * convention the rest of the lab relies on). Policies start from the config
 * and change with setIamPolicy or the tests' `/_lab/iam-bindings`
 * (in memory; a restart goes back to the config).
 */
export class BucketPolicies {
  readonly #policies = new Map<string, BucketBinding[]>();
  readonly #tokens: TokenStore;

  constructor(policies: Readonly<Record<string, readonly BucketBinding[]>>, tokens: TokenStore) {
    for (const [bucket, bindings] of Object.entries(policies)) this.set(bucket, bindings);
    this.#tokens = tokens;
  }

  /** get answers a copy of the bucket's bindings, or undefined when it has no policy (open). */
  get(bucket: string): BucketBinding[] | undefined {
    return this.#policies.get(bucket)?.map((b) => ({ ...b, members: [...b.members] }));
  }

  /**
   * set replaces the bucket's policy (an empty list closes the bucket to
   * everyone); bindings of the same role and condition are merged.
   */
  set(bucket: string, bindings: readonly BucketBinding[]): void {
    const merged: BucketBinding[] = [];
    for (const b of bindings) {
      const same = merged.find(
        (m) => m.role === b.role && m.condition?.expression === b.condition?.expression,
      );
      if (same === undefined) merged.push({ ...b, members: [...new Set(b.members)] });
      else same.members = [...new Set([...same.members, ...b.members])];
    }
    this.#policies.set(
      bucket,
      merged.filter((b) => b.members.length > 0),
    );
  }

  /** grant adds `member` to the bucket's unconditional binding of `role` (giving it a policy). */
  grant(bucket: string, role: string, member: string): void {
    this.set(bucket, [...(this.get(bucket) ?? []), { role, members: [member] }]);
  }

  /** revoke takes `member` out of every binding of `role` (the policy stays, maybe empty). */
  revoke(bucket: string, role: string, member: string): void {
    this.set(
      bucket,
      (this.get(bucket) ?? []).map((b) =>
        b.role === role ? { ...b, members: b.members.filter((m) => m !== member) } : b,
      ),
    );
  }

  /**
   * holds tells whether the caller of req has `permission` on the bucket
   * (buckets.testIamPermissions; a bucket without a policy grants all).
   */
  holds(req: IncomingMessage, bucket: string, permission: string): boolean {
    const bindings = this.#policies.get(bucket);
    if (bindings === undefined) return true;
    const ids = callerOf(req, this.#tokens).ids;
    return permits(bindings, ids, permission as ObjectPermission, storageResourceName(bucket));
  }

  /**
   * require throws GCS's 403 `forbidden` unless the caller of req has every
   * permission on the bucket or object (for objects.list, object is undefined).
   */
  require(
    req: IncomingMessage,
    bucket: string,
    object: string | undefined,
    permissions: readonly ObjectPermission[],
  ): void {
    const bindings = this.#policies.get(bucket);
    if (bindings === undefined) return;
    const caller = callerOf(req, this.#tokens);
    const resource = storageResourceName(bucket, object);
    for (const p of permissions) {
      if (permits(bindings, caller.ids, p, resource)) continue;
      const what =
        object === undefined ? 'Google Cloud Storage bucket' : 'Google Cloud Storage object';
      throw gcsError(
        403,
        'forbidden',
        `${caller.display} does not have ${p} access to the ${what}. ` +
          `Permission '${p}' denied on resource (or it may not exist).`,
      );
    }
  }
}
