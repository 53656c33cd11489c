// gke.ts: the GKE clusters API stand-in,
// `GET /v1/projects/{p}/locations/{l}/clusters/{c}` (and the list).
// Source: https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters/get
// and .../projects.locations.clusters#Cluster (fields name, location,
// status, endpoint, masterAuth.clusterCaCertificate = base64 of the PEM,
// currentMasterVersion).
import { readFile } from 'node:fs/promises';
import type { ClusterConfig, GoogleLabConfig } from './config.ts';
import { authenticate, requireCloudPlatformScope } from './auth.ts';
import { errorText, googleError, sendJson } from './http.ts';
import type { Handler } from './http.ts';
import type { TokenStore } from './tokens.ts';

const CLUSTERS_PATH = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/clusters(?:\/([^/:]+))?$/;

/** ClusterResource is the part of GKE's Cluster message the lab fills. */
export type ClusterResource = Record<string, unknown>;

/**
 * clusterResource renders the lab cluster as GKE's Cluster for a project id
 * and the CA PEM text (`masterAuth.clusterCaCertificate` is its base64).
 */
export function clusterResource(
  cluster: ClusterConfig,
  projectId: string,
  caPem: string,
): ClusterResource {
  const version = cluster.version;
  return {
    name: cluster.name,
    location: cluster.location,
    zone: cluster.location,
    status: 'RUNNING',
    endpoint: cluster.endpoint,
    masterAuth: { clusterCaCertificate: Buffer.from(caPem).toString('base64') },
    currentMasterVersion: version,
    currentNodeVersion: version,
    initialClusterVersion: version,
    selfLink: `https://container.googleapis.com/v1/projects/${projectId}/locations/${cluster.location}/clusters/${cluster.name}`,
    releaseChannel: { channel: 'REGULAR' },
    workloadIdentityConfig: { workloadPool: `${projectId}.svc.id.goog` },
  };
}

/** createGkeHandler serves the one configured cluster to any valid lab token. */
export function createGkeHandler(config: GoogleLabConfig, tokens: TokenStore): Handler {
  const projects = [config.projectId, config.projectNumber];
  const cluster = config.cluster;
  const render = async (): Promise<ClusterResource> => {
    let pem: string;
    try {
      pem = await readFile(cluster.caCertPath, 'utf8');
    } catch (err) {
      throw googleError(503, 'UNAVAILABLE', `lab cluster CA not readable: ${errorText(err)}`);
    }
    return clusterResource(cluster, config.projectId, pem);
  };
  return async (req, res, url) => {
    const m = CLUSTERS_PATH.exec(url.pathname);
    if (m === null || req.method !== 'GET') {
      throw googleError(404, 'NOT_FOUND', `Method not found: ${req.method} ${url.pathname}`);
    }
    requireCloudPlatformScope(authenticate(req, tokens));
    const [, project = '', location = '', name] = m;
    const projectMatches = projects.includes(project);
    const locationMatches = location === '-' || location === cluster.location;
    if (name === undefined) {
      const items = projectMatches && locationMatches ? [await render()] : [];
      return sendJson(res, 200, { clusters: items });
    }
    if (!projectMatches || !locationMatches || name !== cluster.name) {
      const message = `Not found: projects/${project}/locations/${location}/clusters/${name}.`;
      throw googleError(404, 'NOT_FOUND', message, {
        errors: [{ message, domain: 'global', reason: 'notFound' }],
      });
    }
    sendJson(res, 200, await render());
  };
}
