import type { GoogleAuth } from 'google-auth-library';
import { systemClock, type Clock } from '../base/report.ts';

export type { Clock };

/** AccessToken is an OAuth 2.0 bearer token for Google APIs and the epoch time (ms) at which it expires. */
export interface AccessToken {
  token: string;
  expiresAt: number;
}

/**
 * TokenSource hands out a valid Google access token. Implementations cache the
 * token and renew it before it expires, so callers simply ask again before
 * each request (builds run for hours; tokens live one hour or less).
 */
export interface TokenSource {
  getAccessToken(): Promise<AccessToken>;
}

/** MaskFn registers a secret so the runner never prints it (the action passes `core.setSecret`). */
export type MaskFn = (secret: string) => void;

/** CLOUD_PLATFORM_SCOPE is the OAuth scope requested for every token. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

const FIVE_MINUTES_MS = 5 * 60_000;

/**
 * refreshAt returns when (epoch ms) a token minted at `issuedAt` and expiring
 * at `expiresAt` should be renewed: 5 minutes before expiry, or 10% of its
 * lifetime before expiry when that is shorter (a 5 s lab token is renewed
 * after 4.5 s, a one-hour token after 55 min).
 */
export function refreshAt(issuedAt: number, expiresAt: number): number {
  const lifetime = Math.max(0, expiresAt - issuedAt);
  return expiresAt - Math.min(FIVE_MINUTES_MS, lifetime / 10);
}

/**
 * CachingTokenSource caches the token that `mint` returns and calls `mint`
 * again once the clock passes refreshAt. Concurrent callers share one
 * in-flight refresh. When a refresh fails while the cached token has not yet
 * expired, the cached token is returned and the next call tries again; once
 * it has expired, the refresh error is thrown.
 */
export class CachingTokenSource implements TokenSource {
  readonly #mint: () => Promise<AccessToken>;
  readonly #clock: Clock;
  #cached: { token: AccessToken; renewAt: number } | undefined;
  #pending: Promise<AccessToken> | undefined;

  constructor(mint: () => Promise<AccessToken>, clock: Clock = systemClock) {
    this.#mint = mint;
    this.#clock = clock;
  }

  async getAccessToken(): Promise<AccessToken> {
    const now = this.#clock.now();
    const cached = this.#cached;
    if (cached && now < cached.renewAt) return cached.token;
    try {
      return await this.#refresh();
    } catch (error) {
      if (cached && this.#clock.now() < cached.token.expiresAt) return cached.token;
      throw error;
    }
  }

  #refresh(): Promise<AccessToken> {
    this.#pending ??= (async () => {
      try {
        const issuedAt = this.#clock.now();
        const token = await this.#mint();
        this.#cached = { token, renewAt: refreshAt(issuedAt, token.expiresAt) };
        return token;
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }
}

/** AdcOptions configure AdcTokenSource. */
export interface AdcOptions {
  mask: MaskFn;
  /** Overrides the client library's discovery (tests); default `new GoogleAuth({scopes: cloud-platform})`. */
  auth?: Pick<GoogleAuth, 'getClient'>;
  clock?: Clock;
}

/**
 * AdcTokenSource uses Application Default Credentials through
 * google-auth-library's GoogleAuth (a credentials file from
 * GOOGLE_APPLICATION_CREDENTIALS, e.g. written by google-github-actions/auth,
 * gcloud's user credentials, or the metadata server). The library refreshes
 * its own token 5 minutes before expiry; every new token is masked before it
 * is returned. A token without a known expiry is treated as valid for 5
 * minutes and then asked for again.
 */
export class AdcTokenSource implements TokenSource {
  #auth: Pick<GoogleAuth, 'getClient'> | undefined;
  readonly #mask: MaskFn;
  readonly #clock: Clock;
  readonly #masked = new Set<string>();

  constructor(options: AdcOptions) {
    this.#auth = options.auth;
    this.#mask = options.mask;
    this.#clock = options.clock ?? systemClock;
  }

  async getAccessToken(): Promise<AccessToken> {
    let token: string | null | undefined;
    let expiry: number | null | undefined;
    try {
      // google-auth-library loads on first use: a Workload Identity Federation build never needs it.
      if (!this.#auth) {
        const { GoogleAuth } = await import('google-auth-library');
        this.#auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
      }
      const client = await this.#auth.getClient();
      token = (await client.getAccessToken()).token;
      expiry = client.credentials.expiry_date;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Application Default Credentials failed: ${reason}; set workload_identity_provider, ` +
          'or run google-github-actions/auth (or `gcloud auth application-default login`) first',
        { cause: error },
      );
    }
    if (!token) throw new Error('Application Default Credentials returned no access token');
    if (!this.#masked.has(token)) {
      this.#mask(token);
      this.#masked.add(token);
    }
    return { token, expiresAt: expiry ?? this.#clock.now() + FIVE_MINUTES_MS };
  }
}
