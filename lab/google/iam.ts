// iam.ts: the IAM Service Account Credentials stand-in,
// `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken`.
// Source: https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken
// (request `{scope[], lifetime: "3600s", delegates[]}`, answer
// `{accessToken, expireTime}`, maximum lifetime 43200 s) and
// https://cloud.google.com/iam/docs/troubleshooting-access (the
// 403 "Permission 'iam.serviceAccounts.getAccessToken' denied ..." answer).
import type { GoogleLabConfig } from './config.ts';
import { authenticate, requireCloudPlatformScope } from './auth.ts';
import { googleError, readJsonObject, sendJson } from './http.ts';
import type { Handler, HttpError } from './http.ts';
import type { ServiceAccountPolicies } from './iam-policy.ts';
import type { AccessTokenInfo, TokenStore } from './tokens.ts';

const GENERATE_PATH = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):generateAccessToken$/;
const MAX_LIFETIME_SECONDS = 43200;
const DEFAULT_LIFETIME_SECONDS = 3600;

function invalidArgument(message: string): HttpError {
  return googleError(400, 'INVALID_ARGUMENT', message);
}

/**
 * parseLifetime reads a google.protobuf.Duration in JSON form ("3600s",
 * "1.5s"); undefined gives 3600. Throws INVALID_ARGUMENT outside 1..43200 s.
 */
export function parseLifetime(v: unknown): number {
  if (v === undefined) return DEFAULT_LIFETIME_SECONDS;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(v) : null;
  if (m === null) {
    throw invalidArgument(
      `Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(v)}`,
    );
  }
  const seconds = Number(m[1]);
  if (seconds < 1 || seconds > MAX_LIFETIME_SECONDS) {
    throw invalidArgument(
      `The lifetime must be between 1s and ${MAX_LIFETIME_SECONDS}s; got ${String(v)}.`,
    );
  }
  return Math.floor(seconds);
}

/** callerIds lists the IAM member strings that name a token's identity. */
export function callerIds(info: AccessTokenInfo): string[] {
  return info.kind === 'serviceAccount'
    ? [`serviceAccount:${info.email}`]
    : [info.principal, ...info.principalSets];
}

/**
 * getAccessTokenDenied is IAM's 403 when the caller may not get a token for
 * a service account (or the account does not exist).
 */
export function getAccessTokenDenied(): HttpError {
  return googleError(
    403,
    'PERMISSION_DENIED',
    "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'IAM_PERMISSION_DENIED',
          domain: 'iam.googleapis.com',
          metadata: { permission: 'iam.serviceAccounts.getAccessToken' },
        },
      ],
    },
  );
}

/**
 * mayGetAccessToken tells whether `ids` hold iam.serviceAccounts.getAccessToken
 * on the lab's service account `email` (roles/iam.workloadIdentityUser or
 * roles/iam.serviceAccountTokenCreator); false for an unknown account.
 */
export function mayGetAccessToken(
  policies: ServiceAccountPolicies,
  email: string,
  ids: readonly string[],
): boolean {
  return policies.allows(email, 'iam.serviceAccounts.getAccessToken', ids);
}

/**
 * createIamHandler issues service account tokens to callers that hold
 * iam.serviceAccounts.getAccessToken on the account (mayGetAccessToken). The
 * lifetime is the requested one (default 3600 s) clamped to
 * `accessTokenLifetimeSeconds` (Google would refuse above 3600 s without an
 * org policy; the lab clamps so one knob shortens every token). Other paths
 * go to `fallback` (the tests' `/_lab/iam-bindings`, lab-bindings.ts).
 */
export function createIamHandler(
  config: GoogleLabConfig,
  tokens: TokenStore,
  policies: ServiceAccountPolicies,
  fallback?: Handler,
): Handler {
  return async (req, res, url) => {
    const m = GENERATE_PATH.exec(url.pathname);
    if (m === null && fallback !== undefined && url.pathname.startsWith('/_lab/')) {
      return fallback(req, res, url);
    }
    if (m === null || req.method !== 'POST') {
      throw googleError(404, 'NOT_FOUND', `Method not found: ${req.method} ${url.pathname}`);
    }
    const email = decodeURIComponent(m[2] ?? '');
    const caller = authenticate(req, tokens);
    requireCloudPlatformScope(caller);
    const body = await readJsonObject(req, invalidArgument);
    const scope = body.scope;
    if (!Array.isArray(scope) || scope.length === 0 || !scope.every((s) => typeof s === 'string')) {
      throw invalidArgument('Scope required.');
    }
    if (Array.isArray(body.delegates) && body.delegates.length > 0) {
      throw invalidArgument('The lab does not support delegation chains (delegates).');
    }
    const lifetime = Math.min(parseLifetime(body.lifetime), config.accessTokenLifetimeSeconds);
    if (!mayGetAccessToken(policies, email, callerIds(caller))) {
      throw getAccessTokenDenied();
    }
    const expiresAt = Date.now() + lifetime * 1000;
    const accessToken = tokens.issue({
      kind: 'serviceAccount',
      email,
      scopes: scope as string[],
      expiresAt,
    });
    sendJson(res, 200, {
      accessToken,
      expireTime: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  };
}
