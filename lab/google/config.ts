// config.ts: the shape, defaults and parser of the Google stand-ins' config
// (.lab/google.json, written by lab/scripts/lab.sh). Pure: no I/O here.
import { STORAGE_ROLE } from './gcs/iam.ts';
import type { BucketBinding } from './gcs/iam.ts';

/**
 * GoogleLabConfig is the JSON document that lab/google/main.ts reads
 * (`--config .lab/google.json`). Every field is optional in the file: a
 * missing field takes the default of docs/lab.md (port base 16400), see
 * defaultGoogleLabConfig. Relative paths are resolved against the current
 * directory of the process (the repository root under `npm run`).
 *
 * ```jsonc
 * {
 *   "ports": { "oidc": 16410, "sts": 16411, "iam": 16412, "gke": 16413,
 *              "gcs": 16414, "tokenReview": 16415, "metadata": 16416 },   // 0 = ephemeral
 *   "projectId": "kbuild-lab",
 *   "projectNumber": "123456789012",
 *   "workloadIdentity": {
 *     "pool": "kbuild-pool", "provider": "github",
 *     "issuerUri": "",               // "" = the OIDC stand-in's own URL
 *     "allowedAudiences": [],        // [] = the provider's resource name, like Google
 *     "attributeMapping": { "google.subject": "assertion.sub", ... },  // CEL
 *     "attributeCondition": "assertion.repository_owner_id == '4242'"    // CEL, "" = none
 *   },
 *   "serviceAccounts": [{ "email": "kbuild-builder@kbuild-lab.iam.gserviceaccount.com",   // + kbuild-dispatcher@
 *                         "members": ["principalSet://iam.googleapis.com/projects/.../attribute.repository_owner_id/4242"] }],
 *   "cluster": { "name": "lab", "location": "us-central1", "endpoint": "127.0.0.1:16443",
 *                "caCertPath": ".lab/pki/ca.crt", "version": "1.36.3-gke.100" },
 *   "gcs": { "stateDir": ".lab/gcs", "buckets": ["kbuild-lab-artifacts"],
 *            "iam": { "BUCKET": [{ "role": "roles/storage.objectCreator",      // {} = every bucket open
 *                                  "members": ["serviceAccount:..."],
 *                                  "condition": { "title": "...", "expression": "resource.name.startsWith(...)" } }] } },
 *   "gke": { "workloadPool": "",      // "" = PROJECT_ID.svc.id.goog
 *            "kubeconfig": "",        // "" = the metadata server cannot read pods (service accounts refused)
 *            "runtimeStateDir": "",   // the pod runtime's --state-dir (pods are found by their mounts)
 *            "procRoot": "/proc" },
 *   "oidc": { "issuer": "",          // "" = http://127.0.0.1:<oidc port>
 *             "requestToken": "",    // ACTIONS_ID_TOKEN_REQUEST_TOKEN; "" = random per start
 *             "tokenLifetimeSeconds": 21600, // exp - iat; nbf = iat - 300, like GitHub's tokens
 *             "claims": { "repository": "kbuild-lab/demo", ... } },
 *   "accessTokenLifetimeSeconds": 3600
 * }
 * ```
 */
export interface GoogleLabConfig {
  ports: ServicePorts;
  projectId: string;
  projectNumber: string;
  workloadIdentity: WorkloadIdentityConfig;
  serviceAccounts: ServiceAccountConfig[];
  cluster: ClusterConfig;
  gcs: GcsConfig;
  oidc: OidcConfig;
  gke: GkeConfig;
  /**
   * accessTokenLifetimeSeconds is the lifetime of STS federated tokens and
   * the upper bound of generateAccessToken lifetimes (a longer request is
   * clamped to it), so the product's token refresh can be tested with
   * short-lived tokens. Google's own default is 3600.
   */
  accessTokenLifetimeSeconds: number;
}

/** ServicePorts are the 127.0.0.1 TCP ports of each stand-in; 0 picks a free port. */
export interface ServicePorts {
  oidc: number;
  sts: number;
  iam: number;
  gke: number;
  gcs: number;
  tokenReview: number;
  /** metadata is the GKE metadata server stand-in (GCE_METADATA_HOST of every pod). */
  metadata: number;
}

/**
 * GkeConfig configures Workload Identity Federation for GKE: the cluster's
 * fixed workload pool and how the metadata server finds the calling pod.
 */
export interface GkeConfig {
  /** workloadPool is `PROJECT_ID.svc.id.goog` (the only form GKE allows). */
  workloadPool: string;
  /** kubeconfig reads pods and service accounts of the lab's API server. */
  kubeconfig: string;
  /** runtimeStateDir is the pod runtime's --state-dir (pods/<ns>_<name>_<uid>/ below it). */
  runtimeStateDir: string;
  /** procRoot is procfs (tests point it at a fake tree). */
  procRoot: string;
}

