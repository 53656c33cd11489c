// gke.ts: the GKE clusters API stand-in,
// `GET /v1/projects/{p}/locations/{l}/clusters/{c}` (and the list), and the fleet's Connect
// Gateway, `/v1/projects/{number}/locations/global/gkeMemberships/{cluster}/...`.
// Source: the GKE REST API v1, projects.locations.clusters.get and its Cluster
// message (fields name, location,
// status, endpoint, masterAuth.clusterCaCertificate = base64 of the PEM,
// currentMasterVersion, privateClusterConfig.privateEndpoint,
// controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint, fleet.membership).
// The three ways into a private cluster (docs/private-clusters.md) reach the
// lab API server too:
// - the private endpoint is a TCP forwarder on another 127.0.0.1 port (same
//   certificate, same CA);
// - the DNS-based endpoint is `localhost:PORT` (the API server's certificate
//   names localhost); it is meant to be trusted without the cluster CA, so a
//   client must trust the lab CA another way (NODE_EXTRA_CA_CERTS), the lab's
//   stand-in for Google's publicly trusted certificate;
// - the Connect Gateway authenticates the caller's Google access token and
//   forwards the request, upgrades (exec) included, to the API server with
//   that token, which the API server's token review webhook
//   (tokenreview.ts) maps to the same identity. The real gateway impersonates
//   the caller instead; what the cluster sees is the same user.
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { ClusterConfig, GoogleLabConfig } from './config.ts';
import { authenticate, requireCloudPlatformScope } from './auth.ts';
import { errorText, googleError, HttpError, sendJson } from './http.ts';
import type { Handler } from './http.ts';
import type { TokenStore } from './tokens.ts';

const CLUSTERS_PATH = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/clusters(?:\/([^/:]+))?$/;
const GATEWAY_PATH =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/gkeMemberships\/([^/]+)(\/.*)?$/;

/** ClusterResource is the part of GKE's Cluster message the lab fills. */
export type ClusterResource = Record<string, unknown>;

/** ControlPlaneEndpoints are the lab's ways to the API server besides `cluster.endpoint`. */
export interface ControlPlaneEndpoints {
  /** privateEndpoint: `127.0.0.1:PORT` of the forwarder (privateClusterConfig.privateEndpoint). */
  privateEndpoint?: string;
}

/** dnsEndpointOf is the lab's DNS-based endpoint: the API server's port on `localhost`. */
export function dnsEndpointOf(cluster: ClusterConfig): string {
  return cluster.endpoint.replace(/^[^:]+/, 'localhost');
}

/**
 * clusterResource renders the lab cluster as GKE's Cluster for a project id and number and the
 * CA PEM text (`masterAuth.clusterCaCertificate` is its base64).
 */
export function clusterResource(
  cluster: ClusterConfig,
  project: { id: string; number: string },
  caPem: string,
  endpoints: ControlPlaneEndpoints = {},
): ClusterResource {
  const version = cluster.version;
  return {
    name: cluster.name,
    location: cluster.location,
    zone: cluster.location,
    status: 'RUNNING',
    endpoint: cluster.endpoint,
    masterAuth: { clusterCaCertificate: Buffer.from(caPem).toString('base64') },
    ...(endpoints.privateEndpoint
      ? {
          privateClusterConfig: {
            enablePrivateNodes: true,
            privateEndpoint: endpoints.privateEndpoint,
          },
        }
      : {}),
    controlPlaneEndpointsConfig: {
      dnsEndpointConfig: { endpoint: dnsEndpointOf(cluster), allowExternalTraffic: true },
      ipEndpointsConfig: { enabled: true, enablePublicEndpoint: true },
    },
    fleet: {
      project: project.number,
      membership: `//gkehub.googleapis.com/projects/${project.number}/locations/global/memberships/${cluster.name}`,
    },
    currentMasterVersion: version,
    currentNodeVersion: version,
    initialClusterVersion: version,
    selfLink: `https://container.googleapis.com/v1/projects/${project.id}/locations/${cluster.location}/clusters/${cluster.name}`,
    releaseChannel: { channel: 'REGULAR' },
    workloadIdentityConfig: { workloadPool: `${project.id}.svc.id.goog` },
  };
}

