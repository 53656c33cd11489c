// dispatcher.ts: `PORT=N npm run dispatcher:lab [-- --gke | --as-dispatcher]` runs the dispatcher on
// 127.0.0.1:N (0 or unset: any free port) against the lab (.lab/env) and prints its URL; Ctrl-C
// stops it.
//   default          the lab's admin kubeconfig (KBUILD_KUBECONFIG)
//   --gke            the GKE stand-in, reached like on Cloud Run: Application Default
//                    Credentials, here an external_account (Workload Identity Federation)
//                    credentials file in a private temp directory that google-auth-library
//                    exchanges through the lab's STS and IAM Credentials; removed on exit. The
//                    identity is the lab's builder service account.
//   --as-dispatcher  --gke as the dispatcher's own service account (kbuild-dispatcher@), in
//                    namespace kbuild, under the Role of deploy/kubernetes/dispatcher (apply
//                    deploy/kubernetes/lab first).
// Issuer: KBUILD_LAB_OIDC_ISSUER; audience: the server's own URL. KBUILD_POLICY or
// KBUILD_POLICY_FILE replace LAB_POLICY.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labEnv } from './env.ts';
import { configFromEnv } from '../functions/dispatcher/config.ts';
import { createDispatcher } from '../functions/dispatcher/index.ts';
import { startLocalServer, type LocalServer } from '../functions/dispatcher/local.ts';
import { jsonLogger, type Logger } from '../functions/dispatcher/log.ts';

/** LAB_POLICY admits the lab's default owner (4242) with generous limits. */
export const LAB_POLICY = {
  repository_owner_ids: [4242],
  images: ['debian:', 'buildpack-deps:', 'docker.io/library/', 'cgr.dev/', 'busybox'],
  archs: ['amd64', 'arm64'],
  max_cpu: '4',
  max_memory: '8Gi',
  max_builds: 24,
  privileged: { refs: ['refs/heads/main'], events: ['push', 'workflow_dispatch'] },
};

/**
 * externalAccount is the ADC credentials file google-github-actions/auth would write for the
 * lab's provider: the subject token from the runner's ID token URL, exchanged at STS, then
 * impersonating the lab's service account (google-auth-library "external_account", url source).
 */
export function externalAccount(
  env: Record<string, string>,
  serviceAccount: string = env['KBUILD_LAB_SERVICE_ACCOUNT'] ?? '',
): Record<string, unknown> {
  const provider = env['KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER'] ?? '';
  const audience = `https://iam.googleapis.com/${provider}`;
  return {
    type: 'external_account',
    audience: `//iam.googleapis.com/${provider}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${env['CLOUDSDK_API_ENDPOINT_OVERRIDES_STS']}v1/token`,
    service_account_impersonation_url: `${env['CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS']}v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`,
    credential_source: {
      url: `${env['ACTIONS_ID_TOKEN_REQUEST_URL']}&audience=${encodeURIComponent(audience)}`,
      headers: { Authorization: `Bearer ${env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}` },
      format: { type: 'json', subject_token_field_name: 'value' },
    },
  };
}

/** LabDispatcherOptions: how startLabDispatcher reaches the lab. */
export interface LabDispatcherOptions {
  /** port on 127.0.0.1; 0 or absent: any free port. */
  port?: number;
  /** gke: the GKE stand-in through ADC (see the file comment) instead of the admin kubeconfig. */
  gke?: boolean;
  /** serviceAccount: with gke, the identity ADC impersonates (default: the builder's). */
  serviceAccount?: string;
  /** env adds or overrides variables (e.g. KBUILD_POLICY, KBUILD_NAMESPACE). */
  env?: Record<string, string>;
  /** logger: where log entries go (default: JSON lines on stdout). */
  logger?: Logger;
}

/**
 * startLabDispatcher starts a dispatcher on the lab (see LabDispatcherOptions). The returned
 * close() also removes the credentials file.
 */
export async function startLabDispatcher(o: LabDispatcherOptions = {}): Promise<LocalServer> {
  const lab = labEnv();
  const env: Record<string, string | undefined> = {
    ...lab,
    KBUILD_OIDC_ISSUER: lab['KBUILD_LAB_OIDC_ISSUER'],
    KBUILD_POLICY: JSON.stringify(LAB_POLICY),
    ...o.env,
  };
  if (env['KBUILD_POLICY_FILE']) delete env['KBUILD_POLICY'];
  let credentials: string | undefined;
  if (o.gke) {
    credentials = mkdtempSync(join(tmpdir(), 'kbuild-dispatcher-adc-'));
    const file = join(credentials, 'external-account.json');
    writeFileSync(file, JSON.stringify(externalAccount(lab, o.serviceAccount)), { mode: 0o600 });
    // google-auth-library reads ADC from this variable; the file never enters the repository.
    process.env['GOOGLE_APPLICATION_CREDENTIALS'] = file;
    // As google-github-actions/auth does; otherwise the library asks Resource Manager for it.
    process.env['GOOGLE_CLOUD_PROJECT'] = lab['KBUILD_LAB_PROJECT_ID'];
    Object.assign(env, {
      KBUILD_CLUSTER: lab['KBUILD_LAB_CLUSTER'],
      KBUILD_LOCATION: lab['KBUILD_LAB_LOCATION'],
      KBUILD_PROJECT_ID: lab['KBUILD_LAB_PROJECT_ID'],
    });
  } else {
    env['KBUILD_KUBECONFIG'] ??= lab['KUBECONFIG'];
  }
  const logger = o.logger ?? jsonLogger();
  const server = await startLocalServer(
    (url) => createDispatcher(configFromEnv({ ...env, KBUILD_AUDIENCE: url }), { logger }),
    logger,
    o.port ?? 0,
  );
  return {
    url: server.url,
    close: async () => {
      await server.close();
      if (credentials) rmSync(credentials, { recursive: true, force: true });
    },
  };
}

if (import.meta.main) {
  const port = Number(process.env['PORT'] ?? 0);
  const asDispatcher = process.argv.includes('--as-dispatcher');
  const server = await startLabDispatcher({
    port,
    gke: asDispatcher || process.argv.includes('--gke'),
    ...(asDispatcher
      ? {
          serviceAccount: labEnv()['KBUILD_LAB_DISPATCHER_SERVICE_ACCOUNT'] ?? '',
          env: { KBUILD_NAMESPACE: 'kbuild' },
        }
      : {}),
  });
  console.log(`dispatcher listening on ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
