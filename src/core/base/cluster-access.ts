// cluster-access.ts: how a GKE control plane is reached, shared by the inputs that choose it and
// the GKE lookup that follows the choice (docs/private-clusters.md).

/**
 * ControlPlaneAccess is how the action reaches a GKE control plane, with
 * google-github-actions/get-gke-credentials' inputs: `public` (the cluster's `endpoint` and CA),
 * `internal_ip` (`privateClusterConfig.privateEndpoint` and the CA), `dns_based_endpoint`
 * (`controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint`, publicly trusted certificate, no CA)
 * or `connect_gateway` (the fleet's Connect Gateway, publicly trusted certificate, no CA).
 */
export type ControlPlaneAccess =
  'public' | 'internal_ip' | 'dns_based_endpoint' | 'connect_gateway';

/** FleetMembership names a fleet membership; the project is a number (the gateway URL needs one). */
export interface FleetMembership {
  projectNumber: string;
  location: string;
  name: string;
}
