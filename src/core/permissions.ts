/**
 * permissions.ts: the Kubernetes permissions a build needs, checked up front
 * with SelfSubjectAccessReview (as actions/runner-container-hooks does), so a
 * missing RBAC rule fails the step before anything is created, naming the
 * rule to add. deploy/kubernetes/ grants exactly these.
 */
import type { AccessCheck, KubeApi } from './kube-api.ts';
import type { BuildSpec } from './spec.ts';

/** requiredPermissions lists what runBuild will do in the namespace for this spec. */
export function requiredPermissions(
  spec: Pick<
    BuildSpec,
    'namespace' | 'kind' | 'watch' | 'keep' | 'secretEnv' | 'context' | 'bucket'
  >,
): AccessCheck[] {
  const ns = spec.namespace;
  const c = (verb: string, group: string, resource: string, subresource?: string): AccessCheck => ({
    verb,
    group,
    resource,
    namespace: ns,
    ...(subresource ? { subresource } : {}),
  });
  const out: AccessCheck[] = [];
  if (spec.kind === 'job') out.push(c('create', 'batch', 'jobs'));
  else out.push(c('create', '', 'pods'));
  if (Object.keys(spec.secretEnv).length > 0)
    out.push(c('create', '', 'secrets'), c('patch', '', 'secrets'), c('delete', '', 'secrets'));
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
  if (spec.context || spec.bucket)
    out.push(c('create', '', 'pods', 'exec'), c('get', '', 'pods', 'exec'));
  if (!spec.keep)
    out.push(spec.kind === 'job' ? c('delete', 'batch', 'jobs') : c('delete', '', 'pods'));
  return out;
}

/** describe renders a check like RBAC: `create batch/jobs`, `get pods/log`. */
export function describeCheck(a: AccessCheck): string {
  const res = `${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
  return `${a.verb} ${res}`;
}

/** PermissionError: the identity lacks RBAC permissions; `missing` lists them. */
export class PermissionError extends Error {
  override name = 'PermissionError';
  readonly missing: AccessCheck[];
  constructor(missing: AccessCheck[], namespace: string) {
    super(
      `the identity of this step is missing Kubernetes permissions in namespace "${namespace}": ` +
        `${missing.map(describeCheck).join(', ')}. Grant them with a Role bound to the service account ` +
        '(deploy/kubernetes/ has the least-privilege Role of the action).',
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
