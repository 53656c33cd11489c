import { readFileSync } from 'node:fs';
import { BearerConnection, type KubeConnection } from '../kube/connection.ts';
import type { ClusterRef } from '../inputs/formats.ts';

export type { ClusterRef };
import type { TokenSource } from './auth.ts';
import type { ControlPlaneAccess, FleetMembership } from '../base/cluster-access.ts';
import { requestJson } from './http.ts';
import type { FetchLike, RetryOptions } from './http.ts';

/**
 * ClusterInfo is what a kubeconfig needs: the API server's base URL (`https://HOST[:PORT]`, or a
 * Connect Gateway URL with a path) and the cluster CA bundle (base64 PEM). caData is absent when
 * the endpoint presents a publicly trusted certificate (DNS-based endpoint, Connect Gateway): the
 * runtime's trust store checks it.
 */
export interface ClusterInfo {
  endpoint: string;
  caData?: string;
  /** autopilot is true for a GKE Autopilot cluster (`autopilot.enabled`). */
  autopilot?: boolean;
}

/**
 * GkeCluster is the part of GKE's Cluster message (REST v1 projects.locations.clusters) that the
 * lookup reads.
 */
export interface GkeCluster {
  endpoint?: string;
  masterAuth?: { clusterCaCertificate?: string };
  status?: string;
  privateClusterConfig?: { privateEndpoint?: string };
  controlPlaneEndpointsConfig?: { dnsEndpointConfig?: { endpoint?: string } };
  autopilot?: { enabled?: boolean };
  /** fleet.membership: `//gkehub.googleapis.com/projects/P/locations/L/memberships/M` once registered. */
  fleet?: { membership?: string; project?: string };
}

/** ControlPlaneOptions: which endpoint to use, and the Connect Gateway's base URL (ending with `/`). */
export interface ControlPlaneOptions {
  access: ControlPlaneAccess;
  connectGateway: string;
  /** fleetMembership overrides the cluster's own `fleet.membership` (connect_gateway only). */
  fleetMembership?: FleetMembership;
}

