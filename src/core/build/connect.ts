/**
 * connect.ts: from validated auth inputs to the clients of a build (docs/design.md,
 * "One build", steps 2-3): a TokenSource (Workload Identity Federation, or
 * Application Default Credentials), the cluster (GKE lookup, or a kubeconfig
 * file), and the object store. Shared by the action, the post step and the CLI.
 */
import type { AuthConfig } from '../inputs/auth-config.ts';
import { AdcTokenSource, type MaskFn, type TokenSource } from '../google/auth.ts';
import { WorkloadIdentityTokenSource } from '../google/wif.ts';
import { DEFAULT_ENDPOINTS, type GoogleEndpoints } from '../google/endpoints.ts';
import { getCluster, kubeConfigFor, kubeConfigFromFile } from '../google/gke.ts';
import { HttpKubeApi } from '../kube/client.ts';
import type { KubeConnection } from '../kube/connection.ts';
import type { KubeApi } from '../kube/api.ts';
import { GcsObjectStore, type ObjectStore } from '../gcs/storage.ts';
import { Reachability } from '../kube/reachability.ts';
import type { RetryEvent } from '../base/retry.ts';
import { systemClock } from '../base/report.ts';

/** ConnectOptions: how to reach Google, and the two capabilities of the runner. */
export interface ConnectOptions {
  endpoints: GoogleEndpoints;
  /** A GitHub OIDC token for an audience (`core.getIDToken`); absent outside GitHub Actions. */
  getIdToken?: (audience: string) => Promise<string>;
  mask: MaskFn;
  /** The bucket of the build; absent: no object store. */
  bucket?: string;
  /**
   * Hears each retry of a remote call (base/retry.ts: its `line` is what a user sees) and the
   * control plane's outage lines; absent: retries are silent.
   */
  onRetry?: (event: RetryEvent) => void;
  notify?: (line: string) => void;
  /** Plain Kubernetes calls are retried (default); the dispatcher's fan-out retries per item itself. */
  kubeRetries?: boolean;
}

/** ACCESS_NAMES: how messages name a control-plane endpoint other than the public one. */
const ACCESS_NAMES = {
  internal_ip: 'private endpoint',
  dns_based_endpoint: 'DNS-based endpoint',
  connect_gateway: 'Connect Gateway',
} as const;

/** Clients: what a build talks to. */
export interface Clients {
  kube: KubeApi;
  /**
   * How the cluster is reached (server, TLS, credentials): a GKE connection, or client-node's
   * KubeConfig for a kubeconfig file (kube/connection.ts).
   */
  kubeConfig: KubeConnection;
  store?: ObjectStore;
  tokenSource?: TokenSource;
  /**
   * Where the cluster came from, for messages: `projects/P/locations/L/clusters/C` (followed by
   * the endpoint in use when it is not the public one) or the kubeconfig path.
   */
  clusterName: string;
  /** autopilot: the GKE lookup says the cluster is an Autopilot cluster. */
  autopilot?: boolean;
  /** Whether the API server answers; a running build rides out outages with it (kube/reachability.ts). */
  reachability: Reachability;
}

/**
 * tokenSourceFor answers the credentials of the auth inputs: WIF when a
 * provider is set (needs getIdToken, i.e. `permissions: id-token: write`),
 * else ADC. Throws naming the missing permission.
 */
export function tokenSourceFor(auth: AuthConfig, o: ConnectOptions): TokenSource {
  if (auth.workloadIdentityProvider) {
    const getIdToken = o.getIdToken;
    if (!getIdToken) {
      throw new Error(
        'workload_identity_provider needs a GitHub OIDC token: add `permissions: id-token: write` to the job',
      );
    }
    return new WorkloadIdentityTokenSource({
      getIdToken,
      workloadIdentityProvider: auth.workloadIdentityProvider,
      ...(auth.serviceAccount ? { serviceAccount: auth.serviceAccount } : {}),
      ...(auth.audience ? { audience: auth.audience } : {}),
      endpoints: { sts: o.endpoints.sts, iamcredentials: o.endpoints.iamcredentials },
      mask: o.mask,
      ...(o.onRetry ? { retry: { onRetry: o.onRetry } } : {}),
    });
  }
  return new AdcTokenSource({ mask: o.mask });
}

/**
 * connect builds the clients. The GKE lookup (`clusters.get`) runs here, so a
 * wrong cluster or a missing permission fails before anything is created.
 */
export async function connect(auth: AuthConfig, o: ConnectOptions): Promise<Clients> {
  const storageIsGoogle = o.endpoints.storage === DEFAULT_ENDPOINTS.storage;
  const needToken =
    !auth.kubeconfig ||
    (o.bucket !== undefined && (storageIsGoogle || auth.workloadIdentityProvider));
  const tokenSource = needToken ? tokenSourceFor(auth, o) : undefined;
  let kubeConfig: KubeConnection;
  let clusterName: string;
  let autopilot = false;
  if (auth.kubeconfig) {
    kubeConfig = await kubeConfigFromFile(auth.kubeconfig);
    clusterName = auth.kubeconfig;
  } else {
    const c = auth.cluster;
    if (!c?.project || !c.location || !tokenSource) {
      throw new Error(
        'input "cluster" needs a project and a location (inputs "project_id" and "location")',
      );
    }
    const info = await getCluster(
      { project: c.project, location: c.location, name: c.name },
      tokenSource,
      o.endpoints.container,
      undefined,
      o.onRetry ? { onRetry: o.onRetry } : undefined,
      {
        access: auth.controlPlane ?? 'public',
        connectGateway: o.endpoints.connectgateway,
        ...(auth.fleetMembership ? { fleetMembership: auth.fleetMembership } : {}),
      },
    );

    kubeConfig = kubeConfigFor(info, tokenSource);
    autopilot = info.autopilot === true;
    clusterName = `projects/${c.project}/locations/${c.location}/clusters/${c.name}`;
    if (auth.controlPlane) clusterName += ` (${ACCESS_NAMES[auth.controlPlane]} ${info.endpoint})`;
  }
  const store = o.bucket
    ? new GcsObjectStore({
        bucket: o.bucket,
        apiEndpoint: o.endpoints.storage,
        ...(tokenSource ? { tokenSource } : {}),
        ...(o.onRetry ? { retry: { onRetry: o.onRetry } } : {}),
      })
    : undefined;
  const reachability = new Reachability({
    clock: systemClock,
    notify: o.notify ?? (() => undefined),
  });
  return {
    reachability,
    kube: new HttpKubeApi(kubeConfig, {
      reachability,
      ...(o.onRetry ? { onRetry: o.onRetry } : {}),
      ...(o.kubeRetries === false ? { policy: { attempts: 1 } } : {}),
    }),
    kubeConfig,
    ...(store ? { store } : {}),
    ...(tokenSource ? { tokenSource } : {}),
    clusterName,
    ...(autopilot ? { autopilot } : {}),
  };
}
