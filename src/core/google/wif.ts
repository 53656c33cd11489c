import { CachingTokenSource, CLOUD_PLATFORM_SCOPE } from './auth.ts';
import type { AccessToken, MaskFn, TokenSource } from './auth.ts';
import { systemClock, type Clock } from '../base/report.ts';
import { redact, requestJson } from './http.ts';
import type { FetchLike, RetryOptions } from './http.ts';
import { parseWorkloadIdentityProvider, validateServiceAccountEmail } from '../inputs/formats.ts';

/** WorkloadIdentityOptions configure WorkloadIdentityTokenSource. */
export interface WorkloadIdentityOptions {
  /** Returns a GitHub OIDC token (a JWT) for the audience; called again for every refresh (`core.getIDToken`). */
  getIdToken: (audience: string) => Promise<string>;
  /** `projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`. */
  workloadIdentityProvider: string;
  /** Service account e-mail to impersonate; when absent the federated STS token is used directly. */
  serviceAccount?: string;
  /** Audience of the GitHub OIDC token; default `https://iam.googleapis.com/` + the provider's resource name. */
  audience?: string;
  /** Base URLs ending with `/`, e.g. `https://sts.googleapis.com/` (see endpointsFromEnv). */
  endpoints: { sts: string; iamcredentials: string };
  /** Lifetime of an impersonated token in seconds (1..3600 by default on Google's side); default 3600. */
  lifetimeSeconds?: number;
  fetch?: FetchLike;
  /** Called with every token (OIDC, federated, access) before anything else can see it. */
  mask: MaskFn;
  clock?: Clock;
  retry?: RetryOptions;
}

interface StsResponse {
  access_token?: string;
  expires_in?: number;
}

interface GenerateAccessTokenResponse {
  accessToken?: string;
  expireTime?: string;
}

/**
 * WorkloadIdentityTokenSource turns the job's GitHub OIDC token into a Google
 * access token through Workload Identity Federation, like
 * google-github-actions/auth: (1) a GitHub OIDC token for the audience
 * `https://iam.googleapis.com/<provider>`; (2) an STS token exchange,
 * `POST {sts}v1/token` with `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`
 * and `subject_token_type=urn:ietf:params:oauth:token-type:jwt` (RFC 8693,
 * form-encoded as RFC 8693 section 2.1 prescribes; Google's STS reference
 * `v1/token`); (3) when `serviceAccount` is set, IAM Credentials
 * `POST {iamcredentials}v1/projects/-/serviceAccounts/{email}:generateAccessToken`
 * with scope cloud-platform (IAM Credentials REST reference). Tokens are
 * cached and renewed before expiry (refreshAt); each renewal asks
 * `getIdToken` again, since GitHub's OIDC tokens last only minutes.
 *
 * Why not google-auth-library's IdentityPoolClient: it would fit the protocol
 * (a `subject_token_supplier`, `token_url` and
 * `service_account_impersonation_url` override the endpoints), but it never
 * hands out the intermediate federated token, so that token cannot be masked
 * before use; its errors do not say which of the two calls failed or carry the
 * HTTP status; and it caches by the wall clock with its own 5-minute margin,
 * so the refresh policy could neither be chosen nor tested with an injected
 * clock. The protocol is two documented POSTs, kept here in one place.
 *
 * Errors are GoogleApiError naming the step (`STS token exchange` or
 * `IAM Credentials generateAccessToken`), the HTTP status, Google's error text
 * and what to check; no token ever appears in a message.
 */
export class WorkloadIdentityTokenSource implements TokenSource {
  readonly #options: WorkloadIdentityOptions;
  readonly #cache: CachingTokenSource;
  readonly #clock: Clock;

  constructor(options: WorkloadIdentityOptions) {
    parseWorkloadIdentityProvider('workload_identity_provider', options.workloadIdentityProvider);
    if (options.serviceAccount !== undefined) {
      validateServiceAccountEmail('service_account', options.serviceAccount);
    }
    const lifetime = options.lifetimeSeconds;
    if (
      lifetime !== undefined &&
      (!Number.isInteger(lifetime) || lifetime <= 0 || lifetime > 43_200)
    ) {
      throw new Error(`invalid token lifetime ${lifetime}: use whole seconds from 1 to 43200`);
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#cache = new CachingTokenSource(() => this.#mint(), this.#clock);
  }

  /** audience is the audience requested for the GitHub OIDC token. */
  get audience(): string {
    return (
      this.#options.audience ??
      `https://iam.googleapis.com/${this.#options.workloadIdentityProvider}`
    );
  }

  getAccessToken(): Promise<AccessToken> {
    return this.#cache.getAccessToken();
  }

  async #mint(): Promise<AccessToken> {
    const o = this.#options;
    let idToken: string;
    try {
      idToken = await o.getIdToken(this.audience);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `GitHub OIDC token request failed: ${reason}; the job needs \`permissions: id-token: write\``,
        { cause: error },
      );
    }
    o.mask(idToken);
    const issuedAt = this.#clock.now();
    const sts = await requestJson<StsResponse>({
      step: 'STS token exchange',
      url: `${o.endpoints.sts}v1/token`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: `//iam.googleapis.com/${o.workloadIdentityProvider}`,
        scope: CLOUD_PLATFORM_SCOPE,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: idToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      }).toString(),
      secrets: [idToken],
      hint: () =>
        `check workload_identity_provider ${o.workloadIdentityProvider}, the OIDC audience ${this.audience}, ` +
        "and that the job's OIDC claims satisfy the provider's attribute condition",
      fetch: o.fetch,
      retry: o.retry,
    });
    const federated = sts.access_token;
    if (!federated) throw new Error('STS token exchange failed: the response has no access_token');
    o.mask(federated);
    if (!o.serviceAccount) {
      return { token: federated, expiresAt: issuedAt + (sts.expires_in ?? 3600) * 1000 };
    }
    return this.#impersonate(federated, [idToken]);
  }

  async #impersonate(federated: string, secrets: string[]): Promise<AccessToken> {
    const o = this.#options;
    const email = o.serviceAccount ?? '';
    const lifetime = o.lifetimeSeconds ?? 3600;
    const issuedAt = this.#clock.now();
    const res = await requestJson<GenerateAccessTokenResponse>({
      step: 'IAM Credentials generateAccessToken',
      url: `${o.endpoints.iamcredentials}v1/projects/-/serviceAccounts/${email}:generateAccessToken`,
      method: 'POST',
      headers: {
        authorization: `Bearer ${federated}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({ scope: [CLOUD_PLATFORM_SCOPE], lifetime: `${lifetime}s` }),
      secrets: [federated, ...secrets],
      hint: (status) =>
        status === 403
          ? `the workload identity pool principal needs roles/iam.workloadIdentityUser on ${email} ` +
            '(permission iam.serviceAccounts.getAccessToken)'
          : status === 404
            ? `service account ${email} was not found: check service_account`
            : undefined,
      fetch: o.fetch,
      retry: o.retry,
    });
    const token = res.accessToken;
    if (!token)
      throw new Error(
        'IAM Credentials generateAccessToken failed: the response has no accessToken',
      );
    o.mask(token);
    const parsed = res.expireTime ? Date.parse(res.expireTime) : Number.NaN;
    if (Number.isNaN(parsed) && res.expireTime) {
      throw new Error(
        `IAM Credentials generateAccessToken failed: bad expireTime "${redact(res.expireTime, [token])}"`,
      );
    }
    return { token, expiresAt: Number.isNaN(parsed) ? issuedAt + lifetime * 1000 : parsed };
  }
}
