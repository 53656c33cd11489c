// lab-bindings.ts: the tests' `/_lab/iam-bindings` route (served on the IAM
// Credentials port): grant or take one IAM role on a bucket or a service
// account of the lab, as `gcloud storage buckets add-iam-policy-binding` and
// `gcloud iam service-accounts add-iam-policy-binding` would on Google Cloud.
import type { BucketPolicies } from './gcs/iam.ts';
import { STORAGE_ROLE } from './gcs/iam.ts';
import { bearerToken, googleError, readJsonObject, sendJson } from './http.ts';
import type { Handler, HttpError } from './http.ts';
import type { ServiceAccountPolicies } from './iam-policy.ts';

/** LAB_BINDINGS_PATH is the route's path. */
export const LAB_BINDINGS_PATH = '/_lab/iam-bindings';

const MEMBER =
  /^(serviceAccount:\S+|principal:\/\/\S+|principalSet:\/\/\S+|allUsers|allAuthenticatedUsers)$/;

/**
 * createLabBindingsHandler serves, with `Authorization: Bearer <labToken()>`
 * (the lab's request token, ACTIONS_ID_TOKEN_REQUEST_TOKEN):
 * `POST {resource, role, member, remove?: true}` grants (or takes back) one
 * role and answers 200 `{bindings}`, the resource's policy afterwards;
 * `GET ?resource=R` answers it. `resource` is `buckets/NAME` (storage
 * roles; the first grant gives an open bucket a policy, which then admits
 * only its members) or `serviceAccounts/EMAIL` (roles/iam.workloadIdentityUser,
 * roles/iam.serviceAccountTokenCreator). 401 without the token, 400 with
 * the bad field and the accepted form.
 */
export function createLabBindingsHandler(
  buckets: BucketPolicies,
  accounts: ServiceAccountPolicies,
  labToken: () => string,
): Handler {
  return async (req, res, url) => {
    if (url.pathname !== LAB_BINDINGS_PATH) {
      req.resume();
      throw googleError(404, 'NOT_FOUND', `Not found: ${url.pathname}`);
    }
    const token = labToken();
    if (token === '' || bearerToken(req) !== token) {
      req.resume();
      throw googleError(
        401,
        'UNAUTHENTICATED',
        'want Authorization: Bearer <the lab request token>',
      );
    }
    const bad = (why: string): HttpError => googleError(400, 'INVALID_ARGUMENT', why);
    const target = (v: unknown): { kind: 'bucket' | 'account'; name: string } => {
      const m = typeof v === 'string' ? /^(buckets|serviceAccounts)\/([^/\s]+)$/.exec(v) : null;
      if (m === null) {
        throw bad(
          `invalid resource ${JSON.stringify(v)}: want buckets/NAME or serviceAccounts/EMAIL`,
        );
      }
      return { kind: m[1] === 'buckets' ? 'bucket' : 'account', name: m[2] ?? '' };
    };
    const policyOf = (t: { kind: 'bucket' | 'account'; name: string }): unknown =>
      t.kind === 'bucket' ? (buckets.get(t.name) ?? null) : accounts.get(t.name);
    if (req.method === 'GET') {
      req.resume();
      return sendJson(res, 200, { bindings: policyOf(target(url.searchParams.get('resource'))) });
    }
    if (req.method !== 'POST') {
      req.resume();
      throw googleError(405, 'INVALID_ARGUMENT', 'use GET or POST');
    }
    const body = await readJsonObject(req, bad);
    const t = target(body.resource);
    const { role, member } = body;
    if (typeof member !== 'string' || !MEMBER.test(member)) {
      throw bad(
        `invalid member ${JSON.stringify(member)}: want serviceAccount:EMAIL, principal://..., principalSet://..., allUsers or allAuthenticatedUsers`,
      );
    }
    if (t.kind === 'bucket') {
      if (typeof role !== 'string' || !STORAGE_ROLE.test(role)) {
        throw bad(
          `invalid role ${JSON.stringify(role)} for a bucket: want ${String(STORAGE_ROLE)}`,
        );
      }
      if (body.remove === true) buckets.revoke(t.name, role, member);
      else buckets.grant(t.name, role, member);
    } else if (body.remove === true) {
      accounts.revoke(t.name, String(role), member);
    } else {
      try {
        accounts.grant(t.name, String(role), member);
      } catch (err) {
        throw bad(err instanceof Error ? err.message : String(err));
      }
    }
    sendJson(res, 200, { bindings: policyOf(t) });
  };
}
