// sts.ts: the Security Token Service stand-in, `POST /v1/token` (RFC 8693
// token exchange as Google's STS does it).
// Sources: https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token
// (fields, camelCase JSON or RFC 8693 form fields, answer
// `{access_token, issued_token_type, token_type, expires_in}`), RFC 6749
// section 5.2 (error answer `{"error","error_description"}`, status 400),
// https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers
// (OIDC token rules: signed, iss = the provider's issuer, aud accepted,
// exp within 24 h of iat, attribute condition).
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import type { GoogleLabConfig } from './config.ts';
import { errorText, HttpError, readBody, sendJson } from './http.ts';
import type { Handler } from './http.ts';
import type { TokenStore } from './tokens.ts';
import {
  acceptedAudiences,
  conditionHolds,
  mapAttributes,
  MappingError,
  parseStsAudience,
  principalOf,
  principalSetsOf,
} from './wif.ts';
import type { PoolRef } from './wif.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TOKEN_TYPES = [
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
];
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const MAX_SUBJECT_TOKEN_LIFETIME_SECONDS = 24 * 3600;

/** oauthError is an RFC 6749 section 5.2 error answer. */
export function oauthError(error: string, description: string, status = 400): HttpError {
  return new HttpError(status, { error, error_description: description });
}

/** StsRequest is the token exchange request, whatever its encoding. */
export interface StsRequest {
  grantType: string;
  audience: string;
  scope: string;
  requestedTokenType: string;
  subjectToken: string;
  subjectTokenType: string;
}

/**
 * parseStsRequest reads a form (RFC 8693 snake_case) or JSON body (Google's
 * camelCase, snake_case also accepted); a missing field is ''.
 */
export function parseStsRequest(contentType: string, body: string): StsRequest {
  let get: (snake: string, camel: string) => unknown;
  if (contentType.startsWith('application/json')) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (err) {
      throw oauthError('invalid_request', `Invalid JSON payload: ${errorText(err)}`);
    }
    if (typeof json !== 'object' || json === null) {
      throw oauthError('invalid_request', 'Invalid JSON payload: want an object');
    }
    const o = json as Record<string, unknown>;
    get = (snake, camel) => o[camel] ?? o[snake];
  } else {
    const form = new URLSearchParams(body);
    get = (snake) => form.get(snake);
  }
  const field = (snake: string, camel: string): string => {
    const v = get(snake, camel);
    return typeof v === 'string' ? v : '';
  };
  return {
    grantType: field('grant_type', 'grantType'),
    audience: field('audience', 'audience'),
    scope: field('scope', 'scope'),
    requestedTokenType: field('requested_token_type', 'requestedTokenType'),
    subjectToken: field('subject_token', 'subjectToken'),
    subjectTokenType: field('subject_token_type', 'subjectTokenType'),
  };
}

/**
 * createStsHandler exchanges a GitHub OIDC token for a federated access
 * token. The provider's issuer is `workloadIdentity.issuerUri` or, when
 * empty, `defaultIssuer()`; its keys come from the issuer's discovery
 * document and JWKS over HTTP, as Google fetches them.
 */
