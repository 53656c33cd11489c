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
// - the Connect Gateway listens on its own HTTPS port (the API server's
//   certificate, so also trusted through NODE_EXTRA_CA_CERTS only),
//   authenticates the caller's Google access token and forwards the request,
//   upgrades (exec) included, to the API server with that token, which the
//   API server's token review webhook (tokenreview.ts) maps to the same
//   identity. The real gateway impersonates the caller instead; what the
//   cluster sees is the same user.
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { ClusterConfig, GoogleLabConfig } from './config.ts';
import { authenticate, requireCloudPlatformScope } from './auth.ts';
import { errorText, googleError, HttpError, sendJson } from './http.ts';
import type { Handler, Logger } from './http.ts';
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

/** Gateway is the running Connect Gateway stand-in. */
export interface Gateway {
  /** url: `https://127.0.0.1:PORT/`, the CLOUDSDK_API_ENDPOINT_OVERRIDES_CONNECTGATEWAY value. */
  url: string;
  close(): Promise<void>;
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
  'upgrade',
]);

/** readCa reads the lab CA, or throws Google's 503. */
async function readCa(cluster: ClusterConfig): Promise<string> {
  try {
    return await readFile(cluster.caCertPath, 'utf8');
  } catch (err) {
    throw googleError(503, 'UNAVAILABLE', `lab cluster CA not readable: ${errorText(err)}`);
  }
}

/** autopilotName is the name of the lab cluster's Autopilot view (`lab-autopilot`). */
export function autopilotName(cluster: ClusterConfig): string {
  return `${cluster.name}-autopilot`;
}

/**
 * createGkeHandler serves the configured cluster to any valid lab token: clusters.get and the
 * list. The same API server is also answered as an Autopilot cluster, `NAME-autopilot`
 * (`autopilot.enabled: true`, no private endpoint or fleet membership), so the action's checks
 * for Autopilot clusters run on the lab (docs/autopilot.md).
 */
export function createGkeHandler(
  config: GoogleLabConfig,
  tokens: TokenStore,
  endpoints: ControlPlaneEndpoints = {},
): Handler {
  const projects = [config.projectId, config.projectNumber];
  const cluster = config.cluster;
  const project = { id: config.projectId, number: config.projectNumber };
  const render = async (name: string): Promise<ClusterResource> => {
    const ca = await readCa(cluster);
    if (name === cluster.name) return clusterResource(cluster, project, ca, endpoints);
    const { fleet: _fleet, ...standard } = clusterResource({ ...cluster, name }, project, ca);
    return { ...standard, autopilot: { enabled: true } };
  };
  const names = [cluster.name, autopilotName(cluster)];
  return async (req, res, url) => {
    const m = CLUSTERS_PATH.exec(url.pathname);
    if (m === null || req.method !== 'GET') {
      throw googleError(404, 'NOT_FOUND', `Method not found: ${req.method} ${url.pathname}`);
    }
    requireCloudPlatformScope(authenticate(req, tokens));
    const [, projectName = '', location = '', name] = m;
    const projectMatches = projects.includes(projectName);
    const locationMatches = location === '-' || location === cluster.location;
    if (name === undefined) {
      const items =
        projectMatches && locationMatches ? await Promise.all(names.map((n) => render(n))) : [];
      return sendJson(res, 200, { clusters: items });
    }
    if (!projectMatches || !locationMatches || !names.includes(name)) {
      const message = `Not found: projects/${projectName}/locations/${location}/clusters/${name}.`;
      throw googleError(404, 'NOT_FOUND', message, {
        errors: [{ message, domain: 'global', reason: 'notFound' }],
      });
    }
    sendJson(res, 200, await render(name));
  };
}

/** GatewayOptions: the serving certificate and key (PEM files) and the port (0 = a free one). */
export interface GatewayOptions {
  certPath: string;
  keyPath: string;
  port?: number;
  log: Logger;
}

