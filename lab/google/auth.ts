// auth.ts: bearer authentication of the lab's Google API stand-ins.
import type { IncomingMessage } from 'node:http';
import { bearerToken, googleError } from './http.ts';
import type { AccessTokenInfo, TokenStore } from './tokens.ts';

/**
 * UNAUTHENTICATED_MESSAGE is Google's answer text to a missing, unknown or
 * expired OAuth 2 access token (401 UNAUTHENTICATED).
 */
export const UNAUTHENTICATED_MESSAGE =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

/**
 * authenticate returns the caller's token info, or throws Google's 401
 * (`{"error":{"code":401,"status":"UNAUTHENTICATED",...}}`, with a
 * `WWW-Authenticate: Bearer` header as RFC 6750 section 3 asks).
 */
export function authenticate(req: IncomingMessage, tokens: TokenStore): AccessTokenInfo {
  const token = bearerToken(req);
  const info = tokens.lookup(token);
  if (info === undefined) {
    const err = googleError(401, 'UNAUTHENTICATED', UNAUTHENTICATED_MESSAGE, {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: token === undefined ? 'CREDENTIALS_MISSING' : 'ACCESS_TOKEN_EXPIRED',
          domain: 'googleapis.com',
        },
      ],
    });
    err.headers['www-authenticate'] = 'Bearer realm="https://accounts.google.com/"';
    throw err;
  }
  return info;
}

/** CLOUD_PLATFORM_SCOPES are the OAuth scopes that open IAM Credentials and GKE. */
const CLOUD_PLATFORM_SCOPES = [
  'https://www.googleapis.com/auth/cloud-platform',
  'https://www.googleapis.com/auth/iam',
];

/** requireCloudPlatformScope throws Google's 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT. */
export function requireCloudPlatformScope(info: AccessTokenInfo): void {
  if (info.scopes.some((s) => CLOUD_PLATFORM_SCOPES.includes(s))) return;
  throw googleError(403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', {
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
        domain: 'googleapis.com',
      },
    ],
  });
}