/**
 * WorkloadIdentityConfig is one workload identity pool with one OIDC provider,
 * as in https://cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines
 * (attributeMapping and attributeCondition are CEL, keys `google.subject`,
 * `attribute.NAME`).
 */
export interface WorkloadIdentityConfig {
  pool: string;
  provider: string;
  issuerUri: string;
  allowedAudiences: string[];
  attributeMapping: Record<string, string>;
  attributeCondition: string;
}

/**
 * ServiceAccountConfig is a service account and the members granted
 * roles/iam.workloadIdentityUser (or roles/iam.serviceAccountTokenCreator)
 * on it: `principal://...`, `principalSet://...` or `serviceAccount:EMAIL`.
 */
export interface ServiceAccountConfig {
  email: string;
  members: string[];
}

/** ClusterConfig is the one GKE cluster the clusters API knows. */
export interface ClusterConfig {
  name: string;
  location: string;
  /** endpoint is host:port of the kube-apiserver (GKE gives an IP; the lab needs a port). */
  endpoint: string;
  /** caCertPath is a PEM file, read on each request (the lab writes it after start). */
  caCertPath: string;
  version: string;
}

/**
 * GcsConfig says where objects live on disk, which buckets exist at start,
 * and the IAM policy of each bucket that has one (gcs/iam.ts evaluates its
 * roles and conditions like Cloud Storage); a bucket without a policy is
 * open to every caller.
 */
export interface GcsConfig {
  stateDir: string;
  buckets: string[];
  iam: Record<string, BucketBinding[]>;
}

/**
 * OidcConfig configures the GitHub OIDC issuer stand-in. `claims` are the
 * default claims of every ID token (GitHub's claim names, string values as
 * GitHub sends them).
 */
export interface OidcConfig {
  issuer: string;
  requestToken: string;
  tokenLifetimeSeconds: number;
  claims: Record<string, string>;
}

/**
 * RELEASE_REPOSITORY_ID_MAPPING is the CEL mapping of
 * `attribute.release_repository_id` that deploy/gcp/setup.sh gives the
 * provider (with its default --release-environment): the repository's id for
 * a tag push or a job of the `release` environment, `none` otherwise.
 */
export const RELEASE_REPOSITORY_ID_MAPPING =
  "(assertion.ref.startsWith('refs/tags/') || (has(assertion.environment) && assertion.environment == 'release')) ? assertion.repository_id : 'none'";

/** DEFAULT_PORT_BASE is the $KBUILD_LAB_PORT_BASE default of docs/lab.md. */
export const DEFAULT_PORT_BASE = 16400;

/**
 * defaultGoogleLabConfig returns the lab's identities and ports (docs/lab.md) for a
 * port base (B+10..B+15, cluster endpoint B+43).
 */
