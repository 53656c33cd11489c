// spec.ts: from a dispatch request to the build inputs of each (package, arch). The dispatcher
// validates them into the BuildSpecs it creates Jobs from; the action's mode dispatch does the
// same to know the names and destinations of the builds it follows.
import type { RawBuildInputs } from '../inputs/schema.ts';
import type { Arch } from '../inputs/parse.ts';
import { expandCacheKey, type DispatchRequest } from './request.ts';

/**
 * rawInputsOf maps a request onto the build inputs of one (package, arch) for validateBuildSpec
 * (also used by the action's dispatch mode, to find the same names and its destinations).
 */
export function rawInputsOf(
  req: DispatchRequest,
  pkg: string,
  arch: Arch,
  namespace: string,
): RawBuildInputs {
  const raw: RawBuildInputs = {
    namespace,
    image: req.image,
    packages: pkg,
    arch,
    cpu: req.cpu.canonical,
    memory: req.memory.canonical,
    privileged: String(req.privileged),
    // With stage, the pod waits for the caller's checkout; the path is the caller's business.
    context: req.stage ? '.' : '',
    kind: 'job',
    keep: 'true',
    watch: 'true',
  };
  if (req.command !== undefined) raw.command = req.command;
  if (req.packageTarget !== undefined) raw.package_target = req.packageTarget;
  if (req.timeout !== undefined) raw.timeout = req.timeout;
  if (req.queueName !== undefined) raw.queue_name = req.queueName;
  if (req.bucket !== undefined) raw.bucket = req.bucket;
  if (req.artifactsPath !== undefined) raw.artifacts_path = req.artifactsPath;
  if (req.upload !== undefined) raw.upload = req.upload;
  if (req.stagingCrc32c !== undefined) raw.staging = 'bucket';
  if (req.serviceAccountName !== undefined) raw.service_account_name = req.serviceAccountName;
  if (req.computeClass !== undefined) raw.compute_class = req.computeClass;
  if (req.nodeSelector !== undefined)
    raw.node_selector = Object.entries(req.nodeSelector)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
  if (req.tolerations !== undefined) raw.tolerations = req.tolerations.join('\n');
  if (req.cache) {
    raw.cache_key = expandCacheKey(req.cache.key, pkg, arch);
    raw.cache_restore_keys = req.cache.restoreKeys
      .map((k) => expandCacheKey(k, pkg, arch))
      .join('\n');
    if (req.cache.path !== undefined) raw.cache_path = req.cache.path;
  }
  return raw;
}
