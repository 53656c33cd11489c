/**
 * permissions.ts: the Kubernetes permissions a build needs, checked up front
 * with SelfSubjectAccessReview (as actions/runner-container-hooks does), so a
 * missing RBAC rule fails the step before anything is created, naming the
 * rule to add. deploy/kubernetes/ grants exactly these.
 */
import type { AccessCheck, KubeApi } from '../kube/api.ts';
import type { BuildSpec } from '../inputs/spec.ts';
import { needsCollector, needsPodProgram, stagesFromBucket } from '../manifest/podspec.ts';

/** checker answers a maker of SelfSubjectAccessReview attributes in namespace. */
function checker(namespace: string) {
  return (verb: string, group: string, resource: string, subresource?: string): AccessCheck => ({
    verb,
    group,
    resource,
    namespace,
    ...(subresource ? { subresource } : {}),
  });
}

/**
 * requiredPermissions lists every RBAC permission that runBuild (and the post
 * step) may use in the namespace for this spec, one SelfSubjectAccessReview
 * attribute each (authorization.k8s.io/v1 ResourceAttributes):
 * - always: `create` the Job (or bare Pod), and `get` it: a retried step whose
 *   create answers 409 adopts the existing one (create.ts);
 * - with `secret_env`: `create`, `patch` (the Job becomes its owner) and
 *   `delete` (when the Job cannot be created, and on cleanup) Secrets;
 * - with `watch`: `list`+`watch` Pods (and Jobs for `kind: job`), `get`
 *   pods/log, `list` events (the last events of a failure), and `delete` the
 *   Job or Pod: on cleanup, and also with `keep: true` when the step is
 *   cancelled, a Spot build is retried, or the post step finds it running;
 * - with `upload: cluster` or `staging: bucket` (and a bucket): `create`,
 *   `patch` and `delete` ConfigMaps (the pod program, owned by the Job like
 *   the Secret);
 * - with `watch` and a `context` staged over exec (`staging: exec`), or a
 *   `bucket` with `upload: runner`: exec (stage the source, collect the
 *   artifacts), which needs both `create` and `get` on pods/exec. With
 *   `upload: cluster` and `staging: bucket` a build needs no exec at all.
 * deploy/kubernetes/base/builder-role.yaml grants the union of all cases.
 */
export function requiredPermissions(
  spec: Pick<
    BuildSpec,
    | 'namespace'
    | 'kind'
    | 'watch'
    | 'secretEnv'
    | 'context'
    | 'bucket'
    | 'upload'
    | 'staging'
    | 'cache'
  >,
): AccessCheck[] {
  const c = checker(spec.namespace);
  const [group, owner] =
    spec.kind === 'job' ? (['batch', 'jobs'] as const) : (['', 'pods'] as const);
  const out: AccessCheck[] = [c('create', group, owner), c('get', group, owner)];
  if (Object.keys(spec.secretEnv).length > 0)
    out.push(c('create', '', 'secrets'), c('patch', '', 'secrets'), c('delete', '', 'secrets'));
  if (needsPodProgram(spec))
    out.push(
      c('create', '', 'configmaps'),
      c('patch', '', 'configmaps'),
      c('delete', '', 'configmaps'),
    );
  if (!spec.watch) return out;
  if (spec.kind === 'job') out.push(c('list', 'batch', 'jobs'), c('watch', 'batch', 'jobs'));
  out.push(
    c('list', '', 'pods'),
    c('watch', '', 'pods'),
    c('get', '', 'pods', 'log'),
    c('list', '', 'events'),
  );
  // Exec over WebSocket is an upgraded GET: the API server checks `get`, and
  // since Kubernetes 1.35 also `create` (AuthorizePodWebsocketUpgradeCreatePermission).
  if ((spec.context && !stagesFromBucket(spec)) || needsCollector(spec))
    out.push(c('create', '', 'pods', 'exec'), c('get', '', 'pods', 'exec'));
  out.push(c('delete', group, owner));
  return out;
}

/**
 * followPermissions lists what mode `dispatch` (wait: true) does with the step's own identity in
 * the dispatcher's namespace: `list` Pods (to find each build's), `get` pods/log, exec (`create`
 * and `get` pods/exec) when it stages a context or collects artifacts, and `delete` Jobs (a build
 * that cannot start or be staged). The dispatcher creates the Jobs with its own identity.
 */
export function followPermissions(
  namespace: string,
  o: { stage: boolean; collect: boolean },
): AccessCheck[] {
  const c = checker(namespace);
  const out = [c('list', '', 'pods'), c('get', '', 'pods', 'log')];
  if (o.stage || o.collect) out.push(c('create', '', 'pods', 'exec'), c('get', '', 'pods', 'exec'));
  out.push(c('delete', 'batch', 'jobs'));
  return out;
}

/** describeCheck renders a check like RBAC: `create batch/jobs`, `get pods/log`. */
export function describeCheck(a: AccessCheck): string {
  const res = `${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
  return `${a.verb} ${res}`;
}

/** DEPLOY_NAMESPACE is the namespace deploy/kubernetes/base creates and grants the builder's Role in. */
export const DEPLOY_NAMESPACE = 'kbuild';

/**
 * grantCommand says how the deploy kit grants the missing permissions in `namespace`: the
 * command that applies deploy/kubernetes/base (whose RoleBinding names the Google service
 * account `kbuild-builder@PROJECT_ID`), renamed into `namespace` when that is not `kbuild`.
 */
export function grantCommand(namespace: string): string {
  const project = "sed 's/@PROJECT_ID\\.iam/@YOUR_PROJECT.iam/'";
  if (namespace === DEPLOY_NAMESPACE) {
    return (
      'deploy/gcp/setup.sh applies the Role and RoleBinding that grant them (step 7), or by hand: ' +
      `kubectl kustomize deploy/kubernetes/base | ${project} | kubectl apply -f -`
    );
  }
  return (
    `deploy/kubernetes/base grants them in namespace "${DEPLOY_NAMESPACE}" (the default of input ` +
    `"namespace"); for "${namespace}": kubectl kustomize deploy/kubernetes/base | ${project} ` +
    `| sed 's/namespace: ${DEPLOY_NAMESPACE}$/namespace: ${namespace}/' | kubectl apply -f -`
  );
}

/** PermissionError: the identity lacks RBAC permissions; `missing` lists them. */
export class PermissionError extends Error {
  override name = 'PermissionError';
  readonly missing: AccessCheck[];
  constructor(missing: AccessCheck[], namespace: string) {
    super(
      `the identity of this step is missing Kubernetes permissions in namespace "${namespace}": ` +
        `${missing.map(describeCheck).join(', ')}. Grant them: ${grantCommand(namespace)}`,
    );
    this.missing = missing;
  }
}

/** checkPermissions throws PermissionError when any required permission is denied; a no-op when the client cannot check. */
export async function checkPermissions(
  kube: KubeApi,
  spec: Parameters<typeof requiredPermissions>[0],
): Promise<void> {
  if (!kube.canI) return;
  const missing = await kube.canI(requiredPermissions(spec));
  if (missing.length > 0) throw new PermissionError(missing, spec.namespace);
}