/** clusterResourceName returns `projects/P/locations/L/clusters/C`, the GKE API's name for the cluster. */
export function clusterResourceName(ref: ClusterRef): string {
  return `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
}

/**
 * readCluster reads a cluster through the GKE API
 * `GET {endpoint}v1/projects/{p}/locations/{l}/clusters/{c}`
 * (projects.locations.clusters.get, GKE REST v1; `endpoint` is the base URL
 * ending with `/`, e.g. `https://container.googleapis.com/`). Retries 429/5xx.
 * Throws GoogleApiError naming the cluster's resource name; for 403 it names
 * the permission `container.clusters.get`, for 404 the inputs to check.
 */
export async function readCluster(
  ref: ClusterRef,
  tokenSource: TokenSource,
  endpoint: string,
  fetchFn?: FetchLike,
  retry?: RetryOptions,
): Promise<GkeCluster> {
  const name = clusterResourceName(ref);
  for (const [field, value] of Object.entries(ref)) {
    if (!value || /[/?#\s]/.test(value)) {
      throw new Error(
        `invalid cluster ${field} "${value}" in ${name}: use a plain name without "/"`,
      );
    }
  }
  const { token } = await tokenSource.getAccessToken();
  return requestJson<GkeCluster>({
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
}

const HUB_MEMBERSHIP =
  /^(?:\/\/gkehub\.googleapis\.com\/)?projects\/([^/]+)\/locations\/([^/]+)\/(?:gkeM|m)emberships\/([^/]+)$/;

/**
 * connectGatewayUrl returns the Connect Gateway URL of a fleet membership,
 * `{gateway}v1/projects/NUMBER/locations/LOCATION/gkeMemberships/NAME`, the server that
 * `gcloud container fleet memberships get-credentials` and google-github-actions/
 * get-gke-credentials put in a kubeconfig for a GKE cluster.
 */
export function connectGatewayUrl(gateway: string, m: FleetMembership): string {
  return `${gateway}v1/projects/${m.projectNumber}/locations/${m.location}/gkeMemberships/${m.name}`;
}

/**
 * controlPlaneOf picks the endpoint of a cluster read by readCluster (`name` is its resource name,
 * for messages): `public` uses `endpoint` and the CA; `internal_ip` the private endpoint
 * (`privateClusterConfig.privateEndpoint`) and the CA; `dns_based_endpoint`
 * (`controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint`) and `connect_gateway` (the given
 * membership, else the cluster's `fleet.membership`) present publicly trusted certificates, so
 * no CA. Throws naming the missing field and what to change.
 */
export function controlPlaneOf(name: string, c: GkeCluster, o: ControlPlaneOptions): ClusterInfo {
  const url = (host: string): string => (/^https?:\/\//.test(host) ? host : `https://${host}`);
  const missing = (field: string, fix: string): Error =>
    new Error(
      `GKE clusters.get ${name} returned no ${field} (cluster status ${c.status ?? 'unknown'}): ${fix}`,
    );
  const ca = c.masterAuth?.clusterCaCertificate;
  switch (o.access) {
    case 'public': {
      if (!c.endpoint)
        throw missing(
          'endpoint',
          'wait until the cluster is RUNNING, or use use_dns_based_endpoint or use_connect_gateway for a cluster without a public endpoint',
        );
      if (!ca)
        throw missing('masterAuth.clusterCaCertificate', 'wait until the cluster is RUNNING');
      return { endpoint: url(c.endpoint), caData: ca };
    }
    case 'internal_ip': {
      const host = c.privateClusterConfig?.privateEndpoint;
      if (!host)
        throw missing(
          'privateClusterConfig.privateEndpoint',
          'the cluster has no private endpoint; drop use_internal_ip',
        );
      if (!ca)
        throw missing('masterAuth.clusterCaCertificate', 'wait until the cluster is RUNNING');
      return { endpoint: url(host), caData: ca };
    }
    case 'dns_based_endpoint': {
      const host = c.controlPlaneEndpointsConfig?.dnsEndpointConfig?.endpoint;
      if (!host)
        throw missing(
          'controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint',
          'enable the DNS-based endpoint (gcloud container clusters update --enable-dns-access) or drop use_dns_based_endpoint',
        );
      return { endpoint: url(host) };
    }
    case 'connect_gateway': {
      if (o.fleetMembership)
        return { endpoint: connectGatewayUrl(o.connectGateway, o.fleetMembership) };
      const own = c.fleet?.membership;
      if (!own)
        throw missing(
          'fleet.membership',
          'register the cluster to a fleet, or set fleet_membership_name',
        );
      const m = HUB_MEMBERSHIP.exec(own);
      if (!m || !/^\d+$/.test(m[1] ?? '')) {
        throw new Error(
          `the fleet membership of ${name} is "${own}", which does not name its project by number: set fleet_membership_name to projects/PROJECT_NUMBER/locations/LOCATION/memberships/NAME`,
        );
      }
      const [, projectNumber = '', location = '', member = ''] = m;
      return {
        endpoint: connectGatewayUrl(o.connectGateway, { projectNumber, location, name: member }),
      };
    }
  }
}

/**
 * getCluster reads a cluster (readCluster) and answers the endpoint and CA
 * to use (controlPlaneOf; default: the public endpoint), and whether it is an Autopilot cluster.
 */
export async function getCluster(
  ref: ClusterRef,
  tokenSource: TokenSource,
  endpoint: string,
  fetchFn?: FetchLike,
  retry?: RetryOptions,
  options: ControlPlaneOptions = { access: 'public', connectGateway: '' },
): Promise<ClusterInfo> {
  const cluster = await readCluster(ref, tokenSource, endpoint, fetchFn, retry);
  const info = controlPlaneOf(clusterResourceName(ref), cluster, options);
  return cluster.autopilot?.enabled === true ? { ...info, autopilot: true } : info;
}

/**
 * kubeConfigFor answers the connection of a GKE cluster (kube/connection.ts BearerConnection):
 * its endpoint, its CA when it has one (none for the DNS-based endpoint and Connect Gateway),
 * and a token asked of the TokenSource for every request, so the token is renewed before it
 * expires. Nothing is written to disk.
 */
export function kubeConfigFor(cluster: ClusterInfo, tokenSource: TokenSource): BearerConnection {
  return new BearerConnection({
    server: cluster.endpoint,
    ...(cluster.caData !== undefined ? { caData: cluster.caData } : {}),
    token: async () => (await tokenSource.getAccessToken()).token,
  });
}

/**
 * kubeConfigFromFile loads the kubeconfig at `path` (the `kubeconfig` input,
 * for any cluster such as KinD); its own auth (token, client certificate,
 * exec plugin) is used as is, through `@kubernetes/client-node`'s KubeConfig,
 * which is loaded only here (kube/kubeconfig-file.ts). Throws naming the path
 * when it cannot be read or has no current context.
 */
export async function kubeConfigFromFile(path: string): Promise<KubeConnection> {
  let kc: KubeConnection;
  try {
    // Read first: a missing file fails before the kubeconfig parser is loaded.
    const text = readFileSync(path, 'utf8');
    const { kubeConfigFromText } = await import('../kube/kubeconfig-file.ts');
    kc = kubeConfigFromText(text, path);
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
