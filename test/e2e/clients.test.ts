// clients.test.ts: the core's Google clients (Workload Identity Federation,
// GKE lookup, refreshing kubeconfig, GCS uploads) against the lab's Google
// stand-ins, started in-process on ephemeral 127.0.0.1 ports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { WorkloadIdentityTokenSource } from '../../src/core/google/wif.ts';
import type { AccessToken, TokenSource } from '../../src/core/google/auth.ts';
import { endpointsFromEnv } from '../../src/core/google/endpoints.ts';
import { getCluster, kubeConfigFor } from '../../src/core/google/gke.ts';
import { KubeRest } from '../../src/core/kube/rest.ts';
import { GcsObjectStore } from '../../src/core/gcs/storage.ts';
import { gcsReader } from './gcs-read.ts';
import type { FetchLike } from '../../src/core/google/http.ts';
import { parseGoogleLabConfig } from '../../lab/google/config.ts';
import { startGoogleStandIns } from '../../lab/google/standins.ts';
import type { GoogleStandIns } from '../../lab/google/standins.ts';

const BUCKET = 'kbuild-lab-artifacts';
const SA = 'kbuild-builder@kbuild-lab.iam.gserviceaccount.com';
const CLUSTER = { project: 'kbuild-lab', location: 'us-central1', name: 'lab' };
const quiet = (): void => undefined;

let dir = '';
/** tls is a self-signed certificate for 127.0.0.1: the stand-in cluster's CA and its API server's key. */
let tls = { cert: '', key: '' };
let lab: GoogleStandIns;
/** short is a second set of stand-ins whose access tokens live 3 seconds. */
let short: GoogleStandIns;

async function start(name: string, accessTokenLifetimeSeconds: number): Promise<GoogleStandIns> {
  const ports = { oidc: 0, sts: 0, iam: 0, gke: 0, gcs: 0, tokenReview: 0, metadata: 0 };
  const config = parseGoogleLabConfig({
    ports,
    cluster: { caCertPath: join(dir, 'ca.crt') },
    gcs: { stateDir: join(dir, name) },
    accessTokenLifetimeSeconds,
  });
  return startGoogleStandIns(config, { log: quiet });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kbuild-clients-e2e-'));
  const run = promisify(execFile);
  // openssl req -x509: a one-day self-signed certificate valid for IP 127.0.0.1.
  await run('openssl', [
    ...[
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
    ],
    ...['-subj', '/CN=kbuild-lab', '-addext', 'subjectAltName=IP:127.0.0.1'],
    ...['-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')],
  ]);
  tls = {
    cert: await readFile(join(dir, 'ca.crt'), 'utf8'),
    key: await readFile(join(dir, 'ca.key'), 'utf8'),
  };
  lab = await start('gcs', 3600);
  short = await start('gcs-short', 3);
});

