// config.ts: the dispatcher's configuration, read from environment variables in one place
// (docs/dispatcher.md lists them), and the cluster connection it implies.
import { readFileSync } from 'node:fs';
import { validateAuthConfig, type AuthConfig } from '../../src/core/inputs/auth-config.ts';
import { endpointsFromEnv, type GoogleEndpoints } from '../../src/core/google/endpoints.ts';
import { InputError } from '../../src/core/base/errors.ts';
import { INPUT_DEFAULTS, type RawBuildInputs } from '../../src/core/inputs/schema.ts';
import { isDns1123Label } from '../../src/core/inputs/names.ts';
import { DEFAULT_FANOUT, type FanoutOptions } from './fanout.ts';
import type { JobsApi } from './kube.ts';
import { parsePolicy, type Policy } from './policy.ts';
import { GITHUB_ISSUER } from './tokens.ts';

/** ENV names the environment variables the dispatcher reads. */
export const ENV = {
  cluster: 'KBUILD_CLUSTER',
  location: 'KBUILD_LOCATION',
  project: 'KBUILD_PROJECT_ID',
  kubeconfig: 'KBUILD_KUBECONFIG',
  useInternalIp: 'KBUILD_USE_INTERNAL_IP',
  useDnsBasedEndpoint: 'KBUILD_USE_DNS_BASED_ENDPOINT',
  useConnectGateway: 'KBUILD_USE_CONNECT_GATEWAY',
  fleetMembershipName: 'KBUILD_FLEET_MEMBERSHIP_NAME',
  namespace: 'KBUILD_NAMESPACE',
  issuer: 'KBUILD_OIDC_ISSUER',
  audience: 'KBUILD_AUDIENCE',
  policy: 'KBUILD_POLICY',
  policyFile: 'KBUILD_POLICY_FILE',
  serverUrl: 'KBUILD_GITHUB_SERVER_URL',
  concurrency: 'KBUILD_CONCURRENCY',
} as const;

/** DispatcherConfig is the validated configuration. */
export interface DispatcherConfig {
  /** auth: the GKE cluster (reached with Application Default Credentials) or a kubeconfig path. */
  auth: AuthConfig;
  namespace: string;
  /** issuer: the OIDC issuer of the callers' tokens, without a trailing `/`. */
  issuer: string;
  /** audience: the `aud` callers' tokens must carry: the dispatcher's own URL, without a trailing `/`. */
  audience: string;
  policy: Policy;
  /** serverUrl: the GitHub server, for workflow run URLs in annotations. */
  serverUrl: string;
  /** project: the Google Cloud project, for trace names in logs. */
  project?: string;
  endpoints: GoogleEndpoints;
  fanout: FanoutOptions;
}

