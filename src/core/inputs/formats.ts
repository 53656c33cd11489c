// formats.ts: validators for the names of things outside Kubernetes that inputs refer to: OCI
// image references, Workload Identity Federation providers, service accounts, GKE clusters, GCP
// projects and GCS buckets. Each throws an InputError naming the input and the accepted form.
import { InputError, invalid } from '../base/errors.ts';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE_REFERENCE = new RegExp(
  `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`,
);

/**
 * validateImageReference checks an image reference against the grammar of
 * distribution/reference (`[host[:port]/]path[:tag][@digest]`, lowercase path, name <= 255
 * chars) and returns it trimmed.
 */
export function validateImageReference(input: string, value: string): string {
  const v = value.trim();
  const name = v.split('@')[0]?.replace(/:[\w][\w.-]{0,127}$/, '') ?? '';
  if (!IMAGE_REFERENCE.test(v) || name.length > 255) {
    throw invalid(
      input,
      'image reference',
      value,
      'use [registry/]repository[:tag][@sha256:digest] with a lowercase repository, e.g. cgr.dev/chainguard/wolfi-base:latest',
    );
  }
  return v;
}

/** WorkloadIdentityProvider is a parsed provider resource name. */
export interface WorkloadIdentityProvider {
  /** name is the full resource name, as given. */
  name: string;
  projectNumber: string;
  pool: string;
  provider: string;
}

const PROVIDER =
  /^projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([a-z0-9-]{4,32})\/providers\/([a-z0-9-]{4,32})$/;

/**
 * parseWorkloadIdentityProvider parses
 * `projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV` (project number,
 * pool and provider ids of 4-32 chars of [a-z0-9-]; Google Cloud IAM "Manage workload identity
 * pools and providers").
 */
export function parseWorkloadIdentityProvider(
  input: string,
  value: string,
): WorkloadIdentityProvider {
  const v = value.trim();
  const m = PROVIDER.exec(v);
  if (!m) {
    throw invalid(
      input,
      'workload identity provider',
      value,
      'use projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER (the project number, not its id, and no https:// or // prefix)',
    );
  }
  const [, projectNumber = '', pool = '', provider = ''] = m;
  return { name: v, projectNumber, pool, provider };
}

const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;

/** validateServiceAccountEmail checks the email form of a Google service account. */
export function validateServiceAccountEmail(input: string, value: string): string {
  const v = value.trim();
  if (!EMAIL.test(v)) {
    throw invalid(
      input,
      'service account',
      value,
      'use its email, e.g. builder@my-project.iam.gserviceaccount.com',
    );
  }
  return v;
}

const PROJECT = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^\d+$/;
const LOCATION = /^[a-z][a-z0-9-]{0,62}$/;
const CLUSTER_NAME = /^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$/;
const CLUSTER_RESOURCE = /^projects\/([^/]+)\/locations\/([^/]+)\/clusters\/([^/]+)$/;

/** validateProjectId checks a GCP project id (6-30 chars, `[a-z][a-z0-9-]*[a-z0-9]`) or number. */
export function validateProjectId(input: string, value: string): string {
  const v = value.trim();
  if (!PROJECT.test(v)) {
    throw invalid(
      input,
      'project',
      value,
      'use a project id like my-project (6-30 lowercase letters, digits, -) or a project number',
    );
  }
  return v;
}

/** validateLocation checks a GCP region or zone name (`us-central1`, `europe-west4-a`). */
export function validateLocation(input: string, value: string): string {
  const v = value.trim();
  if (!LOCATION.test(v))
    throw invalid(
      input,
      'location',
      value,
      'use a region or zone such as us-central1 or us-central1-a',
    );
  return v;
}

/** ClusterRef names a GKE cluster: project id (or number), location (region or zone) and cluster name. */
export interface ClusterRef {
  project: string;
  location: string;
  name: string;
}

/**
 * ParsedCluster is the `cluster` input: the name, and project and location when the input gave
 * them (a full resource name); the inputs `project_id` and `location` complete it to a ClusterRef.
 */
export type ParsedCluster = Pick<ClusterRef, 'name'> & Partial<ClusterRef>;

/**
 * parseCluster accepts a GKE cluster name (1-40 chars, lowercase letter first) or its full
 * resource name `projects/P/locations/L/clusters/C` (GKE API `projects.locations.clusters`).
 */
export function parseCluster(input: string, value: string): ParsedCluster {
  const v = value.trim();
  const fix =
    'use a cluster name (lowercase letters, digits and -, up to 40) or projects/PROJECT/locations/LOCATION/clusters/NAME';
  const full = CLUSTER_RESOURCE.exec(v);
  if (full) {
    const [, project = '', location = '', name = ''] = full;
    if (!PROJECT.test(project) || !LOCATION.test(location) || !CLUSTER_NAME.test(name)) {
      throw invalid(input, 'cluster', value, fix);
    }
    return { project, location, name };
  }
  if (!CLUSTER_NAME.test(v)) throw invalid(input, 'cluster', value, fix);
  return { name: v };
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * validateBucketName applies the GCS bucket naming rules (Cloud Storage "Bucket names"): 3-63
 * chars of lowercase letters, digits, `-`, `_` and `.`, letter or digit at both ends; names with
 * dots up to 222 chars with each dot-separated part 1-63 chars; not an IPv4 address; no `goog`
 * prefix and no `google` (or `g00gle`-like) inside.
 */
export function validateBucketName(input: string, value: string): string {
  const v = value.trim();
  const fail = (why: string): InputError => invalid(input, 'bucket name', value, why);
  if (v.startsWith('gs://'))
    throw fail('give the bucket name without gs:// (the object prefix goes in "destination")');
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(v)) {
    throw fail(
      'use lowercase letters, digits, -, _ and ., starting and ending with a letter or digit',
    );
  }
  const parts = v.split('.');
  const max = parts.length > 1 ? 222 : 63;
  if (v.length < 3 || v.length > max) throw fail(`use 3 to ${max} characters`);
  if (parts.some((p) => p.length === 0 || p.length > 63))
    throw fail('keep each dot-separated part between 1 and 63 characters');
  if (IPV4.test(v)) throw fail('a bucket name cannot be an IP address');
  if (v.startsWith('goog') || /g[o0][o0]g[l1]e/.test(v))
    throw fail('a bucket name cannot start with goog or contain google');
  return v;
}
