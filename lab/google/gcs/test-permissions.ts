// test-permissions.ts: buckets.testIamPermissions of the GCS JSON API,
// `GET /storage/v1/b/B/iam/testPermissions?permissions=P&permissions=Q`:
// answers `{"kind": "storage#testIamPermissionsResponse", "permissions": [...]}`
// with the subset the caller holds on the bucket (none: no `permissions`
// field), and needs no permission itself. Source:
// https://cloud.google.com/storage/docs/json_api/v1/buckets/testIamPermissions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http.ts';
import { gcsError, invalid, noSuchBucket } from './resources.ts';
import type { GcsStore } from './store.ts';

/** TEST_PERMISSIONS matches the route; group 1 is the bucket. */
export const TEST_PERMISSIONS = /^\/storage\/v1\/b\/([^/]+)\/iam\/testPermissions$/;

/**
 * testPermissions answers the permissions of `?permissions=` that `holds`
 * grants on the bucket (holds: the caller's IAM check, see authz.ts).
 */
export function testPermissions(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  bucket: string,
  store: GcsStore,
  holds: (permission: string) => boolean,
): void {
  req.resume();
  if (req.method !== 'GET') {
    throw gcsError(
      405,
      'methodNotAllowed',
      `Method ${req.method} is not allowed on testPermissions`,
    );
  }
  if (store.bucket(bucket) === undefined) throw noSuchBucket();
  const asked = url.searchParams.getAll('permissions');
  if (asked.length === 0) throw invalid('Required parameter: permissions');
  const held = asked.filter((p) => /^storage\.[a-zA-Z]+\.[a-zA-Z]+$/.test(p) && holds(p));
  sendJson(res, 200, {
    kind: 'storage#testIamPermissionsResponse',
    ...(held.length > 0 ? { permissions: held } : {}),
  });
}
