import type { KubeConfig, User } from '@kubernetes/client-node';
import { PooledKubeConfig } from '../kube/config.ts';
import type { ClusterRef } from '../inputs/formats.ts';

export type { ClusterRef };
import type { TokenSource } from './auth.ts';
import { requestJson } from './http.ts';
import type { FetchLike, RetryOptions } from './http.ts';

/** ClusterInfo is what a kubeconfig needs: `https://HOST[:PORT]` and the cluster CA bundle (base64 PEM). */
export interface ClusterInfo {
  endpoint: string;
  caData: string;
}

interface GkeCluster {
  endpoint?: string;
  masterAuth?: { clusterCaCertificate?: string };
  status?: string;
}

/** clusterResourceName returns `projects/P/locations/L/clusters/C`, the GKE API's name for the cluster. */
export function clusterResourceName(ref: ClusterRef): string {
  return `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
}

/**
 * getCluster reads a cluster's control-plane endpoint and CA through the GKE
 * API `GET {endpoint}v1/projects/{p}/locations/{l}/clusters/{c}`
 * (projects.locations.clusters.get, GKE REST v1; `endpoint` is the base URL
 * ending with `/`, e.g. `https://container.googleapis.com/`). Retries 429/5xx.
 * Throws GoogleApiError naming the cluster's resource name; for 403 it names
 * the permission `container.clusters.get`, for 404 the inputs to check.
 */
export async function getCluster(
  ref: ClusterRef,
  tokenSource: TokenSource,
  endpoint: string,
  fetchFn?: FetchLike,
  retry?: RetryOptions,
): Promise<ClusterInfo> {
  const name = clusterResourceName(ref);
  for (const [field, value] of Object.entries(ref)) {
    if (!value || /[/?#\s]/.test(value)) {
      throw new Error(
        `invalid cluster ${field} "${value}" in ${name}: use a plain name without "/"`,
      );
    }
  }
  const { token } = await tokenSource.getAccessToken();
  const cluster = await requestJson<GkeCluster>({
    step: `GKE clusters.get ${name}`,
    url: `${endpoint}v1/${name}`,
    method: 'GET',
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    secrets: [token],
    hint: (status) =>
      status === 403
        ? `the caller needs permission container.clusters.get on ${name} (e.g. roles/container.clusterViewer)`
        : status === 404
          ? `cluster ${name} was not found: check project_id, location and cluster`
          : undefined,
    fetch: fetchFn,
    retry,
  });
  const host = cluster.endpoint;
  const caData = cluster.masterAuth?.clusterCaCertificate;
  if (!host || !caData) {
    throw new Error(
      `GKE clusters.get ${name} returned no ${host ? 'masterAuth.clusterCaCertificate' : 'endpoint'}` +
        ` (cluster status ${cluster.status ?? 'unknown'}): wait until the cluster is RUNNING`,
    );
  }
  return { endpoint: /^https?:\/\//.test(host) ? host : `https://${host}`, caData };
}

const AUTH_PROVIDER = 'kbuild-token-source';

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

/**
 * TokenSourceAuthenticator is a client-node Authenticator: client-node 2.x
 * calls `applyAuthentication` before every request it makes (generated API
 * calls through applySecurityAuthentication, Watch and Log through the same,
 * exec/attach websockets through applyToHTTPSOptions), so each request
 * carries a token fresh from the TokenSource and a build may run for hours.
 */
class TokenSourceAuthenticator implements Authenticator {
  readonly #source: TokenSource;
  constructor(source: TokenSource) {
    this.#source = source;
  }
  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: string } | undefined)?.name === AUTH_PROVIDER;
  }
  async applyAuthentication(
    _user: User,
    opts: Parameters<Authenticator['applyAuthentication']>[1],
  ): Promise<void> {
    const { token } = await this.#source.getAccessToken();
    // client-node always passes a plain header object here (config.js applyAuthorizationHeader).
    const headers = (opts.headers ??= {}) as Record<string, string>;
    headers.Authorization = `Bearer ${token}`;
  }
}

/**
 * kubeConfigFor builds an in-memory KubeConfig for the cluster whose user
 * has no static token: a custom authenticator (client-node's
 * `addAuthenticator`, matched by the user's auth-provider name) asks the
 * TokenSource for a token on every request, so the token is renewed before
 * it expires. Nothing is written to disk.
 */
export function kubeConfigFor(cluster: ClusterInfo, tokenSource: TokenSource): KubeConfig {
  const kc = new PooledKubeConfig();
  kc.addAuthenticator(new TokenSourceAuthenticator(tokenSource));
  kc.loadFromOptions({
    clusters: [
      { name: 'gke', server: cluster.endpoint, caData: cluster.caData, skipTLSVerify: false },
    ],
    users: [{ name: 'kbuild', authProvider: { name: AUTH_PROVIDER, config: {} } }],
    contexts: [{ name: 'kbuild', cluster: 'gke', user: 'kbuild' }],
    currentContext: 'kbuild',
  });
  return kc;
}

/**
 * kubeConfigFromFile loads the kubeconfig at `path` (the `kubeconfig` input,
 * for any cluster such as KinD); its own auth (token, client certificate,
 * exec plugin) is used as is. Throws naming the path when it cannot be read
 * or has no current context.
 */
export function kubeConfigFromFile(path: string): KubeConfig {
  const kc = new PooledKubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot load kubeconfig "${path}": ${reason}`, { cause: error });
  }
  if (!kc.getCurrentCluster()) {
    throw new Error(
      `kubeconfig "${path}" has no current context with a cluster: set current-context`,
    );
  }
  return kc;
}