export function defaultGoogleLabConfig(portBase: number = DEFAULT_PORT_BASE): GoogleLabConfig {
  const projectNumber = '123456789012';
  const pool = 'kbuild-pool';
  return {
    ports: {
      oidc: portBase + 10,
      sts: portBase + 11,
      iam: portBase + 12,
      gke: portBase + 13,
      gcs: portBase + 14,
      tokenReview: portBase + 15,
      metadata: portBase + 16,
    },
    projectId: 'kbuild-lab',
    projectNumber,
    workloadIdentity: {
      pool,
      provider: 'github',
      issuerUri: '',
      allowedAudiences: [],
      // Like google-github-actions/auth's documented mapping.
      attributeMapping: {
        'google.subject': 'assertion.sub',
        'attribute.actor': 'assertion.actor',
        'attribute.repository': 'assertion.repository',
        'attribute.repository_id': 'assertion.repository_id',
        'attribute.repository_owner': 'assertion.repository_owner',
        'attribute.repository_owner_id': 'assertion.repository_owner_id',
        'attribute.ref': 'assertion.ref',
        'attribute.event_name': 'assertion.event_name',
        // As deploy/gcp/setup.sh maps it: the repository's id for a tag or the release environment.
        'attribute.release_repository_id': RELEASE_REPOSITORY_ID_MAPPING,
      },
      attributeCondition: "assertion.repository_owner_id == '4242'",
    },
    serviceAccounts: [
      {
        email: 'kbuild-builder@kbuild-lab.iam.gserviceaccount.com',
        members: [
          `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${pool}/attribute.repository_owner_id/4242`,
        ],
      },
      // The release account of deploy/gcp/setup.sh --release-service-account: tags and the
      // release environment of the lab's repository (id 90001) only.
      {
        email: 'kbuild-release@kbuild-lab.iam.gserviceaccount.com',
        members: [
          `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${pool}/attribute.release_repository_id/90001`,
        ],
      },
      // The dispatcher's runtime identity. On Cloud Run it is the function's attached service
      // account (metadata server); the lab has no metadata server, so the local dispatcher
      // reaches it through the same federation (lab/dispatcher.ts, --as-dispatcher).
      {
        email: 'kbuild-dispatcher@kbuild-lab.iam.gserviceaccount.com',
        members: [
          `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${pool}/attribute.repository_owner_id/4242`,
        ],
      },
    ],
    cluster: {
      name: 'lab',
      location: 'us-central1',
      endpoint: `127.0.0.1:${portBase + 43}`,
      caCertPath: '.lab/pki/ca.crt',
      version: '1.36.3-gke.100',
    },
    gcs: { stateDir: '.lab/gcs', buckets: ['kbuild-lab-artifacts'], iam: {} },
    gke: {
      workloadPool: 'kbuild-lab.svc.id.goog',
      kubeconfig: '',
      runtimeStateDir: '',
      procRoot: '/proc',
    },
    oidc: {
      issuer: '',
      requestToken: '',
      tokenLifetimeSeconds: 21600,
      claims: {
        repository: 'kbuild-lab/demo',
        repository_id: '90001',
        repository_owner: 'kbuild-lab',
        repository_owner_id: '4242',
        repository_visibility: 'private',
        ref: 'refs/heads/main',
        ref_type: 'branch',
        ref_protected: 'false',
        sha: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
        event_name: 'push',
        workflow: 'build',
        workflow_ref: 'kbuild-lab/demo/.github/workflows/build.yml@refs/heads/main',
        job_workflow_ref: 'kbuild-lab/demo/.github/workflows/build.yml@refs/heads/main',
        run_id: '1000001',
        run_number: '1',
        run_attempt: '1',
        actor: 'kbuild-lab-bot',
        actor_id: '4343',
        head_ref: '',
        base_ref: '',
        runner_environment: 'github-hosted',
      },
    },
    accessTokenLifetimeSeconds: 3600,
  };
}

/**
 * parseGoogleLabConfig validates a parsed JSON value and fills the defaults
 * of defaultGoogleLabConfig(portBase). Throws an Error naming the field, the
 * bad value and the accepted form.
 */
