// metadata.ts: the GKE metadata server stand-in (what GCE_METADATA_HOST of
// every lab pod points at), with Workload Identity Federation for GKE.
// Sources: https://cloud.google.com/compute/docs/metadata/querying-metadata
// (the `Metadata-Flavor: Google` request and answer header, directory
// listings, `?recursive=true` and `?alt=json`, requests carrying
// `X-Forwarded-For` refused), https://cloud.google.com/compute/docs/metadata/predefined-metadata-keys
// and https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#metadata_server
// (the subset the GKE metadata server serves to pods). What clients ask:
// gcp-metadata pings `instance`, gcloud `project/numeric-project-id`,
// `instance/service-accounts/`, `.../default/email`, `universe/universe-domain`,
// google-auth (Python) `GET /` at GCE_METADATA_IP and
// `.../default/?recursive=true`; all then `.../default/token[?scopes=a,b]`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { GoogleLabConfig } from './config.ts';
import type { Handler } from './http.ts';
import { errorText } from './http.ts';
import { mayGetAccessToken } from './iam.ts';
import type { ServiceAccountPolicies } from './iam-policy.ts';
import { podIdentity } from './metadata-identity.ts';
import type { GkePool, PodIdentity } from './metadata-identity.ts';
import { PodGoneError } from './metadata-pods.ts';
import type { ConnectionPodFinder, KsaLookup, PodRef } from './metadata-pods.ts';
import type { TokenStore } from './tokens.ts';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const V1 = '/computeMetadata/v1/';

/** MetadataOptions are the metadata server's collaborators (fakes in unit tests). */
export interface MetadataOptions {
  config: GoogleLabConfig;
  tokens: TokenStore;
  /** accounts are the service accounts' policies (roles/iam.workloadIdentityUser). */
  accounts: ServiceAccountPolicies;
  /** findPod answers the pod behind a connection (procConnectionPodFinder on the lab). */
  findPod: ConnectionPodFinder;
  /** ksaOf reads the pod's service account (apiKsaLookup on the lab). */
  ksaOf: KsaLookup;
  now?: () => number;
}

/** MetadataAnswer is one answer: status, text or JSON body. */
interface MetadataAnswer {
  status: number;
  body: string;
  json?: boolean;
}

const text = (body: string, status = 200): MetadataAnswer => ({ status, body });
const json = (value: unknown): MetadataAnswer => ({
  status: 200,
  body: JSON.stringify(value),
  json: true,
});
const listing = (entries: string[]): MetadataAnswer => text(entries.map((e) => `${e}\n`).join(''));
const notFound = (): MetadataAnswer => text('Not Found\n', 404);

/**
 * createMetadataHandler serves the metadata routes (file comment). Every
 * answer carries `Metadata-Flavor: Google`; requests under /computeMetadata
 * without that request header (or with X-Forwarded-For) get 403. Service
 * account routes need the caller to be a lab pod; its KSA decides the
 * identity (metadata-identity.ts podIdentity). Tokens are cached per
 * identity and scopes and handed out again while at least half of their
 * lifetime is left, like a metadata server's cache; `expires_in` counts down.
 */
