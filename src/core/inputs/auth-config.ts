// auth-config.ts: the validated credentials and cluster inputs (docs/design.md, "One build", steps 2-3).
import { InputError, InputIssues } from '../base/errors.ts';
import {
  parseCluster,
  parseWorkloadIdentityProvider,
  validateLocation,
  validateProjectId,
  validateServiceAccountEmail,
  type ParsedCluster,
  type WorkloadIdentityProvider,
} from './formats.ts';
import { inputValue, type RawBuildInputs } from './schema.ts';
import { parseBoolean } from './parse.ts';
import type { ControlPlaneAccess, FleetMembership } from '../base/cluster-access.ts';

export type { ControlPlaneAccess, FleetMembership };

const MEMBERSHIP =
  /^projects\/(\d+)\/locations\/([a-z0-9-]+)\/(?:gke)?[mM]emberships\/([a-z0-9][a-z0-9-]{0,62})$/;

/**
 * parseFleetMembership reads `projects/NUMBER/locations/LOCATION/memberships/NAME` (or
 * `.../gkeMemberships/NAME`, as get-gke-credentials accepts). The project must be a number: the
 * Connect Gateway URL is `.../v1/projects/NUMBER/locations/LOCATION/gkeMemberships/NAME`.
 */
export function parseFleetMembership(input: string, value: string): FleetMembership {
  const m = MEMBERSHIP.exec(value.trim());
  if (!m) {
    throw new InputError(
      input,
      `invalid fleet membership ${JSON.stringify(value.slice(0, 120))} for input "${input}": use projects/PROJECT_NUMBER/locations/LOCATION/memberships/NAME (gcloud projects describe PROJECT --format='value(projectNumber)' prints the number)`,
    );
  }
  const [, projectNumber = '', location = '', name = ''] = m;
  return { projectNumber, location, name };
}

/** AuthConfig says how to get a token and which cluster to talk to. */
export interface AuthConfig {
  /** workloadIdentityProvider is the provider resource name; absent: Application Default Credentials. */
  workloadIdentityProvider?: string;
  /** serviceAccount is the email of the service account to impersonate, if any. */
  serviceAccount?: string;
  /** audience of the GitHub OIDC token: the input, else `https://iam.googleapis.com/<provider>`. */
  audience?: string;
  /** projectId: `project_id`, else the cluster's project, else the provider's project number. */
  projectId?: string;
  /** cluster is the GKE cluster; project and location are filled in when known. */
  cluster?: ParsedCluster;
  /** kubeconfig is a path to a kubeconfig that replaces the GKE lookup. */
  kubeconfig?: string;
  /** controlPlane says which endpoint of the GKE cluster to use; absent: `public`. */
  controlPlane?: Exclude<ControlPlaneAccess, 'public'>;
  /** fleetMembership is fleet_membership_name (with connect_gateway); absent: the cluster's own. */
  fleetMembership?: FleetMembership;
}

const ACCESS_INPUTS = [
  ['use_internal_ip', 'internal_ip'],
  ['use_dns_based_endpoint', 'dns_based_endpoint'],
  ['use_connect_gateway', 'connect_gateway'],
] as const;

/**
 * defaultAudience is the audience google-github-actions/auth uses for a provider: the provider's
 * resource name under `https://iam.googleapis.com/`.
 */
export function defaultAudience(provider: string): string {
  return `https://iam.googleapis.com/${provider}`;
}

/**
 * validateAuthConfig validates the credential and cluster inputs. When the build creates
 * anything (`create: true`), exactly one of `kubeconfig` and `cluster` is required, and a plain
 * cluster name needs `location`. A full cluster resource name must agree with `project_id` and
 * `location` when those are given too. Throws one InputError listing every bad input.
 */
