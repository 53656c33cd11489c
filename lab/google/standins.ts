// standins.ts: starts every Google stand-in on its own 127.0.0.1 port.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { GoogleLabConfig } from './config.ts';
import { createGcsHandler } from './gcs/api.ts';
import { GcsStore } from './gcs/store.ts';
import { createGkeHandler, startConnectGateway, startPrivateEndpoint } from './gke.ts';
import { listen } from './http.ts';
import type { Listening, Logger } from './http.ts';
import { createIamHandler } from './iam.ts';
import { BucketPolicies } from './gcs/iam.ts';
import { ServiceAccountPolicies } from './iam-policy.ts';
import { createLabBindingsHandler } from './lab-bindings.ts';
import { createMetadataHandler } from './metadata.ts';
import { apiKsaLookup, procConnectionPodFinder } from './metadata-pods.ts';
import type { ConnectionPodFinder, KsaLookup } from './metadata-pods.ts';
import { createOidcIssuer, idTokenRequestUrl } from './oidc-issuer.ts';
import type { OidcIssuer } from './oidc-issuer.ts';
import { createStsHandler } from './sts.ts';
import { createTokenReviewHandler } from './tokenreview.ts';
import { TokenStore } from './tokens.ts';
import { providerResourceName } from './wif.ts';

/** StandInUrls are the base URLs (no trailing slash) of the running stand-ins. */
export interface StandInUrls {
  /** oidcIssuer is the issuer (`iss`) of the lab's GitHub ID tokens. */
  oidcIssuer: string;
  /** idTokenRequest is ACTIONS_ID_TOKEN_REQUEST_URL (ends with `?api-version=2.0`). */
  idTokenRequest: string;
  sts: string;
  iam: string;
  gke: string;
  gcs: string;
  /** tokenReview is the full webhook URL for kube-apiserver (`.../tokenreview`). */
  tokenReview: string;
  /** metadata is the GKE metadata server (`http://127.0.0.1:PORT`; pods get its host:port). */
  metadata: string;
  /** connectGateway is the Connect Gateway's base URL (`https://127.0.0.1:PORT/`, lab CA); `` when not started. */
  connectGateway: string;
}

