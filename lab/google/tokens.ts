// tokens.ts: the lab's Google access tokens, opaque and kept in memory only.
import { randomBytes } from 'node:crypto';

/**
 * FederatedIdentity is what an STS federated token stands for: the
 * `principal://` of its google.subject, the `principalSet://` sets it belongs
 * to, and its mapped attributes.
 */
export interface FederatedIdentity {
  kind: 'federated';
  principal: string;
  principalSets: string[];
  attributes: Record<string, string>;
}

/** ServiceAccountIdentity is what a generateAccessToken token stands for. */
export interface ServiceAccountIdentity {
  kind: 'serviceAccount';
  email: string;
}

/** AccessTokenInfo is one issued token: identity, OAuth scopes, expiry (ms since epoch). */
export type AccessTokenInfo = (FederatedIdentity | ServiceAccountIdentity) & {
  scopes: string[];
  expiresAt: number;
};

/**
 * TokenStore issues and looks up opaque bearer tokens (`ya29.lab.` + 32
 * random bytes, base64url). Expired tokens are forgotten; nothing is
 * persisted, so a restart invalidates every token, like a key rotation.
 */
export class TokenStore {
  readonly #tokens = new Map<string, AccessTokenInfo>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** issue stores `info` and returns its new token. */
  issue(info: AccessTokenInfo): string {
    this.#sweep();
    const token = `ya29.lab.${randomBytes(32).toString('base64url')}`;
    this.#tokens.set(token, info);
    return token;
  }

  /** lookup returns the token's info, or undefined when unknown or expired. */
  lookup(token: string | undefined): AccessTokenInfo | undefined {
    if (token === undefined) return undefined;
    const info = this.#tokens.get(token);
    if (info === undefined) return undefined;
    if (info.expiresAt <= this.#now()) {
      this.#tokens.delete(token);
      return undefined;
    }
    return info;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [token, info] of this.#tokens) if (info.expiresAt <= now) this.#tokens.delete(token);
  }
}

/** subjectOf names a token's identity as Kubernetes and IAM see it. */
export function subjectOf(info: FederatedIdentity | ServiceAccountIdentity): string {
  return info.kind === 'serviceAccount' ? info.email : info.principal;
}
