// inputs/schema.ts: the names and defaults of the action's inputs (docs/design.md, "The action's inputs"), shared by
// the action, the CLI and the validators, and checked against action.yml by a unit test.

/** BUILD_INPUT_NAMES lists the inputs of mode `build` (snake_case, as in action.yml). */
export const BUILD_INPUT_NAMES = [
  'workload_identity_provider',
  'service_account',
  'audience',
  'project_id',
  'cluster',
  'location',
  'use_internal_ip',
  'use_dns_based_endpoint',
  'use_connect_gateway',
  'fleet_membership_name',
  'kubeconfig',
  'namespace',
  'image',
  'packages',
  'command',
  'package_target',
  'name',
  'arch',
  'cpu',
  'memory',
  'ephemeral_storage',
  'privileged',
  'spot',
  'node_pool',
  'compute_class',
  'node_selector',
  'tolerations',
  'service_account_name',
  'env',
  'secret_env',
  'context',
  'artifacts_path',
  'cache_bundle',
  'bucket',
  'destination',
  'kind',
  'timeout',
  'pending_timeout',
  'api_outage_budget',
  'watch',
  'create',
  'keep',
  'queue_name',
  'upload',
  'staging',
  'cache_key',
  'cache_restore_keys',
  'cache_path',
] as const;

/** OTHER_INPUT_NAMES lists the inputs only modes `dispatch` and `plan` read. */
export const OTHER_INPUT_NAMES = [
  'mode',
  'archs',
  'dispatcher_url',
  'wait',
  'dependencies',
  'package_paths',
  'github_token',
] as const;

/** BuildInputName is the name of one input of mode `build`. */
export type BuildInputName = (typeof BUILD_INPUT_NAMES)[number];

/** InputName is the name of any input of the action. */
export type InputName = BuildInputName | (typeof OTHER_INPUT_NAMES)[number];

/**
 * RawBuildInputs holds the raw strings of the build inputs. A missing key (or, except for
 * EMPTY_IS_A_VALUE inputs, an empty string) means "use the default".
 */
export type RawBuildInputs = Partial<Record<BuildInputName, string>>;

/** RawInputs holds the raw strings of every input. */
export type RawInputs = Partial<Record<InputName, string>>;

/**
 * INPUT_DEFAULTS are the defaults of the action's inputs (docs/design.md, "The action's
 * inputs"; the same as in action.yml). `namespace` is `kbuild`, the namespace deploy/kubernetes
 * creates and grants the builder's Role in.
 */
export const INPUT_DEFAULTS: Readonly<Partial<Record<InputName, string>>> = {
  mode: 'build',
  namespace: 'kbuild',
  command: 'make',
  package_target: 'package/{package}',
  arch: 'amd64',
  archs: 'amd64',
  cpu: '1',
  memory: '2Gi',
  privileged: 'false',
  spot: 'false',
  use_internal_ip: 'false',
  use_dns_based_endpoint: 'false',
  use_connect_gateway: 'false',
  service_account_name: 'default',
  context: '.',
  artifacts_path: 'packages',
  destination: '{owner}/{repo}/{run_id}-{run_attempt}/{arch}/{build}',
  kind: 'job',
  timeout: '2h',
  pending_timeout: '15m',
  api_outage_budget: '10m',
  watch: 'true',
  create: 'true',
  keep: 'false',
  upload: 'runner',
  staging: 'exec',
  cache_path: '/var/cache/kbuild',
  wait: 'true',
  package_paths: '*.yaml',
  github_token: '${{ github.token }}',
};

/** EMPTY_IS_A_VALUE lists the inputs where an explicit empty string differs from the default. */
export const EMPTY_IS_A_VALUE: readonly InputName[] = ['context', 'package_target'];

/**
 * inputValue returns the effective string of an input: the raw value trimmed, or the default
 * when it is missing, or empty for an input not in EMPTY_IS_A_VALUE. A default that is a workflow
 * expression (`${{ github.token }}`) is the runner's to fill in: here it means empty.
 */
export function inputValue(raw: RawInputs, name: InputName): string {
  const v = raw[name]?.trim();
  if (v === undefined || (v === '' && !EMPTY_IS_A_VALUE.includes(name))) {
    const d = INPUT_DEFAULTS[name] ?? '';
    return d.startsWith('${{') ? '' : d;
  }
  return v;
}
