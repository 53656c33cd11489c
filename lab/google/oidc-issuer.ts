// oidc-issuer.ts: the GitHub Actions OIDC issuer stand-in (discovery, JWKS,
// the runner's ID token endpoint) plus the lab's minting routes.
//
// Protocol sources:
// - discovery and JWKS: OpenID Connect Discovery 1.0 and GitHub's
//   https://token.actions.githubusercontent.com/.well-known/openid-configuration
// - the ID token request: @actions/core `getIDToken(audience)` sends
//   `GET ${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${encodeURIComponent(aud)}`
//   with `Authorization: Bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}` and reads
//   `{"value": "<jwt>"}`; the runner's URL already carries `?api-version=2.0`.
import { randomBytes, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import type { CryptoKey, JSONWebKeySet, JWK } from 'jose';
import type { OidcConfig } from './config.ts';
import { bearerToken, HttpError, readJsonObject, sendJson } from './http.ts';
import type { Handler } from './http.ts';
import { githubClaims } from './oidc-claims.ts';
import type { ClaimOverrides } from './oidc-claims.ts';

/**
 * MintOptions describe one ID token, good or deliberately bad:
 * - claims: overrides (null removes a claim; iss/aud/exp/... may be set to
 *   build expired or misaddressed tokens);
 * - audience: the `aud` (default GitHub's `https://github.com/OWNER`);
 * - key: 'main' (published in the JWKS) or 'other' (a key that is not
 *   published, still announced under the main key's kid);
 * - kid: the header's kid (default the main key's; null: no kid);
 * - alg: 'RS256' or 'none' (an unsigned token, RFC 7519 section 6).
 */
export interface MintOptions {
  claims?: ClaimOverrides;
  audience?: string;
  key?: 'main' | 'other';
  kid?: string | null;
  alg?: 'RS256' | 'none';
}

/** OidcIssuer is the started issuer: its handler and what tests need of it. */
export interface OidcIssuer {
  handler: Handler;
  /** requestToken is the ACTIONS_ID_TOKEN_REQUEST_TOKEN that also guards /_lab routes. */
  requestToken: string;
  /** mint signs one ID token (see MintOptions). */
  mint(options: MintOptions, layers?: ClaimOverrides[]): Promise<string>;
  /** jwks is the published key set. */
  jwks(): JSONWebKeySet;
}

/** ID_TOKEN_PATH is the path of the runner's ID token endpoint stand-in. */
export const ID_TOKEN_PATH = '/_apis/idtoken';

/** idTokenRequestUrl is the ACTIONS_ID_TOKEN_REQUEST_URL for an issuer base URL. */
export function idTokenRequestUrl(baseUrl: string): string {
  return `${baseUrl}${ID_TOKEN_PATH}?api-version=2.0`;
}

/**
 * createOidcIssuer makes fresh RSA keys (in memory) and the issuer's routes.
 * `issuer()` is read per request because an ephemeral port is only known
 * after listening.
 */
export async function createOidcIssuer(
  config: OidcConfig,
  issuer: () => string,
): Promise<OidcIssuer> {
  const main = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = await exportJWK(main.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const published: JSONWebKeySet = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };
  const requestToken = config.requestToken || randomBytes(32).toString('base64url');
  // Request tokens and the claim overrides their ID tokens carry.
  const requestTokens = new Map<string, ClaimOverrides>([[requestToken, {}]]);

  const mint = async (options: MintOptions, layers: ClaimOverrides[] = []): Promise<string> => {
    const payload = githubClaims(config.claims, [...layers, options.claims ?? {}], {
      issuer: issuer(),
      audience: options.audience,
      nowSeconds: Math.floor(Date.now() / 1000),
      lifetimeSeconds: config.tokenLifetimeSeconds,
      jti: randomUUID(),
    });
    if (options.alg === 'none') return new UnsecuredJWT(payload).encode();
    const headerKid = options.kid === undefined ? kid : options.kid;
    const key: CryptoKey = options.key === 'other' ? other.privateKey : main.privateKey;
    return new SignJWT(payload)
      .setProtectedHeader({
        alg: 'RS256',
        typ: 'JWT',
        ...(headerKid === null ? {} : { kid: headerKid }),
      })
      .sign(key);
  };

  const labGuard = (token: string | undefined): void => {
    if (token !== requestToken) {
      throw new HttpError(401, { message: 'lab routes need the main request token as Bearer' });
    }
  };

  const handler: Handler = async (req, res, url) => {
    const base = issuer();
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /.well-known/openid-configuration') {
      return sendJson(res, 200, discoveryDocument(base));
    }
    if (route === 'GET /.well-known/jwks') return sendJson(res, 200, published);
    if (route === `GET ${ID_TOKEN_PATH}`) {
      const token = bearerToken(req);
      const layer = token === undefined ? undefined : requestTokens.get(token);
      if (layer === undefined) {
        throw new HttpError(401, { message: 'Bad credentials: unknown or missing request token' });
      }
      if (url.searchParams.get('api-version') !== '2.0') {
        throw new HttpError(400, { message: 'api-version=2.0 is required' });
      }
      const audience = url.searchParams.get('audience') ?? undefined;
      return sendJson(res, 200, { value: await mint({ audience }, [layer]) });
    }
    if (route === 'POST /_lab/request-tokens') {
      labGuard(bearerToken(req));
      const body = await readJsonObject(req, labBadRequest);
      const claims = claimsOf(body.claims);
      const derived = randomBytes(32).toString('base64url');
      requestTokens.set(derived, claims);
      const self = `http://${req.headers.host ?? '127.0.0.1'}`;
      return sendJson(res, 201, { requestToken: derived, requestUrl: idTokenRequestUrl(self) });
    }
    if (route === 'POST /_lab/mint') {
      labGuard(bearerToken(req));
      const body = await readJsonObject(req, labBadRequest);
      return sendJson(res, 200, { value: await mint(mintOptionsOf(body)) });
    }
    throw new HttpError(404, { message: `no route ${route}` });
  };

  return { handler, requestToken, mint, jwks: () => published };
}