export function parseGoogleLabConfig(input: unknown, portBase?: number): GoogleLabConfig {
  const d = defaultGoogleLabConfig(portBase);
  const root = object(input, 'config');
  const ports = object(root.ports ?? {}, 'ports');
  const wi = object(root.workloadIdentity ?? {}, 'workloadIdentity');
  const cluster = object(root.cluster ?? {}, 'cluster');
  const gcs = object(root.gcs ?? {}, 'gcs');
  const oidc = object(root.oidc ?? {}, 'oidc');
  const gke = object(root.gke ?? {}, 'gke');
  const portOf = (k: keyof ServicePorts): number => port(ports[k] ?? d.ports[k], `ports.${k}`);
  const projectId = str(
    root.projectId ?? d.projectId,
    'projectId',
    /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
  );
  return {
    ports: {
      oidc: portOf('oidc'),
      sts: portOf('sts'),
      iam: portOf('iam'),
      gke: portOf('gke'),
      gcs: portOf('gcs'),
      tokenReview: portOf('tokenReview'),
      metadata: portOf('metadata'),
    },
    projectId,
    projectNumber: str(root.projectNumber ?? d.projectNumber, 'projectNumber', /^\d+$/),
    workloadIdentity: {
      pool: str(wi.pool ?? d.workloadIdentity.pool, 'workloadIdentity.pool', /^[a-z0-9-]{4,32}$/),
      provider: str(
        wi.provider ?? d.workloadIdentity.provider,
        'workloadIdentity.provider',
        /^[a-z0-9-]{4,32}$/,
      ),
      issuerUri: str(wi.issuerUri ?? '', 'workloadIdentity.issuerUri'),
      allowedAudiences: strList(wi.allowedAudiences ?? [], 'workloadIdentity.allowedAudiences'),
      attributeMapping: strMap(
        wi.attributeMapping ?? d.workloadIdentity.attributeMapping,
        'workloadIdentity.attributeMapping',
      ),
      attributeCondition: str(
        wi.attributeCondition ?? d.workloadIdentity.attributeCondition,
        'workloadIdentity.attributeCondition',
      ),
    },
    serviceAccounts: list(root.serviceAccounts ?? d.serviceAccounts, 'serviceAccounts').map(
      (v, i) => {
        const sa = object(v, `serviceAccounts[${i}]`);
        return {
          email: str(sa.email, `serviceAccounts[${i}].email`, /^[^@\s]+@[^@\s]+$/),
          members: strList(sa.members ?? [], `serviceAccounts[${i}].members`),
        };
      },
    ),
    cluster: {
      name: str(cluster.name ?? d.cluster.name, 'cluster.name', /^[a-z][a-z0-9-]{0,39}$/),
      location: str(cluster.location ?? d.cluster.location, 'cluster.location', /^[a-z0-9-]+$/),
      endpoint: str(cluster.endpoint ?? d.cluster.endpoint, 'cluster.endpoint', /^[^\s/]+$/),
      caCertPath: str(cluster.caCertPath ?? d.cluster.caCertPath, 'cluster.caCertPath'),
      version: str(cluster.version ?? d.cluster.version, 'cluster.version'),
    },
    gcs: {
      stateDir: str(gcs.stateDir ?? d.gcs.stateDir, 'gcs.stateDir', /./),
      buckets: strList(gcs.buckets ?? d.gcs.buckets, 'gcs.buckets'),
      iam: Object.fromEntries(
        Object.entries(object(gcs.iam ?? d.gcs.iam, 'gcs.iam')).map(([bucket, v]) => [
          bucket,
          list(v, `gcs.iam.${bucket}`).map((b, i) => binding(b, `gcs.iam.${bucket}[${i}]`)),
        ]),
      ),
    },
    gke: {
      workloadPool: str(
        gke.workloadPool || `${projectId}.svc.id.goog`,
        'gke.workloadPool',
        /^[a-z][a-z0-9-]{4,28}[a-z0-9]\.svc\.id\.goog$/,
      ),
      kubeconfig: str(gke.kubeconfig ?? '', 'gke.kubeconfig'),
      runtimeStateDir: str(gke.runtimeStateDir ?? '', 'gke.runtimeStateDir'),
      procRoot: str(gke.procRoot ?? '/proc', 'gke.procRoot', /^\/\S*$/),
    },
    oidc: {
      issuer: str(oidc.issuer ?? '', 'oidc.issuer', /^(|https?:\/\/\S+[^/])$/),
      requestToken: str(oidc.requestToken ?? '', 'oidc.requestToken'),
      tokenLifetimeSeconds: seconds(
        oidc.tokenLifetimeSeconds ?? d.oidc.tokenLifetimeSeconds,
        'oidc.tokenLifetimeSeconds',
      ),
      claims: { ...d.oidc.claims, ...strMap(oidc.claims ?? {}, 'oidc.claims') },
    },
    accessTokenLifetimeSeconds: seconds(
      root.accessTokenLifetimeSeconds ?? d.accessTokenLifetimeSeconds,
      'accessTokenLifetimeSeconds',
    ),
  };
}

type Json = Record<string, unknown>;

function object(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error(`invalid ${field} ${JSON.stringify(v)}: want a JSON object`);
  }
  return v as Json;
}

function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v))
    throw new Error(`invalid ${field} ${JSON.stringify(v)}: want a JSON array`);
  return v;
}

function str(v: unknown, field: string, form?: RegExp): string {
  if (typeof v !== 'string' || (form !== undefined && !form.test(v))) {
    const want = form === undefined ? 'a string' : `a string matching ${String(form)}`;
    throw new Error(`invalid ${field} ${JSON.stringify(v)}: want ${want}`);
  }
  return v;
}

function strList(v: unknown, field: string): string[] {
  return list(v, field).map((x, i) => str(x, `${field}[${i}]`));
}

function strMap(v: unknown, field: string): Record<string, string> {
  const o = object(v, field);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, str(x, `${field}.${k}`)]));
}

function binding(v: unknown, field: string): BucketBinding {
  const b = object(v, field);
  const out: BucketBinding = {
    role: str(b.role, `${field}.role`, STORAGE_ROLE),
    members: strList(b.members, `${field}.members`),
  };
  if (b.condition !== undefined) {
    const c = object(b.condition, `${field}.condition`);
    out.condition = {
      title: str(c.title ?? '', `${field}.condition.title`),
      expression: str(c.expression, `${field}.condition.expression`, /\S/),
    };
  }
  return out;
}

function port(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new Error(`invalid ${field} ${JSON.stringify(v)}: want a TCP port 0..65535 (0 = any)`);
  }
  return v;
}

function seconds(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 86400) {
    throw new Error(`invalid ${field} ${JSON.stringify(v)}: want whole seconds 1..86400`);
  }
  return v;
}