/** GoogleStandIns are the running stand-ins and the handles tests use. */
export interface GoogleStandIns {
  urls: StandInUrls;
  /** requestToken is ACTIONS_ID_TOKEN_REQUEST_TOKEN; it also guards the issuer's /_lab routes. */
  requestToken: string;
  /** issuer mints ID tokens in-process (good or deliberately bad). */
  issuer: OidcIssuer;
  tokens: TokenStore;
  /** buckets are the buckets' IAM policies (GCS checks them). */
  buckets: BucketPolicies;
  /** accounts are the service accounts' IAM policies (IAM Credentials and the metadata server check them). */
  accounts: ServiceAccountPolicies;
  /** gcs is the object store (dataPath finds an object's bytes on disk). */
  gcs: GcsStore;
  /** env is what these stand-ins contribute to .lab/env (the names docs/lab.md lists). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * StartOptions: where log lines go (default: stderr with a timestamp), and
 * how the metadata server finds the calling pod and its service account
 * (default: procfs and the API server of `config.gke`; tests pass fakes).
 */
export interface StartOptions {
  log?: Logger;
  findPod?: ConnectionPodFinder;
  ksaOf?: KsaLookup;
}

/** stderrLogger writes `<RFC 3339 time> <line>` to stderr. */
export const stderrLogger: Logger = (line) => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

/**
 * startGoogleStandIns starts the OIDC issuer, STS, IAM Credentials, GKE,
 * GCS and TokenReview stand-ins on `config.ports` (0 = ephemeral) and
 * resolves once all listen. GCS objects persist under config.gcs.stateDir;
 * tokens and upload sessions live in memory. close() stops every server.
 */
export async function startGoogleStandIns(
  config: GoogleLabConfig,
  options: StartOptions = {},
): Promise<GoogleStandIns> {
  const log = options.log ?? stderrLogger;
  const started: Listening[] = [];
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all([...started.map((l) => l.close()), ...closers.map((c) => c())]);
  };
  try {
    let issuerUrl = config.oidc.issuer;
    const issuer = await createOidcIssuer(config.oidc, () => issuerUrl);
    const oidc = await listen('oidc', config.ports.oidc, issuer.handler, log);
    started.push(oidc);
    if (issuerUrl === '') issuerUrl = oidc.url;

    const tokens = new TokenStore();
    const buckets = new BucketPolicies(config.gcs.iam, tokens);
    const accounts = new ServiceAccountPolicies(config.serviceAccounts);
    const findPod: ConnectionPodFinder =
      options.findPod ??
      (config.gke.runtimeStateDir === ''
        ? () => undefined
        : procConnectionPodFinder(config.gke.procRoot, resolve(config.gke.runtimeStateDir)));
    const ksaOf: KsaLookup =
      options.ksaOf ??
      (config.gke.kubeconfig === ''
        ? () => Promise.reject(new Error('the lab config has no gke.kubeconfig'))
        : apiKsaLookup(resolve(config.gke.kubeconfig)));
    const store = GcsStore.open(resolve(config.gcs.stateDir));
    for (const name of config.gcs.buckets) {
      if (store.bucket(name) !== undefined) continue;
      store.createBucket({
        name,
        projectNumber: config.projectNumber,
        location: 'US',
        storageClass: 'STANDARD',
        timeCreated: new Date().toISOString(),
      });
    }
    const caPath = resolve(config.cluster.caCertPath);
    const cluster = { ...config.cluster, caCertPath: caPath };
    const privateEndpoint = await startPrivateEndpoint(cluster.endpoint);
    closers.push(() => privateEndpoint.close());
    const gkeHandler = createGkeHandler({ ...config, cluster }, tokens, {
      privateEndpoint: privateEndpoint.endpoint,
    });
    // The gateway serves the API server's certificate (lab/scripts/pki.sh writes it beside the
    // CA); without one (a test's own CA) there is no gateway.
    const pki = dirname(caPath);
    const [certPath, keyPath] = [join(pki, 'apiserver.crt'), join(pki, 'apiserver.key')];
    let gatewayUrl = '';
    if (existsSync(certPath) && existsSync(keyPath)) {
      const gateway = await startConnectGateway({ ...config, cluster }, tokens, {
        certPath,
        keyPath,
        log,
      });
      closers.push(() => gateway.close());
      gatewayUrl = gateway.url;
    } else {
      log(`connect gateway not started: no ${certPath}`);
    }
    const services: [string, number, Parameters<typeof listen>[2]][] = [
      ['sts', config.ports.sts, createStsHandler(config, tokens, () => issuerUrl)],
      [
        'iam',
        config.ports.iam,
        createIamHandler(
          config,
          tokens,
          accounts,
          createLabBindingsHandler(buckets, accounts, () => issuer.requestToken),
        ),
      ],
      ['gke', config.ports.gke, gkeHandler],
      [
        'gcs',
        config.ports.gcs,
        createGcsHandler(store, { projectNumber: config.projectNumber, tokens, policies: buckets }),
      ],
      ['tokenreview', config.ports.tokenReview, createTokenReviewHandler(tokens)],
      [
        'metadata',
        config.ports.metadata,
        createMetadataHandler({ config, tokens, accounts, findPod, ksaOf }),
      ],
    ];
    const [sts, iam, gke, gcs, tokenReview, metadata] = await Promise.all(
      services.map(async ([name, port, handler]) => {
        const l = await listen(name, port, handler, log);
        started.push(l);
        return l;
      }),
    );
    if (!sts || !iam || !gke || !gcs || !tokenReview || !metadata)
      throw new Error('a stand-in did not start');
    const urls: StandInUrls = {
      oidcIssuer: issuerUrl,
      idTokenRequest: idTokenRequestUrl(oidc.url),
      sts: sts.url,
      iam: iam.url,
      gke: gke.url,
      gcs: gcs.url,
      tokenReview: `${tokenReview.url}/tokenreview`,
      metadata: metadata.url,
      connectGateway: gatewayUrl,
    };
    return {
      urls,
      requestToken: issuer.requestToken,
      issuer,
      tokens,
      buckets,
      accounts,
      gcs: store,
      env: labEnv(config, urls, issuer.requestToken),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * labEnv is the stand-ins' share of .lab/env: the gcloud-style endpoint
 * overrides (ending with `/`), STORAGE_EMULATOR_HOST, the runner's ID token
 * variables and the lab identities.
 */
export function labEnv(
  config: GoogleLabConfig,
  urls: StandInUrls,
  requestToken: string,
): Record<string, string> {
  const wi = config.workloadIdentity;
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: `${urls.sts}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: `${urls.iam}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: `${urls.gke}/`,
    ...(urls.connectGateway
      ? { CLOUDSDK_API_ENDPOINT_OVERRIDES_CONNECTGATEWAY: urls.connectGateway }
      : {}),
    STORAGE_EMULATOR_HOST: urls.gcs,
    ACTIONS_ID_TOKEN_REQUEST_URL: urls.idTokenRequest,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
    KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER: providerResourceName({
      projectNumber: config.projectNumber,
      pool: wi.pool,
      provider: wi.provider,
    }),
    KBUILD_LAB_SERVICE_ACCOUNT: config.serviceAccounts[0]?.email ?? '',
    // By name: the list also holds the release account (deploy/gcp/setup.sh --release-service-account).
    KBUILD_LAB_DISPATCHER_SERVICE_ACCOUNT:
      config.serviceAccounts.find((a) => a.email.startsWith('kbuild-dispatcher@'))?.email ?? '',
    KBUILD_LAB_PROJECT_ID: config.projectId,
    KBUILD_LAB_CLUSTER: config.cluster.name,
    KBUILD_LAB_LOCATION: config.cluster.location,
    KBUILD_LAB_BUCKET: config.gcs.buckets[0] ?? '',
    KBUILD_LAB_OIDC_ISSUER: urls.oidcIssuer,
    KBUILD_LAB_METADATA_HOST: urls.metadata.replace(/^http:\/\//, ''),
    KBUILD_LAB_WORKLOAD_POOL: config.gke.workloadPool,
  };
}

/** envFileText renders variables as `export NAME='value'` lines (POSIX single quotes). */
export function envFileText(env: Record<string, string>): string {
  const quote = (v: string): string => `'${v.replaceAll("'", `'\\''`)}'`;
  return Object.entries(env)
    .map(([k, v]) => `export ${k}=${quote(v)}\n`)
    .join('');
}