/** discoveryDocument is the issuer's OpenID configuration, shaped like GitHub's. */
export function discoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks`,
    subject_types_supported: ['public', 'pairwise'],
    response_types_supported: ['id_token'],
    claims_supported: [
      'sub',
      'aud',
      'exp',
      'iat',
      'iss',
      'jti',
      'nbf',
      'ref',
      'sha',
      'repository',
      'repository_id',
      'repository_owner',
      'repository_owner_id',
      'run_id',
      'run_number',
      'run_attempt',
      'actor',
      'actor_id',
      'workflow',
      'workflow_ref',
      'head_ref',
      'base_ref',
      'event_name',
      'ref_type',
      'ref_protected',
      'environment',
      'job_workflow_ref',
      'repository_visibility',
      'runner_environment',
    ],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid'],
  };
}

function labBadRequest(why: string): HttpError {
  return new HttpError(400, { message: why });
}

function claimsOf(v: unknown): ClaimOverrides {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw labBadRequest('claims must be a JSON object');
  }
  return v as ClaimOverrides;
}

/** mintOptionsOf validates the body of POST /_lab/mint. */
function mintOptionsOf(body: Record<string, unknown>): MintOptions {
  const { audience, key, kid, alg } = body;
  if (audience !== undefined && typeof audience !== 'string') {
    throw labBadRequest('audience must be a string');
  }
  if (key !== undefined && key !== 'main' && key !== 'other') {
    throw labBadRequest('key must be "main" or "other"');
  }
  if (kid !== undefined && kid !== null && typeof kid !== 'string') {
    throw labBadRequest('kid must be a string or null');
  }
  if (alg !== undefined && alg !== 'RS256' && alg !== 'none') {
    throw labBadRequest('alg must be "RS256" or "none"');
  }
  return { claims: claimsOf(body.claims), audience, key, kid, alg };
}