export function createMetadataHandler(options: MetadataOptions): Handler {
  const { config } = options;
  const now = options.now ?? Date.now;
  const pool: GkePool = {
    projectId: config.projectId,
    projectNumber: config.projectNumber,
    workloadPool: config.gke.workloadPool,
    cluster: { name: config.cluster.name, location: config.cluster.location },
  };
  const zone = /-[a-z]$/.test(config.cluster.location)
    ? config.cluster.location
    : `${config.cluster.location}-a`;
  const pods = new WeakMap<Socket, PodRef | null>();
  const cache = new Map<string, { token: string; expiresAt: number }>();

  const podOf = (req: IncomingMessage): PodRef | undefined => {
    const s = req.socket;
    if (!pods.has(s)) {
      const client = { address: s.remoteAddress ?? '', port: s.remotePort ?? 0 };
      const server = { address: s.localAddress ?? '', port: s.localPort ?? 0 };
      let pod: PodRef | undefined;
      try {
        pod = options.findPod(client, server);
      } catch {
        // procfs or the runtime's state directory unreadable: no pod (403 below).
        pod = undefined;
      }
      pods.set(s, pod ?? null);
    }
    return pods.get(s) ?? undefined;
  };

  const identityOf = async (req: IncomingMessage): Promise<PodIdentity | MetadataAnswer> => {
    const pod = podOf(req);
    if (pod === undefined) {
      return text(
        'The lab metadata server found no lab pod behind this connection; it serves service accounts to pods only (see lab/google/README.md).\n',
        403,
      );
    }
    try {
      const ksa = await options.ksaOf(pod);
      return podIdentity(pool, ksa, (email, ids) =>
        mayGetAccessToken(options.accounts, email, ids),
      );
    } catch (err) {
      if (err instanceof PodGoneError) return text(`${err.message}\n`, 404);
      return text(
        `GKE Metadata Server: cannot read the pod's service account: ${errorText(err)}\n`,
        503,
      );
    }
  };

  const token = (id: PodIdentity, scopes: string[]): MetadataAnswer => {
    if (id.kind === 'refused') return text(id.message, id.status);
    const key = `${id.kind}\0${id.kind === 'federated' ? id.identity.principal : id.email}\0${scopes.join(' ')}`;
    const lifetimeMs = config.accessTokenLifetimeSeconds * 1000;
    let entry = cache.get(key);
    if (
      entry === undefined ||
      entry.expiresAt - now() < lifetimeMs / 2 ||
      options.tokens.lookup(entry.token) === undefined
    ) {
      const expiresAt = now() + lifetimeMs;
      const issued =
        id.kind === 'federated'
          ? options.tokens.issue({ ...id.identity, scopes, expiresAt })
          : options.tokens.issue({ kind: 'serviceAccount', email: id.email, scopes, expiresAt });
      entry = { token: issued, expiresAt };
      cache.set(key, entry);
    }
    return json({
      access_token: entry.token,
      expires_in: Math.max(0, Math.floor((entry.expiresAt - now()) / 1000)),
      token_type: 'Bearer',
    });
  };

  const serviceAccount = async (
    req: IncomingMessage,
    url: URL,
    rest: string[],
  ): Promise<MetadataAnswer> => {
    const id = await identityOf(req);
    if (!('kind' in id)) return id;
    const [account = '', leaf = '', ...more] = rest;
    if (account === '') return listing(['default/', `${id.email}/`]);
    if ((account !== 'default' && account !== id.email) || more.length > 0) return notFound();
    const scopes = [CLOUD_PLATFORM];
    switch (leaf) {
      case '':
        return url.searchParams.get('recursive') === 'true'
          ? json({ aliases: ['default'], email: id.email, scopes })
          : listing(['aliases', 'email', 'identity', 'scopes', 'token']);
      case 'email':
        return text(id.email);
      case 'aliases':
        return text('default');
      case 'scopes':
        return listing(scopes);
      case 'token': {
        const asked = (url.searchParams.get('scopes') ?? '').split(/[,\s]+/).filter(Boolean);
        return token(id, asked.length > 0 ? asked : scopes);
      }
      case 'identity':
        return text('The lab metadata server does not issue ID tokens.\n', 404);
      default:
        return notFound();
    }
  };

  const route = async (req: IncomingMessage, url: URL): Promise<MetadataAnswer> => {
    if (url.pathname === '/') return listing(['computeMetadata/']);
    if (url.pathname === '/computeMetadata' || url.pathname === '/computeMetadata/') {
      return listing(['v1/']);
    }
    if (!url.pathname.startsWith(V1) && url.pathname !== V1.slice(0, -1)) return notFound();
    const parts = url.pathname.slice(V1.length).split('/');
    // A directory may be asked for with or without its trailing slash.
    if (parts.at(-1) === '') parts.pop();
    const [top = '', ...rest] = parts;
    const attributes: Record<string, string> = {
      'cluster-location': config.cluster.location,
      'cluster-name': config.cluster.name,
    };
    switch (top) {
      case '':
        return listing(['instance/', 'project/', 'universe/']);
      case 'project':
        if (rest.length === 0) return listing(['numeric-project-id', 'project-id']);
        if (rest.join('/') === 'project-id') return text(config.projectId);
        if (rest.join('/') === 'numeric-project-id') return text(config.projectNumber);
        return notFound();
      case 'universe':
        if (rest.length === 0) return listing(['universe-domain']);
        return rest.join('/') === 'universe-domain' ? text('googleapis.com') : notFound();
      case 'instance': {
        const [key = '', ...sub] = rest;
        if (key === '') {
          return listing(['attributes/', 'hostname', 'id', 'name', 'service-accounts/', 'zone']);
        }
        if (key === 'service-accounts') return serviceAccount(req, url, sub);
        if (key === 'attributes') {
          if (sub.length === 0) return listing(Object.keys(attributes));
          const v = attributes[sub.join('/')];
          return v === undefined ? notFound() : text(v);
        }
        if (sub.length > 0) return notFound();
        if (key === 'zone') return text(`projects/${config.projectNumber}/zones/${zone}`);
        if (key === 'name' || key === 'hostname') {
          const pod = podOf(req);
          const name = pod === undefined ? `gke-${config.cluster.name}-node` : pod.name;
          return text(key === 'name' ? name : `${name}.${zone}.c.${config.projectId}.internal`);
        }
        if (key === 'id') return text('1000000000000000001');
        return notFound();
      }
      default:
        return notFound();
    }
  };

  return async (req, res, url) => {
    req.resume();
    let answer: MetadataAnswer;
    if (
      url.pathname.startsWith('/computeMetadata') &&
      req.headers['metadata-flavor'] !== 'Google'
    ) {
      answer = text('Missing required header "Metadata-Flavor": "Google"\n', 403);
    } else if (req.headers['x-forwarded-for'] !== undefined) {
      answer = text('Requests with an X-Forwarded-For header are refused.\n', 403);
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      answer = text('Method not allowed\n', 405);
    } else {
      answer = await route(req, url);
      if (answer.status === 200 && !answer.json && url.searchParams.get('alt') === 'json') {
        answer = json(answer.body);
      }
    }
    send(res, answer, req.method === 'HEAD');
  };
}

function send(res: ServerResponse, a: MetadataAnswer, head: boolean): void {
  res.writeHead(a.status, {
    'metadata-flavor': 'Google',
    server: 'GKE Metadata Server',
    'content-type': a.json ? 'application/json' : 'application/text',
    'content-length': Buffer.byteLength(a.body),
  });
  res.end(head ? undefined : a.body);
}