/** Forwarder is a running TCP forwarder to the API server. */
export interface Forwarder {
  /** endpoint: `127.0.0.1:PORT`. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * startPrivateEndpoint forwards TCP connections from 127.0.0.1:port (0 = a free port) to target
 * (`HOST:PORT`): the lab's private endpoint, one more address of the same API server.
 */
export async function startPrivateEndpoint(target: string, port = 0): Promise<Forwarder> {
  const [host = '127.0.0.1', targetPort = '443'] = target.split(':');
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(targetPort), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    endpoint: `127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** GkeStandIn serves the clusters API and the Connect Gateway (requests and upgrades). */
export interface GkeStandIn {
  handler: Handler;
  /** upgrade serves the gateway's protocol upgrades (exec, attach: WebSocket or SPDY). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** HOP_BY_HOP are headers a proxy does not forward (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
]);

/**
 * createGkeHandler serves the one configured cluster to any valid lab token: clusters.get and
 * list, and the Connect Gateway path of the cluster's membership
 * (`/v1/projects/{project number}/locations/global/gkeMemberships/{cluster}/{Kubernetes path}`).
 */
export function createGkeHandler(
  config: GoogleLabConfig,
  tokens: TokenStore,
  endpoints: ControlPlaneEndpoints = {},
): GkeStandIn {
  const projects = [config.projectId, config.projectNumber];
  const cluster = config.cluster;
  const caPem = async (): Promise<string> => {
    try {
      return await readFile(cluster.caCertPath, 'utf8');
    } catch (err) {
      throw googleError(503, 'UNAVAILABLE', `lab cluster CA not readable: ${errorText(err)}`);
    }
  };
  const render = async (): Promise<ClusterResource> =>
    clusterResource(
      cluster,
      { id: config.projectId, number: config.projectNumber },
      await caPem(),
      endpoints,
    );
  /** gatewayPath authenticates a gateway request and answers the Kubernetes path it asks for. */
  const gatewayPath = (req: IncomingMessage, url: URL): string | undefined => {
    const m = GATEWAY_PATH.exec(url.pathname);
    if (m === null) return undefined;
    requireCloudPlatformScope(authenticate(req, tokens));
    const [, project = '', location = '', membership = '', rest = '/'] = m;
    if (project !== config.projectNumber || location !== 'global' || membership !== cluster.name) {
      const message = `Not found: projects/${project}/locations/${location}/memberships/${membership} (the gateway needs the project number).`;
      throw googleError(404, 'NOT_FOUND', message);
    }
    return `${rest}${url.search}`;
  };
  const upstream = (): { host: string; port: number } => {
    const [host = '127.0.0.1', port = '443'] = cluster.endpoint.split(':');
    return { host, port: Number(port) };
  };
  const forwardedHeaders = (req: IncomingMessage, upgrade: boolean): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || (HOP_BY_HOP.has(k) && !(upgrade && k === 'connection'))) continue;
      out[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    out.host = cluster.endpoint;
    return out;
  };

  const handler: Handler = async (req, res, url) => {
    const path = gatewayPath(req, url);
    if (path !== undefined) {
      const ca = await caPem();
      const { host, port } = upstream();
      await new Promise<void>((resolve) => {
        const out = httpsRequest(
          { host, port, ca, method: req.method, path, headers: forwardedHeaders(req, false) },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            answer.on('end', resolve);
            answer.on('error', () => {
              res.destroy();
              resolve();
            });
          },
        );
        out.on('error', (err) => {
          if (!res.headersSent) {
            sendJson(res, 502, {
              error: {
                code: 502,
                message: `connect gateway: ${err.message}`,
                status: 'UNAVAILABLE',
              },
            });
          } else res.destroy();
          resolve();
        });
        res.on('close', () => out.destroy());
        req.pipe(out);
      });
      return;
    }
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

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
    };
    let path: string | undefined;
    try {
      path = gatewayPath(req, new URL(req.url ?? '/', 'http://127.0.0.1'));
    } catch (err) {
      if (err instanceof HttpError) return refuse(err.status, err.body);
      return refuse(500, { error: { code: 500, message: errorText(err) } });
    }
    if (path === undefined) return refuse(404, { error: { code: 404, status: 'NOT_FOUND' } });
    const target = path;
    void caPem().then(
      (ca) => {
        const { host, port } = upstream();
        const up = tlsConnect(
          { host, port, ca, servername: host === '127.0.0.1' ? undefined : host },
          () => {
            const headers = forwardedHeaders(req, true);
            const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
            up.write(`${req.method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
            if (head.length > 0) up.write(head);
            up.pipe(socket).pipe(up);
          },
        );
        const end = (): void => {
          up.destroy();
          socket.destroy();
        };
        up.on('error', end);
        socket.on('error', end);
        socket.on('close', () => up.destroy());
        up.on('close', () => socket.destroy());
      },
      () => refuse(503, { error: { code: 503, message: 'lab cluster CA not readable' } }),
    );
  };

  return { handler, upgrade };
}