/** ConfigError lists every configuration problem, naming the variables. */
export class ConfigError extends Error {
  constructor(problems: readonly string[]) {
    super(`dispatcher configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const INPUT_TO_ENV: Readonly<Record<string, string>> = {
  cluster: ENV.cluster,
  location: ENV.location,
  project_id: ENV.project,
  kubeconfig: ENV.kubeconfig,
  use_internal_ip: ENV.useInternalIp,
  use_dns_based_endpoint: ENV.useDnsBasedEndpoint,
  use_connect_gateway: ENV.useConnectGateway,
  fleet_membership_name: ENV.fleetMembershipName,
};

function url(name: string, value: string, problems: string[]): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'https:' || u.protocol === 'http:') return value.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  problems.push(`${name} is ${JSON.stringify(value)}: use an http(s) URL`);
  return value;
}

/**
 * configFromEnv reads the configuration from env (pass process.env). Required: KBUILD_AUDIENCE,
 * one of KBUILD_POLICY (JSON) and KBUILD_POLICY_FILE (path), and one of KBUILD_CLUSTER (with
 * KBUILD_LOCATION and KBUILD_PROJECT_ID, or a full projects/P/locations/L/clusters/C name) and
 * KBUILD_KUBECONFIG. Throws one ConfigError listing every problem.
 */
export function configFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): DispatcherConfig {
  const problems: string[] = [];
  const get = (name: string) => env[name]?.trim() ?? '';
  const raw: RawBuildInputs = {
    cluster: get(ENV.cluster),
    location: get(ENV.location),
    project_id: get(ENV.project),
    kubeconfig: get(ENV.kubeconfig),
    // A private cluster's endpoint (docs/private-clusters.md).
    use_internal_ip: get(ENV.useInternalIp),
    use_dns_based_endpoint: get(ENV.useDnsBasedEndpoint),
    use_connect_gateway: get(ENV.useConnectGateway),
    fleet_membership_name: get(ENV.fleetMembershipName),
  };
  let auth: AuthConfig = {};
  if ((raw.cluster === '') === (raw.kubeconfig === '')) {
    problems.push(
      `set ${ENV.cluster} (with ${ENV.location} and ${ENV.project}) for a GKE cluster, or ${ENV.kubeconfig}; one of them`,
    );
  } else {
    try {
      auth = validateAuthConfig(raw, { create: true });
    } catch (err) {
      const issues =
        err instanceof InputError ? err.issues : [{ input: '', message: (err as Error).message }];
      for (const i of issues)
        problems.push(
          i.message.replace(
            /(?:inputs? )?"([a-z_]+)"/g,
            (m, input: string) => INPUT_TO_ENV[input] ?? m,
          ),
        );
    }
  }
  // The same default as the action's `namespace` input: the namespace deploy/kubernetes makes.
  const namespace = get(ENV.namespace) || (INPUT_DEFAULTS.namespace ?? 'kbuild');
  if (!isDns1123Label(namespace))
    problems.push(
      `${ENV.namespace} is ${JSON.stringify(namespace)}: use a namespace name (DNS-1123 label)`,
    );
  const issuer = url(ENV.issuer, get(ENV.issuer) || GITHUB_ISSUER, problems);
  let audience = get(ENV.audience);
  if (audience === '')
    problems.push(
      `${ENV.audience} is required: set it to the dispatcher's URL (callers request their token for it)`,
    );
  else audience = url(ENV.audience, audience, problems);
  const serverUrl = url(ENV.serverUrl, get(ENV.serverUrl) || 'https://github.com', problems);
  let policy: Policy | undefined;
  const [inline, file] = [get(ENV.policy), get(ENV.policyFile)];
  if ((inline === '') === (file === '')) {
    problems.push(
      `set exactly one of ${ENV.policy} (the policy as JSON) and ${ENV.policyFile} (a path to it)`,
    );
  } else {
    try {
      const text = inline !== '' ? inline : readFile(file);
      policy = parsePolicy(JSON.parse(text));
    } catch (err) {
      problems.push(
        `${inline !== '' ? ENV.policy : `${ENV.policyFile} (${file})`}: ${(err as Error).message}`,
      );
    }
  }
  const concurrency = Number(get(ENV.concurrency) || DEFAULT_FANOUT.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    problems.push(`${ENV.concurrency} must be a whole number from 1 to 64`);
  let endpoints: GoogleEndpoints | undefined;
  try {
    endpoints = endpointsFromEnv(env);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length > 0 || !policy || !endpoints) throw new ConfigError(problems);
  const project = auth.projectId ?? (get('GOOGLE_CLOUD_PROJECT') || undefined);
  return {
    auth,
    namespace,
    issuer,
    audience,
    policy,
    serverUrl,
    ...(project ? { project } : {}),
    endpoints,
    fanout: { ...DEFAULT_FANOUT, concurrency },
  };
}

/**
 * connectJobs reaches the cluster: a kubeconfig file as it is, or the GKE cluster through
 * `clusters.get` with Application Default Credentials (the function's runtime service account),
 * whose tokens are refreshed before they expire. Tokens are never logged.
 */
export async function connectJobs(config: DispatcherConfig): Promise<JobsApi> {
  // The Kubernetes and Google clients are most of the bundle: loaded on the first request that
  // needs the cluster, not before the function's first answer (cold start, docs/benchmarks.md).
  const [{ connect }, { KubeJobsApi }] = await Promise.all([
    import('../../src/core/build/connect.ts'),
    import('./kube.ts'),
  ]);
  const clients = await connect(config.auth, {
    endpoints: config.endpoints,
    mask: () => undefined,
  });
  return new KubeJobsApi(clients.kubeConfig);
}
