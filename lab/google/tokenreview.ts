// tokenreview.ts: the kube-apiserver's webhook token authenticator,
// `POST /tokenreview` with an authentication.k8s.io/v1 (or v1beta1)
// TokenReview. Source: https://kubernetes.io/docs/reference/access-authn-authz/authentication/#webhook-token-authentication
// (request spec.token / spec.audiences, answer status.authenticated,
// status.user, status.audiences). Like GKE, a Google access token
// authenticates as its service account's email; a federated token as its
// `principal://iam.googleapis.com/...` subject.
import { HttpError, readJsonObject, sendJson } from './http.ts';
import type { Handler } from './http.ts';
import { subjectOf } from './tokens.ts';
import type { TokenStore } from './tokens.ts';

/**
 * reviewToken answers one TokenReview: `{apiVersion, kind, status}` with the
 * request's apiVersion, authenticated with user {username, uid, groups} when
 * the token is a live lab access token, else authenticated false. When the
 * request lists audiences they are echoed back (the lab accepts any).
 */
export function reviewToken(
  review: Record<string, unknown>,
  tokens: TokenStore,
): Record<string, unknown> {
  const apiVersion =
    typeof review.apiVersion === 'string' ? review.apiVersion : 'authentication.k8s.io/v1';
  const spec = (review.spec ?? {}) as { token?: unknown; audiences?: unknown };
  const token = typeof spec.token === 'string' ? spec.token : undefined;
  const info = tokens.lookup(token);
  const base = { apiVersion, kind: 'TokenReview', metadata: { creationTimestamp: null } };
  if (info === undefined) {
    return { ...base, status: { authenticated: false, error: 'unknown or expired access token' } };
  }
  const username = subjectOf(info);
  const audiences = Array.isArray(spec.audiences) ? spec.audiences : undefined;
  return {
    ...base,
    status: {
      authenticated: true,
      user: { username, uid: username, groups: [] },
      ...(audiences === undefined ? {} : { audiences }),
    },
  };
}

/** createTokenReviewHandler serves POST /tokenreview. */
export function createTokenReviewHandler(tokens: TokenStore): Handler {
  return async (req, res, url) => {
    if (url.pathname !== '/tokenreview' || req.method !== 'POST') {
      throw new HttpError(404, {
        kind: 'Status',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
      });
    }
    const review = await readJsonObject(
      req,
      (why) => new HttpError(400, { kind: 'Status', status: 'Failure', message: why, code: 400 }),
    );
    if (review.kind !== 'TokenReview') {
      throw new HttpError(400, {
        kind: 'Status',
        status: 'Failure',
        message: `want kind TokenReview, got ${JSON.stringify(review.kind)}`,
        code: 400,
      });
    }
    sendJson(res, 200, reviewToken(review, tokens));
  };
}
