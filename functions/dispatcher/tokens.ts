// tokens.ts: verification of the caller's GitHub Actions OIDC token (docs/design.md, "The dispatcher") with
// `jose`: signature against the issuer's JWKS (found through OpenID Connect Discovery 1.0, cached,
// refetched by jose on an unknown kid), RS256 only, a kid required, iss, aud, exp and nbf.
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';

/** GITHUB_ISSUER is GitHub's OIDC issuer for Actions (GitHub docs "OpenID Connect reference"). */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

/** ALLOWED_ALGORITHMS: GitHub signs with RS256 (its discovery document's id_token_signing_alg_values_supported). */
export const ALLOWED_ALGORITHMS = ['RS256'] as const;

/** GitHubClaims are the verified claims the dispatcher uses (GitHub docs "OpenID Connect reference"). */
export interface GitHubClaims {
  repository: string;
  repositoryId: string;
  repositoryOwner: string;
  repositoryOwnerId: string;
  runId: string;
  runAttempt: string;
  ref: string;
  eventName: string;
  sha: string;
  workflow?: string;
  actor?: string;
  /** baseRef: a pull request's base branch (claim `base_ref`), for the build cache's read scopes. */
  baseRef?: string;
}

/** TokenError is a refused token (HTTP 401): `reason` is for people, `code` for tests and logs. */
export class TokenError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
  }
}

/** IssuerUnavailableError: the issuer's discovery document or JWKS could not be fetched (HTTP 503). */
export class IssuerUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IssuerUnavailableError';
  }
}

/** TokenVerifierOptions: the expected issuer and audience; keys or fetch for tests. */
export interface TokenVerifierOptions {
  /** issuer is the `iss` to expect, without a trailing `/` (default GITHUB_ISSUER). */
  issuer: string;
  /** audience is the `aud` to expect: the dispatcher's own URL (also accepted with a trailing `/`). */
  audience: string;
  /** keys replaces discovery (tests pass jose's createLocalJWKSet). */
  keys?: JWTVerifyGetKey;
  /** fetch for discovery and the JWKS (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** clockToleranceSeconds for exp/nbf (default 5). */
  clockToleranceSeconds?: number;
}

const JOSE_REASONS: Readonly<Record<string, string>> = {
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad_signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'alg_not_allowed',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown_kid',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'ambiguous_kid',
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
};

const NUMERIC = /^\d+$/;

/**
 * TokenVerifier verifies GitHub OIDC tokens. The discovery document
 * (`{issuer}/.well-known/openid-configuration`) is fetched once and must name the same issuer;
 * its `jwks_uri` feeds jose's createRemoteJWKSet (keys cached 10 min, refetched on an unknown kid
 * after a 30 s cooldown). A failed discovery is retried on the next request.
 */
export class TokenVerifier {
  readonly #o: TokenVerifierOptions;
  #keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(options: TokenVerifierOptions) {
    this.#o = { ...options, issuer: options.issuer.replace(/\/+$/, '') };
    if (options.keys) this.#keys = Promise.resolve(options.keys);
  }

  /**
   * verify answers the claims of a valid token, or throws TokenError (401: no kid, an algorithm
   * other than RS256 including `none` and HS*, bad signature, wrong iss or aud, expired, not yet
   * valid, a missing GitHub claim) or IssuerUnavailableError (503).
   */
  async verify(token: string): Promise<GitHubClaims> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenError('malformed', 'the bearer token is not a JWT');
    }
    if (!ALLOWED_ALGORITHMS.includes(header.alg as 'RS256')) {
      throw new TokenError(
        'alg_not_allowed',
        `token algorithm ${JSON.stringify(header.alg ?? null)} is not allowed: only RS256`,
      );
    }
    if (typeof header.kid !== 'string' || header.kid === '') {
      throw new TokenError('no_kid', 'the token header has no kid');
    }
    const keys = await this.#jwks();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.#o.issuer,
        audience: [this.#o.audience, `${this.#o.audience.replace(/\/+$/, '')}/`],
        algorithms: [...ALLOWED_ALGORITHMS],
        requiredClaims: ['exp', 'iat'],
        clockTolerance: this.#o.clockToleranceSeconds ?? 5,
      }));
    } catch (err) {
      throw mapJoseError(err);
    }
    return claimsOf(payload);
  }

  #jwks(): Promise<JWTVerifyGetKey> {
    this.#keys ??= this.#discover().catch((err: unknown) => {
      this.#keys = undefined;
      throw err;
    });
    return this.#keys;
  }

  async #discover(): Promise<JWTVerifyGetKey> {
    const fetchFn = this.#o.fetch ?? globalThis.fetch;
    const url = `${this.#o.issuer}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetchFn(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new IssuerUnavailableError(
        `cannot read the OIDC discovery document ${url}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (doc.issuer !== this.#o.issuer || typeof doc.jwks_uri !== 'string') {
      throw new IssuerUnavailableError(
        `the OIDC discovery document ${url} names issuer ${JSON.stringify(doc.issuer)} (expected ${this.#o.issuer}) or has no jwks_uri`,
      );
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), {
      ...(this.#o.fetch ? { [customFetch]: this.#o.fetch } : {}),
    });
  }
}

/** mapJoseError turns a jose error into a TokenError (refusals) or IssuerUnavailableError. */
function mapJoseError(err: unknown): Error {
  const e = err as { code?: string; claim?: string; message?: string };
  if (e?.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const claim = e.claim ?? 'claim';
    return new TokenError(`bad_${claim}`, `token claim "${claim}" is not acceptable: ${e.message}`);
  }
  const code = e?.code ? JOSE_REASONS[e.code] : undefined;
  if (code) return new TokenError(code, `token refused (${code}): ${e.message}`);
  return new IssuerUnavailableError(`cannot verify the token: ${e?.message ?? String(err)}`, {
    cause: err,
  });
}

/** claimsOf checks and picks the GitHub claims the dispatcher needs; a missing one is a TokenError. */
function claimsOf(p: JWTPayload): GitHubClaims {
  const str = (name: string, numeric = false): string => {
    const v = p[name];
    const s = typeof v === 'number' ? String(v) : v;
    if (typeof s !== 'string' || s === '' || (numeric && !NUMERIC.test(s))) {
      throw new TokenError(
        'missing_claim',
        `the token lacks a valid "${name}" claim: is it a GitHub Actions OIDC token?`,
      );
    }
    return s;
  };
  const opt = (name: string): string | undefined =>
    typeof p[name] === 'string' && p[name] !== '' ? (p[name] as string) : undefined;
  const claims: GitHubClaims = {
    repository: str('repository'),
    repositoryId: str('repository_id', true),
    repositoryOwner: str('repository_owner'),
    repositoryOwnerId: str('repository_owner_id', true),
    runId: str('run_id', true),
    runAttempt: str('run_attempt', true),
    ref: opt('ref') ?? '',
    eventName: opt('event_name') ?? '',
    sha: opt('sha') ?? '',
  };
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(claims.repository)) {
    throw new TokenError(
      'missing_claim',
      `the token's "repository" claim ${JSON.stringify(claims.repository)} is not owner/repo`,
    );
  }
  const workflow = opt('workflow');
  const actor = opt('actor');
  if (workflow) claims.workflow = workflow;
  if (actor) claims.actor = actor;
  const baseRef = opt('base_ref');
  if (baseRef) claims.baseRef = baseRef;
  return claims;
}
