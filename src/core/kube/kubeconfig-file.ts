/**
 * kube/kubeconfig-file.ts: a kubeconfig file as a KubeConnection, through
 * `@kubernetes/client-node`'s `KubeConfig`, which reads every form of a kubeconfig's
 * credentials (token, token file, client certificate, exec plugin such as
 * gke-gcloud-auth-plugin, auth providers) and applies them to each request in
 * `applyToHTTPSOptions`. Only the `kubeconfig` input needs it: google/gke.ts imports this
 * module on demand, so a build on GKE never loads client-node (docs/benchmarks.md, "Bundle").
 */
import { dirname } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeConnection } from './connection.ts';

/**
 * kubeConfigFromText parses the text of the kubeconfig at `path` (relative paths in it are
 * taken from the file's folder, as kubectl does). Throws client-node's parse errors.
 */
export function kubeConfigFromText(text: string, path: string): KubeConnection {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  kc.makePathsAbsolute(dirname(path));
  return kc;
}
