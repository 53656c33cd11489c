// oidc-claims.ts: the claims of a GitHub Actions OIDC ID token (pure).
// Source: https://docs.github.com/en/actions/reference/security/oidc
// (claim names, `sub` forms, default audience) and the claims that
// github/actions-oidc-debugger prints (timing: nbf = iat - 300).

/**
 * ClaimOverrides replace claims of an ID token: a value sets the claim,
 * `null` removes it (to build tokens that lack a claim). Overrides of iss,
 * aud, iat, nbf, exp, jti and sub win over the generated values.
 */
export type ClaimOverrides = Record<string, unknown>;

/** TokenTiming gives the issuer, audience and times (Unix seconds) of one token. */
export interface TokenTiming {
  issuer: string;
  /** audience is the requested audience; undefined: GitHub's default `https://github.com/OWNER`. */
  audience: string | undefined;
  nowSeconds: number;
  lifetimeSeconds: number;
  jti: string;
}

/** NOT_BEFORE_SKEW_SECONDS is how far nbf lies before iat in GitHub's tokens. */
export const NOT_BEFORE_SKEW_SECONDS = 300;

/**
 * githubSubject computes GitHub's default `sub` claim from the other claims:
 * `repo:OWNER/REPO:environment:ENV` when the job has an environment,
 * `repo:OWNER/REPO:pull_request` for pull_request events, else
 * `repo:OWNER/REPO:ref:REF` (refs/heads/... or refs/tags/...).
 */
export function githubSubject(claims: Record<string, unknown>): string {
  const repo = String(claims.repository ?? '');
  if (typeof claims.environment === 'string' && claims.environment !== '') {
    return `repo:${repo}:environment:${claims.environment}`;
  }
  if (claims.event_name === 'pull_request') return `repo:${repo}:pull_request`;
  return `repo:${repo}:ref:${String(claims.ref ?? '')}`;
}

/**
 * githubClaims builds the payload of one ID token: the default claims, then
 * each layer of overrides in order, then the generated standard claims (iss,
 * aud, iat, nbf, exp, jti, sub) unless a layer set them; `null` values are
 * removed last.
 */
export function githubClaims(
  defaults: Record<string, string>,
  layers: ClaimOverrides[],
  timing: TokenTiming,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...defaults };
  for (const layer of layers) Object.assign(merged, layer);
  const iat = timing.nowSeconds;
  const generated: Record<string, unknown> = {
    jti: timing.jti,
    sub: githubSubject(merged),
    aud: timing.audience ?? `https://github.com/${String(merged.repository_owner ?? '')}`,
    iss: timing.issuer,
    nbf: iat - NOT_BEFORE_SKEW_SECONDS,
    exp: iat + timing.lifetimeSeconds,
    iat,
  };
  const payload: Record<string, unknown> = { ...generated, ...merged };
  for (const [k, v] of Object.entries(payload)) if (v === null) delete payload[k];
  return payload;
}