/**
 * startConnectGateway serves the Connect Gateway of the cluster's membership on
 * `https://127.0.0.1:PORT/`: `/v1/projects/{project number}/locations/global/gkeMemberships/{cluster}/{Kubernetes path}`
 * forwards requests and protocol upgrades (exec) to the API server with the caller's access
 * token, after checking it like every stand-in (401/403 in Google's shape). Another project, a
 * project id instead of its number, or another membership is a 404.
 */
export async function startConnectGateway(
  config: GoogleLabConfig,
  tokens: TokenStore,
  o: GatewayOptions,
): Promise<Gateway> {
  const cluster = config.cluster;
  const [host = '127.0.0.1', portText = '443'] = cluster.endpoint.split(':');
  const port = Number(portText);
  /** target authenticates a gateway request and answers the Kubernetes path it asks for. */
  const target = (req: IncomingMessage): string => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const m = GATEWAY_PATH.exec(url.pathname);
    if (m === null) throw googleError(404, 'NOT_FOUND', `Method not found: ${url.pathname}`);
    requireCloudPlatformScope(authenticate(req, tokens));
    const [, project = '', location = '', membership = '', rest = '/'] = m;
    if (project !== config.projectNumber || location !== 'global' || membership !== cluster.name) {
      const message = `Not found: projects/${project}/locations/${location}/memberships/${membership} (the gateway needs the project number).`;
      throw googleError(404, 'NOT_FOUND', message);
    }
    return `${rest}${url.search}`;
  };
  const headersOf = (req: IncomingMessage, upgrade: boolean): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (
        v === undefined ||
        (HOP_BY_HOP.has(k) && !(upgrade && (k === 'connection' || k === 'upgrade')))
      )
        continue;
      out[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    out.host = cluster.endpoint;
    return out;
  };
  const fail = (res: ServerResponse, err: unknown): void => {
    if (res.headersSent) return void res.destroy();
    if (err instanceof HttpError) return sendJson(res, err.status, err.body, err.headers);
    sendJson(res, 502, {
      error: { code: 502, message: `connect gateway: ${errorText(err)}`, status: 'UNAVAILABLE' },
    });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    res.on('finish', () =>
      o.log(`gateway ${req.method} ${res.statusCode} ${Date.now() - started}ms`),
    );
    let path: string;
    try {
      path = target(req);
    } catch (err) {
      return fail(res, err);
    }
    readCa(cluster).then(
      (ca) => {
        const out = httpsRequest(
          { host, port, ca, method: req.method, path, headers: headersOf(req, false) },
          (answer) => {
            const headers = Object.fromEntries(
              Object.entries(answer.headers).filter(([k]) => !HOP_BY_HOP.has(k)),
            );
            res.writeHead(answer.statusCode ?? 502, headers);
            answer.pipe(res);
            answer.on('error', () => res.destroy());
          },
        );
        out.on('error', (err) => fail(res, err));
        res.on('close', () => out.destroy());
        req.pipe(out);
      },
      (err: unknown) => fail(res, err),
    );
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
    };
    let path: string;
    try {
      path = target(req);
    } catch (err) {
      if (err instanceof HttpError) return refuse(err.status, err.body);
      return refuse(500, { error: { code: 500, message: errorText(err) } });
    }
    o.log(`gateway upgrade ${req.method}`);
    readCa(cluster).then(
      (ca) => {
        const up = tlsConnect({ host, port, ca }, () => {
          const lines = Object.entries(headersOf(req, true)).map(([k, v]) => `${k}: ${v}`);
          up.write(`${req.method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
          if (head.length > 0) up.write(head);
          up.pipe(socket).pipe(up);
        });
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

  const [cert, key] = await Promise.all([readFile(o.certPath), readFile(o.keyPath)]);
  const server = createHttpsServer({ cert, key }, onRequest);
  server.on('upgrade', onUpgrade);
  const sockets = new Set<Duplex>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${bound}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