after(async () => {
  await Promise.all([lab?.close(), short?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** wif returns a WIF token source wired like the action: env -> endpoints, the runner's ID token route, a mask. */
function wif(
  standIns: GoogleStandIns,
  serviceAccount?: string,
  masked: string[] = [],
): WorkloadIdentityTokenSource {
  const env = standIns.env;
  const endpoints = endpointsFromEnv(env);
  return new WorkloadIdentityTokenSource({
    getIdToken: async (audience) => {
      // What @actions/core getIDToken does on a runner.
      const url = `${env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${encodeURIComponent(audience)}`;
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` },
      });
      if (!res.ok) throw new Error(`ID token request answered ${res.status}`);
      return ((await res.json()) as { value: string }).value;
    },
    workloadIdentityProvider: env.KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER ?? '',
    ...(serviceAccount ? { serviceAccount } : {}),
    endpoints,
    mask: (s) => masked.push(s),
  });
}

/** CountingSource records every token it hands out. */
class CountingSource implements TokenSource {
  readonly seen: string[] = [];
  readonly #inner: TokenSource;
  constructor(inner: TokenSource) {
    this.#inner = inner;
  }
  async getAccessToken(): Promise<AccessToken> {
    const token = await this.#inner.getAccessToken();
    if (!this.seen.includes(token.token)) this.seen.push(token.token);
    return token;
  }
}

/** onPath tells whether an executable named `name` is on PATH. */
function onPath(name: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((d) => d !== '' && existsSync(join(d, name)));
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** pattern returns `size` deterministic pseudo-random bytes. */
function pattern(size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function pieces(data: Buffer, size = 100_000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

test('WIF with and without impersonation yields tokens the GKE API accepts', async () => {
  const cases = [
    { name: 'federated token', input: undefined, want: 2 },
    { name: 'impersonated service account', input: SA, want: 3 },
  ];
  for (const c of cases) {
    const masked: string[] = [];
    const source = wif(lab, c.input, masked);
    const { token } = await source.getAccessToken();
    assert.ok(lab.tokens.lookup(token), `${c.name}: the stand-in knows the token`);
    assert.equal(lab.tokens.lookup(token)?.kind, c.input ? 'serviceAccount' : 'federated', c.name);
    assert.equal(masked.length, c.want, `${c.name}: OIDC, federated (and SA) tokens masked`);
    assert.equal(masked.at(-1), token, c.name);
    const cluster = await getCluster(CLUSTER, source, endpointsFromEnv(lab.env).container);
    assert.deepEqual(cluster, {
      endpoint: 'https://127.0.0.1:16443',
      caData: Buffer.from(tls.cert).toString('base64'),
    });
  }
});

test('WIF errors from the stand-ins name the step and the cause', async () => {
  const env = lab.env;
  const source = new WorkloadIdentityTokenSource({
    getIdToken: () => lab.issuer.mint({ audience: 'https://iam.googleapis.com/wrong' }),
    workloadIdentityProvider: env.KBUILD_LAB_WORKLOAD_IDENTITY_PROVIDER ?? '',
    endpoints: endpointsFromEnv(env),
    mask: quiet,
  });
  await assert.rejects(
    source.getAccessToken(),
    /STS token exchange failed: HTTP 400: invalid_grant: .*audience/i,
  );
  const denied = wif(lab, 'someone-else@kbuild-lab.iam.gserviceaccount.com');
  await assert.rejects(
    denied.getAccessToken(),
    /IAM Credentials generateAccessToken failed: HTTP (403|404)/,
  );
  await assert.rejects(
    getCluster({ ...CLUSTER, name: 'nope' }, wif(lab), endpointsFromEnv(env).container),
    /HTTP 404: NOT_FOUND: .*cluster projects\/kbuild-lab\/locations\/us-central1\/clusters\/nope was not found/,
  );
});

test('3-second tokens are renewed transparently for the GKE API and a kubeconfig', async () => {
  const source = new CountingSource(wif(short, SA));
  const container = endpointsFromEnv(short.env).container;
  // A kube-apiserver stand-in that authenticates bearer tokens against the lab's token store.
  const apiserver = createServer(tls, (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const ok = short.tokens.lookup(token) !== undefined;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        ok ? { kind: 'NamespaceList', apiVersion: 'v1', items: [] } : { kind: 'Status', code: 401 },
      ),
    );
  });
  await new Promise<void>((resolve) => apiserver.listen(0, '127.0.0.1', resolve));
  try {
    const port = (apiserver.address() as AddressInfo).port;
    const cluster = await getCluster(CLUSTER, source, container);
    // The cluster's CA comes from the GKE stand-in; only the port differs from the lab's endpoint.
    const kc = kubeConfigFor({ ...cluster, endpoint: `https://127.0.0.1:${port}` }, source);
    const rest = new KubeRest(kc);
    const first = source.seen[0] ?? '';
    for (let i = 0; i < 8; i++) {
      await getCluster(CLUSTER, source, container);
      const list = await rest.request<{ kind: string }>('list Namespaces', {
        method: 'GET',
        path: '/api/v1/namespaces',
      });
      assert.equal(list.kind, 'NamespaceList');
      await sleep(1000);
    }
    assert.ok(source.seen.length >= 3, `tokens used over 8 s: ${source.seen.length}`);
    assert.equal(
      short.tokens.lookup(first),
      undefined,
      'the first token has expired in the stand-in',
    );
    rest.close();
  } finally {
    await new Promise((resolve) => apiserver.close(resolve));
  }
});

test('GCS uploads stream with a server-checked CRC32C and read back identical', async () => {
  const source = wif(lab, SA);
  const apiEndpoint = endpointsFromEnv(lab.env).storage;
  const store = new GcsObjectStore({
    bucket: BUCKET,
    tokenSource: source,
    apiEndpoint,
    chunkSize: 1024 * 1024,
  });
  const big = pattern(5 * 1024 * 1024 + 12_345);
  const log = Buffer.from('line 1\nline 2\n'.repeat(1000));
  const json = Buffer.from(JSON.stringify({ build_id: 'b-1', status: 'succeeded' }));
  const results = await Promise.all([
    store.upload('demo/1-1/amd64/hello/packages/hello.tar', () => pieces(big), {
      size: big.length,
    }),
    store.upload('demo/1-1/amd64/hello/build.log', pieces(log), { contentType: 'text/plain' }),
    store.upload('demo/1-1/amd64/hello/kbuild.json', Readable.from([json]), {
      contentType: 'application/json',
    }),
  ]);
  const inputs = [big, log, json];
  for (const [i, r] of results.entries()) {
    const data = inputs[i] ?? Buffer.alloc(0);
    assert.equal(r.size, data.length);
    assert.equal(r.sha256, sha256(data));
    assert.equal(r.uri, `gs://${BUCKET}/${r.name}`);
    // Read back with @google-cloud/storage (CRC32C-validated download), a client the upload did not use.
    const stream = await gcsReader({ bucket: BUCKET, apiEndpoint, tokenSource: source })(r.name);
    const back = Buffer.concat(await stream.toArray());
    assert.equal(sha256(back), r.sha256, r.name);
  }
  const meta = lab.gcs.object(BUCKET, 'demo/1-1/amd64/hello/kbuild.json');
  assert.equal(meta?.contentType, 'application/json');
});

test(
  'gcloud storage cat reads the uploaded bytes',
  { skip: onPath('gcloud') ? false : 'gcloud is not installed' },
  async () => {
    const store = new GcsObjectStore({
      bucket: BUCKET,
      tokenSource: wif(lab),
      apiEndpoint: endpointsFromEnv(lab.env).storage,
    });
    const data = pattern(300_000);
    await store.upload('gcloud/check.bin', pieces(data));
    const config = await mkdtemp(join(dir, 'gcloud-'));
    const run = promisify(execFile);
    const { stdout } = await run('gcloud', ['storage', 'cat', `gs://${BUCKET}/gcloud/check.bin`], {
      encoding: 'buffer',
      maxBuffer: 10 * 1024 * 1024,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: config,
        CLOUDSDK_CONFIG: config,
        CLOUDSDK_CORE_PROJECT: 'kbuild-lab',
        CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${lab.urls.gcs}/storage/v1/`,
      },
    });
    assert.equal(sha256(stdout), sha256(data));
  },
);

test('an upload whose sent bytes differ from the hashed bytes is refused, never stored', async () => {
  const source = wif(lab, SA);
  const apiEndpoint = endpointsFromEnv(lab.env).storage;
  /** corrupting flips the first byte of the first `count` PUT bodies: the wire differs from what was hashed. */
  const corrupting = (count: number): FetchLike => {
    let left = count;
    return async (input, init) => {
      // A PUT body is the chunk itself (gcs/session.ts putInit): flip a copy, send the copy.
      if (init?.method === 'PUT' && init.body && left > 0) {
        const body = new Uint8Array(await new Response(init.body).arrayBuffer());
        if (body.length > 0) {
          left--;
          body[0] = (body[0] ?? 0) ^ 0xff;
        }
        return fetch(input, { ...init, body });
      }
      return fetch(input, init);
    };
  };
  const data = pattern(2 * 1024 * 1024);
  const cases = [
    {
      name: 'single stream',
      input: { count: 1, factory: false },
      error: /rejected by GCS: HTTP 400: .*CRC32C.*cannot be sent again/,
    },
    {
      name: 'every attempt corrupted',
      input: { count: 99, factory: true },
      error: /rejected by GCS: HTTP 400: .*doesn't match calculated CRC32C/,
    },
  ];
  for (const c of cases) {
    const name = `corrupt/${c.name.replace(/ /g, '-')}.bin`;
    const store = new GcsObjectStore({
      bucket: BUCKET,
      tokenSource: source,
      apiEndpoint,
      fetch: corrupting(c.input.count),
    });
    const body = c.input.factory ? () => pieces(data) : pieces(data);
    await assert.rejects(store.upload(name, body), c.error, c.name);
    assert.equal(lab.gcs.object(BUCKET, name), undefined, `${c.name}: no object stored`);
  }
  let opened = 0;
  const retried = new GcsObjectStore({
    bucket: BUCKET,
    tokenSource: source,
    apiEndpoint,
    fetch: corrupting(1),
  });
  const r = await retried.upload('corrupt/retried.bin', () => {
    opened++;
    return pieces(data);
  });
  assert.equal(opened, 2, 'a fresh stream for the second attempt');
  const read = gcsReader({ bucket: BUCKET, apiEndpoint, tokenSource: source });
  const back = Buffer.concat(await (await read('corrupt/retried.bin')).toArray());
  assert.equal(sha256(back), r.sha256);
  assert.equal(r.sha256, sha256(data));
});

test('GCS requests carry the token: a revoked or bogus token is refused on upload and read', async () => {
  const apiEndpoint = endpointsFromEnv(lab.env).storage;
  const goodSource = wif(lab);
  const good = new GcsObjectStore({ bucket: BUCKET, tokenSource: goodSource, apiEndpoint });
  await good.upload('auth/check.txt', Readable.from([Buffer.from('hello')]));
  const bogusSource: TokenSource = {
    getAccessToken: () => Promise.resolve({ token: 'ya29.bogus', expiresAt: Date.now() + 60_000 }),
  };
  const bogus = new GcsObjectStore({ bucket: BUCKET, tokenSource: bogusSource, apiEndpoint });
  await assert.rejects(
    bogus.upload('auth/denied.txt', Readable.from([Buffer.from('x')])),
    /GCS resumable upload start for gs:\/\/kbuild-lab-artifacts\/auth\/denied\.txt failed: HTTP 401: Invalid Credentials/,
  );
  await assert.rejects(
    async () =>
      (
        await gcsReader({ bucket: BUCKET, apiEndpoint, tokenSource: bogusSource })('auth/check.txt')
      ).toArray(),
    /Invalid Credentials/,
  );
  const readGood = gcsReader({ bucket: BUCKET, apiEndpoint, tokenSource: goodSource });
  const back = Buffer.concat(await (await readGood('auth/check.txt')).toArray());
  assert.equal(back.toString(), 'hello');
});