export function validateAuthConfig(raw: RawBuildInputs, opts: { create: boolean }): AuthConfig {
  const issues = new InputIssues();
  const value = (name: keyof RawBuildInputs): string => inputValue(raw, name);
  const optional = <T>(name: keyof RawBuildInputs, fn: (v: string) => T): T | undefined =>
    value(name) === '' ? undefined : issues.attempt(() => fn(value(name)));

  const provider: WorkloadIdentityProvider | undefined = optional(
    'workload_identity_provider',
    (v) => parseWorkloadIdentityProvider('workload_identity_provider', v),
  );
  const serviceAccount = optional('service_account', (v) =>
    validateServiceAccountEmail('service_account', v),
  );
  const projectInput = optional('project_id', (v) => validateProjectId('project_id', v));
  const locationInput = optional('location', (v) => validateLocation('location', v));
  const cluster = optional('cluster', (v) => parseCluster('cluster', v));
  const kubeconfig = value('kubeconfig') || undefined;
  const audience = value('audience') || undefined;

  const access = ACCESS_INPUTS.filter(
    ([name]) => issues.attempt(() => parseBoolean(name, value(name))) === true,
  );
  const membership = optional('fleet_membership_name', (v) =>
    parseFleetMembership('fleet_membership_name', v),
  );
  if (access.length > 1) {
    issues.add(
      access[0]![0],
      `inputs ${access.map(([n]) => `"${n}"`).join(' and ')} are all true: set at most one of use_internal_ip, use_dns_based_endpoint and use_connect_gateway`,
    );
  }
  if (access.length > 0 && kubeconfig !== undefined) {
    issues.add(
      access[0]![0],
      `input "${access[0]![0]}" picks an endpoint of the GKE cluster, but "kubeconfig" replaces the GKE lookup: use one of them`,
    );
  }
  if (value('fleet_membership_name') !== '' && !access.some(([, a]) => a === 'connect_gateway')) {
    issues.add(
      'fleet_membership_name',
      'input "fleet_membership_name" needs use_connect_gateway: true (it names the membership the Connect Gateway reaches)',
    );
  }
  if (audience !== undefined && value('workload_identity_provider') === '') {
    issues.add(
      'audience',
      'input "audience" needs "workload_identity_provider": set both, or neither for Application Default Credentials',
    );
  }
  if (kubeconfig !== undefined && value('cluster') !== '') {
    issues.add(
      'kubeconfig',
      'inputs "kubeconfig" and "cluster" are both set: use a kubeconfig or a GKE cluster, not both',
    );
  }
  if (opts.create && kubeconfig === undefined && value('cluster') === '') {
    issues.add(
      'cluster',
      'input "cluster" (or "kubeconfig") is required to create a build: name the GKE cluster, or set create: false',
    );
  }
  const conflicts = [
    ['location', locationInput, cluster?.location],
    ['project_id', projectInput, cluster?.project],
  ] as const;
  for (const [input, given, fromCluster] of conflicts) {
    if (given !== undefined && fromCluster !== undefined && given !== fromCluster) {
      issues.add(
        input,
        `input "${input}" is ${given} but "cluster" says ${fromCluster}: give one of them`,
      );
    }
  }
  if (cluster && cluster.location === undefined && locationInput === undefined) {
    issues.add(
      'location',
      `input "location" is required with cluster "${cluster.name}": give its region or zone, or a full projects/P/locations/L/clusters/C name`,
    );
  }
  issues.throwIfAny();

  const config: AuthConfig = {};
  const projectId = projectInput ?? cluster?.project ?? provider?.projectNumber;
  if (provider) {
    config.workloadIdentityProvider = provider.name;
    config.audience = audience ?? defaultAudience(provider.name);
  }
  if (serviceAccount !== undefined) config.serviceAccount = serviceAccount;
  if (projectId !== undefined) config.projectId = projectId;
  if (kubeconfig !== undefined) config.kubeconfig = kubeconfig;
  const [chosen] = access;
  if (chosen) config.controlPlane = chosen[1];
  if (membership !== undefined) config.fleetMembership = membership;
  if (cluster) {
    const location = cluster.location ?? locationInput;
    config.cluster = { name: cluster.name };
    if (projectId !== undefined) config.cluster.project = projectId;
    if (location !== undefined) config.cluster.location = location;
  }
  return config;
}
