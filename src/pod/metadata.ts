/**
 * metadata.ts: the pod program's credentials, from the GKE metadata server (Workload Identity
 * Federation for GKE): `GET http://$GCE_METADATA_HOST/computeMetadata/v1/...` with
 * `Metadata-Flavor: Google` (GKE docs "Authenticate to Google Cloud APIs from GKE workloads";
 * Compute Engine docs "About VM metadata"). The server may need a few seconds to answer on a new
 * pod, so network errors and 5xx are retried (google/http.ts withRetry).
 */
import { exchange, GoogleApiError, withRetry } from '../core/google/http.ts';

/** DEFAULT_METADATA_HOST is the metadata server's name inside GKE (and Compute Engine). */
export const DEFAULT_METADATA_HOST = 'metadata.google.internal';

/** MetadataServer reads one pod's identity and tokens from the GKE metadata server. */
export class MetadataServer {
  readonly #root: string;
  #token: Promise<{ value: string; expiresAt: number }> | undefined;
  #expiresAt = 0;

  /** host: `GCE_METADATA_HOST` (`host:port`), default DEFAULT_METADATA_HOST. */
  constructor(host: string | undefined) {
    this.#root = `http://${host || DEFAULT_METADATA_HOST}/computeMetadata/v1`;
  }

  /** get answers the text of `computeMetadata/v1/<path>`; throws GoogleApiError with the server's answer. */
  get(path: string): Promise<string> {
    const step = `GKE metadata server GET ${path}`;
    return withRetry(
      async () => {
        const { response, text } = await exchange(
          fetch,
          `${this.#root}/${path}`,
          { headers: { 'metadata-flavor': 'Google' } },
          step,
          [],
        );
        if (!response.ok) {
          const detail = text.trim().slice(0, 500) || '(empty response body)';
          throw new GoogleApiError(step, response.status, detail);
        }
        return text.trim();
      },
      { policy: { attempts: 6, baseMs: 500, capMs: 4000 } },
      step,
    );
  }

  /** email is the Google identity of the pod: a service account email, or `PROJECT.svc.id.goog`. */
  email(): Promise<string> {
    return this.get('instance/service-accounts/default/email');
  }

  /**
   * authorization answers `Bearer <token>`, fetching a new token within 60 s of expiry; callers
   * that ask at the same time share one request. A failed request is not remembered.
   */
  async authorization(): Promise<string> {
    if (!this.#token || Date.now() > this.#expiresAt - 60_000) {
      const fetching = this.get('instance/service-accounts/default/token').then((text) => {
        const t = JSON.parse(text) as { access_token?: string; expires_in?: number };
        if (!t.access_token) throw new Error('the GKE metadata server answered no access_token');
        return { value: t.access_token, expiresAt: Date.now() + (t.expires_in ?? 300) * 1000 };
      });
      this.#token = fetching;
      this.#expiresAt = Number.MAX_SAFE_INTEGER;
      fetching.then(
        (t) => (this.#expiresAt = t.expiresAt),
        () => {
          if (this.#token === fetching) this.#token = undefined;
        },
      );
    }
    return `Bearer ${(await this.#token).value}`;
  }
}
