/**
 * kube/connection.ts: how one API server is reached: its base URL, its TLS options and the
 * credentials of every request. The core's own HTTP layer (kube/rest.ts, kube/stream.ts,
 * kube/watch.ts) asks a KubeConnection for them before each request.
 *
 * Two implementations: `BearerConnection` (below) for a GKE cluster, with the cluster CA and a
 * token fresh from a TokenSource on every request, and `@kubernetes/client-node`'s `KubeConfig`
 * for a kubeconfig file (kube/kubeconfig-file.ts, loaded only then), whose
 * `applyToHTTPSOptions` applies the file's own auth (token, client certificate, exec plugin).
 * Both fit the interface as they are; a KubeConfig needs no adapter.
 */
import type { RequestOptions } from 'node:https';

/** ConnectionCluster: the current cluster of a connection (client-node's `Cluster` fits). */
export interface ConnectionCluster {
  name?: string;
  /** Base URL of the API server: `https://HOST[:PORT][/PATH]` (a Connect Gateway has a path). */
  server: string;
  /** A proxy in front of the API server (kubeconfig `proxy-url`): its agent is kept as it is. */
  proxyUrl?: string;
}

/**
 * RequestTarget: the options a request is made with (node:https `RequestOptions`, or ws's
 * `ClientOptions`, which extend them): applyToHTTPSOptions fills `ca`, `cert`, `key`,
 * `rejectUnauthorized`, `servername`, `headers.Authorization` and may set `agent`.
 */
export type RequestTarget = RequestOptions;

/**
 * KubeConnection is what the core needs of a cluster: the API server (undefined/null without a
 * current cluster) and the options of one request. `applyToHTTPSOptions` is called before every
 * request (plain call, watch, log, exec), so a credential may change between requests; it
 * rejects when no credential can be had (e.g. the TokenSource failed).
 */
export interface KubeConnection {
  getCurrentCluster(): ConnectionCluster | null;
  applyToHTTPSOptions(opts: RequestTarget): Promise<void>;
}

/** BearerConnectionOptions: a server, its CA (base64 PEM; absent: the runtime's trust store), a token source. */
export interface BearerConnectionOptions {
  server: string;
  caData?: string;
  /** Answers the bearer token of one request; called before every request. */
  token: () => Promise<string>;
}

/**
 * BearerConnection reaches an API server with a bearer token asked for on every request, so a
 * build may run for hours while its tokens expire and renew. With `caData` the server's
 * certificate must chain to that CA (`ca` replaces the trust store, as kubectl's
 * `certificate-authority-data` does); without it (GKE's DNS-based endpoint, Connect Gateway,
 * both with publicly trusted certificates) the runtime's trust store checks it. Certificates are
 * always verified. Nothing is written to disk and the token is kept nowhere.
 */
export class BearerConnection implements KubeConnection {
  readonly #o: BearerConnectionOptions;
  readonly #ca: Buffer | undefined;

  constructor(o: BearerConnectionOptions) {
    this.#o = o;
    this.#ca = o.caData !== undefined ? Buffer.from(o.caData, 'base64') : undefined;
  }

  getCurrentCluster(): ConnectionCluster {
    return { name: 'gke', server: this.#o.server };
  }

  /** caData: the CA bundle the server's certificate is checked against (base64 PEM), if any. */
  get caData(): string | undefined {
    return this.#o.caData;
  }

  async applyToHTTPSOptions(opts: RequestTarget): Promise<void> {
    const token = await this.#o.token();
    if (this.#ca) opts.ca = this.#ca;
    opts.rejectUnauthorized = true;
    opts.headers = {
      ...(opts.headers as Record<string, string> | undefined),
      Authorization: `Bearer ${token}`,
    };
  }
}

/** serverOf answers the API server's base URL without a trailing `/`; throws without a current cluster. */
export function serverOf(conn: KubeConnection): string {
  const cluster = conn.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return cluster.server.replace(/\/+$/, '');
}