export function createStsHandler(
  config: GoogleLabConfig,
  tokens: TokenStore,
  defaultIssuer: () => string,
): Handler {
  const wi = config.workloadIdentity;
  const ref: PoolRef = {
    projectNumber: config.projectNumber,
    pool: wi.pool,
    provider: wi.provider,
  };
  const issuer = (): string => wi.issuerUri || defaultIssuer();
  let keySet: ReturnType<typeof createRemoteJWKSet> | undefined;
  const keys = async (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    if (keySet === undefined) {
      const res = await fetch(`${issuer()}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`discovery answered ${res.status}`);
      const doc = (await res.json()) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri');
      keySet = createRemoteJWKSet(new URL(doc.jwks_uri), { cooldownDuration: 1000 });
    }
    return keySet;
  };

  return async (req, res, url) => {
    if (url.pathname !== '/v1/token') {
      throw new HttpError(404, { error: 'not_found', error_description: url.pathname });
    }
    if (req.method !== 'POST') throw oauthError('invalid_request', 'Use POST.', 405);
    const r = parseStsRequest(contentTypeOf(req), (await readBody(req)).toString('utf8'));
    if (r.grantType === '') throw oauthError('invalid_request', 'Missing grant_type.');
    if (r.grantType !== TOKEN_EXCHANGE) {
      throw oauthError('unsupported_grant_type', `Unsupported grant_type: ${r.grantType}`);
    }
    if (r.requestedTokenType !== ACCESS_TOKEN_TYPE) {
      throw oauthError(
        'invalid_request',
        `Invalid value for "requested_token_type": want ${ACCESS_TOKEN_TYPE}.`,
      );
    }
    if (!SUBJECT_TOKEN_TYPES.includes(r.subjectTokenType)) {
      throw oauthError(
        'invalid_request',
        `Invalid value for "subject_token_type": want one of ${SUBJECT_TOKEN_TYPES.join(', ')}.`,
      );
    }
    if (r.subjectToken === '') throw oauthError('invalid_request', 'Missing subject_token.');
    const target = parseStsAudience(r.audience);
    if (
      target === undefined ||
      target.projectNumber !== ref.projectNumber ||
      target.pool !== ref.pool ||
      target.provider !== ref.provider
    ) {
      throw oauthError(
        'invalid_target',
        'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
      );
    }
    const jwks = await keys().catch((err: unknown) => {
      throw oauthError('invalid_grant', `Unable to fetch the issuer's JWKS: ${errorText(err)}`);
    });
    const claims = await verifySubjectToken(r.subjectToken, jwks, {
      issuer: issuer(),
      audiences: acceptedAudiences(ref, wi.allowedAudiences),
    });
    let mapped;
    try {
      mapped = mapAttributes(wi.attributeMapping, claims);
    } catch (err) {
      if (err instanceof MappingError) throw oauthError('invalid_request', err.message);
      throw err;
    }
    if (!conditionHolds(wi.attributeCondition, claims, mapped)) {
      throw oauthError(
        'unauthorized_client',
        'The given credential is rejected by the attribute condition.',
      );
    }
    const lifetime = config.accessTokenLifetimeSeconds;
    const accessToken = tokens.issue({
      kind: 'federated',
      principal: principalOf(ref, mapped.subject),
      principalSets: principalSetsOf(ref, mapped),
      attributes: mapped.attributes,
      scopes: r.scope === '' ? [CLOUD_PLATFORM] : r.scope.split(/\s+/).filter(Boolean),
      expiresAt: Date.now() + lifetime * 1000,
    });
    sendJson(res, 200, {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: lifetime,
    });
  };
}

function contentTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? 'application/x-www-form-urlencoded').toLowerCase();
}

/**
 * verifySubjectToken checks an OIDC ID token like Google's STS: a kid and an
 * asymmetric signature from the issuer's JWKS, iss, aud among `audiences`,
 * not expired nor before nbf, and exp no more than 24 h after iat. Throws
 * an `invalid_grant` HttpError that says which check failed.
 */
export async function verifySubjectToken(
  token: string,
  keys: ReturnType<typeof createRemoteJWKSet>,
  want: { issuer: string; audiences: string[] },
): Promise<Record<string, unknown>> {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw oauthError('invalid_grant', 'Unable to parse the ID Token.');
  }
  if (header.alg === 'none' || header.alg === undefined) {
    throw oauthError('invalid_grant', 'The ID Token is not signed (alg "none" is not accepted).');
  }
  if (header.kid === undefined) {
    throw oauthError('invalid_grant', 'The ID Token header has no "kid".');
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'],
      issuer: want.issuer,
      audience: want.audiences,
      requiredClaims: ['exp', 'iat'],
    }));
  } catch (err) {
    throw oauthError('invalid_grant', describeVerifyError(err, token, want));
  }
  if ((payload.exp ?? 0) - (payload.iat ?? 0) > MAX_SUBJECT_TOKEN_LIFETIME_SECONDS) {
    throw oauthError('invalid_grant', 'The ID Token lifetime (exp - iat) is more than 24 hours.');
  }
  return payload as Record<string, unknown>;
}

function describeVerifyError(
  err: unknown,
  token: string,
  want: { issuer: string; audiences: string[] },
): string {
  const claims = unverifiedClaims(token);
  if (err instanceof errors.JWTExpired) {
    return `The ID Token expired at ${String(claims.exp)} (now ${Math.floor(Date.now() / 1000)}).`;
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') {
      return `The issuer in ID Token [${String(claims.iss)}] does not match the expected issuer [${want.issuer}].`;
    }
    if (err.claim === 'aud') {
      return `The audience in ID Token [${String(claims.aud)}] does not match the expected audience.`;
    }
    if (err.claim === 'nbf') return `The ID Token is not valid before ${String(claims.nbf)}.`;
    return `The ID Token claim "${err.claim}" is invalid: ${err.reason}.`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'Invalid ID Token signature.';
  if (err instanceof errors.JWKSNoMatchingKey) {
    return "The ID Token's kid matches no key of the issuer's JWKS.";
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'The ID Token algorithm is not accepted.';
  if (err instanceof errors.JOSEError && /^ERR_JW[ST]_INVALID$/.test(err.code)) {
    return 'Unable to parse the ID Token.';
  }
  return `Unable to verify the ID Token: ${errorText(err)}`;
}

function unverifiedClaims(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token);
  } catch {
    return {};
  }
}
