// lab-google.test.ts: the lab's Google stand-ins, checked with real clients
// not written here: @actions/core getIDToken, jose, google-auth-library,
// @google-cloud/storage and the gcloud CLI. Starts the stand-ins in-process
// on ephemeral ports; needs nothing else of the lab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CRC32C, Storage } from '@google-cloud/storage';
import { IdentityPoolClient, OAuth2Client } from 'google-auth-library';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { parseGoogleLabConfig } from '../../lab/google/config.ts';
import type { GoogleLabConfig } from '../../lab/google/config.ts';
import { startGoogleStandIns } from '../../lab/google/standins.ts';
import type { GoogleStandIns } from '../../lab/google/standins.ts';
import type { MintOptions } from '../../lab/google/oidc-issuer.ts';

const run = promisify(execFile);
const BUCKET = 'kbuild-lab-artifacts';
const SA = 'kbuild-builder@kbuild-lab.iam.gserviceaccount.com';
const OTHER_SA = 'other-builder@kbuild-lab.iam.gserviceaccount.com';
const POOL = 'projects/123456789012/locations/global/workloadIdentityPools/kbuild-pool';
const PROVIDER = `${POOL}/providers/github`;
const TOKEN_LIFETIME = 900;
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBlabCA\n-----END CERTIFICATE-----\n';

let dir: string;
let lab: GoogleStandIns;
let config: GoogleLabConfig;
const logLines: string[] = [];

before(async () => {
  // A sourced .lab/env would send @google-cloud/storage's JSON API calls to
  // the running lab instead of these in-process stand-ins (this file runs in
  // its own process; the STORAGE_EMULATOR_HOST test sets it back briefly).
  delete process.env.STORAGE_EMULATOR_HOST;
  dir = await mkdtemp(join(tmpdir(), 'lab-google-'));
  await writeFile(join(dir, 'ca.crt'), CA_PEM);
  config = parseGoogleLabConfig({
    ports: { oidc: 0, sts: 0, iam: 0, gke: 0, gcs: 0, tokenReview: 0, metadata: 0 },
    gcs: { stateDir: join(dir, 'gcs'), buckets: [BUCKET] },
    cluster: { caCertPath: join(dir, 'ca.crt') },
    accessTokenLifetimeSeconds: TOKEN_LIFETIME,
    serviceAccounts: [
      {
        email: SA,
        members: [`principalSet://iam.googleapis.com/${POOL}/attribute.repository_owner_id/4242`],
      },
      {
        email: OTHER_SA,
        members: [
          `principalSet://iam.googleapis.com/${POOL}/attribute.repository/kbuild-lab/other`,
        ],
      },
    ],
  });
  lab = await startGoogleStandIns(config, { log: (line) => logLines.push(line) });
});

after(async () => {
  await lab.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * externalAccount builds google-auth-library's external_account client for
 * the lab: explicit token_url and service_account_impersonation_url (the
 * library takes them as given; universe_domain only fills defaults).
 * IdentityPoolClient is what ExternalAccountClient.fromJSON returns for file
 * and URL sources, without fromJSON's console warning.
 */
function externalAccount(
  source: Record<string, unknown>,
  serviceAccount?: string,
): IdentityPoolClient {
  return new IdentityPoolClient({
    type: 'external_account',
    audience: `//iam.googleapis.com/${PROVIDER}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${lab.urls.sts}/v1/token`,
    credential_source: source,
    ...(serviceAccount === undefined
      ? {}
      : {
          service_account_impersonation_url: `${lab.urls.iam}/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`,
        }),
  });
}

/** urlSource is a credential_source that reads the runner's ID token endpoint. */
function urlSource(requestToken = lab.requestToken): Record<string, unknown> {
  const audience = encodeURIComponent(`https://iam.googleapis.com/${PROVIDER}`);
  return {
    url: `${lab.urls.idTokenRequest}&audience=${audience}`,
    headers: { Authorization: `Bearer ${requestToken}` },
    format: { type: 'json', subject_token_field_name: 'value' },
  };
}

/** fileSource writes a minted ID token to a file credential_source. */
async function fileSource(options: MintOptions): Promise<Record<string, unknown>> {
  const audience = options.audience ?? `https://iam.googleapis.com/${PROVIDER}`;
  const jwt = await lab.issuer.mint({ ...options, audience });
  const path = join(dir, `subject-${randomBytes(4).toString('hex')}.jwt`);
  await writeFile(path, jwt);
  return { file: path };
}

async function tokenReview(token: string): Promise<Record<string, unknown>> {
  const res = await fetch(lab.urls.tokenReview, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { status: Record<string, unknown> }).status;
}

test('@actions/core getIDToken gets an ID token that jose verifies against the JWKS', async () => {
  const audience = `https://iam.googleapis.com/${PROVIDER}`;
  const script = `import('@actions/core').then(async (core) => {
    const t = await core.getIDToken(process.argv[1]);
    process.stdout.write('\\nJWT=' + t + '\\n');
  });`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, audience], {
    env: {
      PATH: process.env.PATH ?? '',
      ACTIONS_ID_TOKEN_REQUEST_URL: lab.urls.idTokenRequest,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: lab.requestToken,
    },
  });
  const jwt = /^JWT=(\S+)$/m.exec(stdout)?.[1];
  assert.ok(jwt, `no token in the child's output`);
  assert.match(stdout, /::add-mask::/, 'getIDToken masks the token');
  const discovery = (await (
    await fetch(`${lab.urls.oidcIssuer}/.well-known/openid-configuration`)
  ).json()) as { issuer: string; jwks_uri: string };
  assert.equal(discovery.issuer, lab.urls.oidcIssuer);
  const { payload, protectedHeader } = await jwtVerify(
    jwt,
    createRemoteJWKSet(new URL(discovery.jwks_uri)),
    { issuer: lab.urls.oidcIssuer, audience },
  );
  assert.equal(protectedHeader.alg, 'RS256');
  assert.ok(protectedHeader.kid);
  assert.deepEqual(
    {
      sub: payload.sub,
      repository: payload.repository,
      repository_owner_id: payload.repository_owner_id,
      ref: payload.ref,
      event_name: payload.event_name,
    },
    {
      sub: 'repo:kbuild-lab/demo:ref:refs/heads/main',
      repository: 'kbuild-lab/demo',
      repository_owner_id: '4242',
      ref: 'refs/heads/main',
      event_name: 'push',
    },
  );
  assert.ok((payload.nbf ?? 0) < (payload.iat ?? 0) && (payload.iat ?? 0) < (payload.exp ?? 0));
});

test('the ID token endpoint refuses an unknown request token and honours derived ones', async () => {
  const bad = await fetch(lab.urls.idTokenRequest, { headers: { authorization: 'Bearer nope' } });
  assert.equal(bad.status, 401);
  const created = await fetch(`${lab.urls.oidcIssuer}/_lab/request-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${lab.requestToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      claims: { repository: 'kbuild-lab/other', event_name: 'pull_request' },
    }),
  });
  assert.equal(created.status, 201);
  const { requestToken } = (await created.json()) as { requestToken: string };
  const res = await fetch(`${lab.urls.idTokenRequest}&audience=x`, {
    headers: { authorization: `Bearer ${requestToken}` },
  });
  const { value } = (await res.json()) as { value: string };
  const claims = JSON.parse(
    Buffer.from(value.split('.')[1] ?? '', 'base64url').toString(),
  ) as Record<string, unknown>;
  assert.deepEqual([claims.sub, claims.aud], ['repo:kbuild-lab/other:pull_request', 'x']);
  const unguarded = await fetch(`${lab.urls.oidcIssuer}/_lab/mint`, { method: 'POST', body: '{}' });
  assert.equal(unguarded.status, 401);
});

test('google-auth-library: URL-sourced OIDC token -> STS -> impersonation; GKE, TokenReview and GCS accept the token', async () => {
  const client = externalAccount(urlSource(), SA);
  const { token } = await client.getAccessToken();
  assert.ok(token);
  const expiry = client.credentials.expiry_date ?? 0;
  assert.ok(expiry - Date.now() <= TOKEN_LIFETIME * 1000, 'lifetime clamped to the lab setting');
  assert.ok(expiry - Date.now() > (TOKEN_LIFETIME - 60) * 1000);

  const cluster = await client.request<Record<string, unknown>>({
    url: `${lab.urls.gke}/v1/projects/kbuild-lab/locations/us-central1/clusters/lab`,
  });
  const masterAuth = cluster.data.masterAuth as { clusterCaCertificate: string };
  assert.equal(cluster.data.status, 'RUNNING');
  assert.equal(cluster.data.endpoint, config.cluster.endpoint);
  assert.equal(Buffer.from(masterAuth.clusterCaCertificate, 'base64').toString(), CA_PEM);

  assert.deepEqual(await tokenReview(token), {
    authenticated: true,
    user: { username: SA, uid: SA, groups: [] },
  });
  assert.deepEqual(await tokenReview('ya29.unknown'), {
    authenticated: false,
    error: 'unknown or expired access token',
  });

  const storage = new Storage({
    apiEndpoint: lab.urls.gcs,
    projectId: 'kbuild-lab',
    authClient: client,
    useAuthWithCustomEndpoint: true,
  });
  await storage.bucket(BUCKET).file('auth/ok.txt').save('authorized');
  const bogus = new OAuth2Client();
  bogus.setCredentials({ access_token: 'ya29.bogus', expiry_date: Date.now() + 3600_000 });
  const denied = new Storage({
    apiEndpoint: lab.urls.gcs,
    projectId: 'kbuild-lab',
    authClient: bogus,
    useAuthWithCustomEndpoint: true,
    retryOptions: { autoRetry: false },
  });
  await assert.rejects(denied.bucket(BUCKET).file('auth/ok.txt').download(), {
    code: 401,
    message: /Invalid Credentials/,
  });
});

test('google-auth-library: file-sourced OIDC token without impersonation gets a federated token', async () => {
  const client = externalAccount(await fileSource({}));
  const { token } = await client.getAccessToken();
  assert.ok(token);
  const status = await tokenReview(token);
  assert.equal(status.authenticated, true);
  assert.equal(
    (status.user as { username: string }).username,
    `principal://iam.googleapis.com/${POOL}/subject/repo:kbuild-lab/demo:ref:refs/heads/main`,
  );
  const cluster = await client.request<{ name: string }>({
    url: `${lab.urls.gke}/v1/projects/kbuild-lab/locations/us-central1/clusters/lab`,
  });
  assert.equal(cluster.data.name, 'lab');
});

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

const stsRefusals: { name: string; input: MintOptions; error: RegExp }[] = [
  {
    name: 'signed by another key under the published kid',
    input: { key: 'other' },
    error: /invalid_grant: Invalid ID Token signature/,
  },
  {
    name: 'wrong audience',
    input: { audience: 'https://github.com/kbuild-lab' },
    error: /invalid_grant: The audience in ID Token \[https:\/\/github.com\/kbuild-lab\]/,
  },
  {
    name: 'wrong issuer',
    input: { claims: { iss: 'https://token.actions.githubusercontent.com' } },
    error: /invalid_grant: The issuer in ID Token/,
  },
  {
    name: 'expired',
    input: {
      claims: { iat: nowSeconds() - 7200, nbf: nowSeconds() - 7200, exp: nowSeconds() - 60 },
    },
    error: /invalid_grant: The ID Token expired/,
  },
  {
    name: 'no kid',
    input: { kid: null },
    error: /invalid_grant: The ID Token header has no "kid"/,
  },
  {
    name: 'unknown kid',
    input: { kid: 'not-published' },
    error: /invalid_grant: .*kid matches no key/,
  },
  { name: 'alg none', input: { alg: 'none' }, error: /invalid_grant: The ID Token is not signed/ },
  {
    name: 'attribute condition fails (another owner)',
    input: { claims: { repository_owner_id: '999', repository_owner: 'someone' } },
    error: /unauthorized_client: The given credential is rejected by the attribute condition/,
  },
  {
    name: 'attribute condition fails (claim missing)',
    input: { claims: { repository_owner_id: null } },
    error: /unauthorized_client: The given credential is rejected by the attribute condition/,
  },
];

for (const c of stsRefusals) {
  test(`STS refuses a subject token: ${c.name}`, async () => {
    const client = externalAccount(await fileSource(c.input));
    await assert.rejects(client.getAccessToken(), c.error);
  });
}

const iamRefusals: { name: string; input: string; error: RegExp }[] = [
  {
    name: 'a service account the principal may not impersonate',
    input: OTHER_SA,
    error: /Permission 'iam.serviceAccounts.getAccessToken' denied/,
  },
  {
    name: 'a service account that does not exist',
    input: 'nobody@kbuild-lab.iam.gserviceaccount.com',
    error: /Permission 'iam.serviceAccounts.getAccessToken' denied/,
  },
];

for (const c of iamRefusals) {
  test(`IAM Credentials refuses ${c.name}`, async () => {
    const client = externalAccount(urlSource(), c.input);
    await assert.rejects(client.getAccessToken(), (err: Error & { status?: number }) => {
      assert.equal(err.status, 403);
      assert.match(err.message, c.error);
      return true;
    });
  });
}

test('GKE answers Google-shaped 401 and 404', async () => {
  const url = `${lab.urls.gke}/v1/projects/kbuild-lab/locations/us-central1/clusters`;
  const anonymous = await fetch(`${url}/lab`);
  assert.equal(anonymous.status, 401);
  assert.deepEqual(
    ((await anonymous.json()) as { error: { status: string } }).error.status,
    'UNAUTHENTICATED',
  );
  const client = externalAccount(urlSource(), SA);
  await assert.rejects(
    client.request({ url: `${url}/other` }),
    (err: Error & { status?: number }) => {
      assert.equal(err.status, 404);
      assert.match(
        err.message,
        /Not found: projects\/kbuild-lab\/locations\/us-central1\/clusters\/other/,
      );
      return true;
    },
  );
});

test('@google-cloud/storage: chunked resumable upload, listing, preconditions, CRC32C mismatch on download', async () => {
  const storage = new Storage({ apiEndpoint: lab.urls.gcs, projectId: 'kbuild-lab' });
  const bucket = storage.bucket(BUCKET);
  const data = randomBytes(3 * 1024 * 1024 + 12345);
  const local = join(dir, 'upload.bin');
  await writeFile(local, data);
  const before308 = logLines.filter((l) => / PUT .* 308 /.test(l)).length;
  await bucket.upload(local, {
    destination: 'node/a/upload.bin',
    resumable: true,
    chunkSize: 1024 * 1024,
    validation: 'crc32c',
    metadata: { contentType: 'application/x-test', metadata: { build: 'b1' } },
  });
  const chunks308 = logLines.filter((l) => / PUT .* 308 /.test(l)).length - before308;
  assert.equal(chunks308, 3, 'three 1 MiB chunks answered 308 before the final one');

  const file = bucket.file('node/a/upload.bin');
  const [meta] = await file.getMetadata();
  const crc = new CRC32C();
  crc.update(data);
  assert.deepEqual(
    [meta.size, meta.crc32c, meta.contentType, meta.metadata],
    [String(data.length), crc.toString(), 'application/x-test', { build: 'b1' }],
  );
  const [downloaded] = await file.download({ validation: 'crc32c' });
  assert.ok(downloaded.equals(data));
  const [range] = await file.download({ start: 10, end: 19 });
  assert.ok(range.equals(data.subarray(10, 20)));

  for (const name of ['node/a/b/one.txt', 'node/a/b/two.txt', 'node/a/c.txt', 'node/z.txt']) {
    await bucket.file(name).save(name, { resumable: false });
  }
  const [files, nextQuery, response] = await bucket.getFiles({
    prefix: 'node/a/',
    delimiter: '/',
    autoPaginate: false,
    maxResults: 2,
  });
  assert.deepEqual(
    [files.map((f) => f.name), (response as { prefixes?: string[] }).prefixes],
    [['node/a/c.txt'], ['node/a/b/']],
  );
  assert.ok(nextQuery, 'a second page');
  const [rest] = await bucket.getFiles({ ...(nextQuery as object), autoPaginate: false });
  assert.deepEqual(
    rest.map((f) => f.name),
    ['node/a/upload.bin'],
  );

  await assert.rejects(
    bucket
      .file('node/z.txt')
      .save('again', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    { code: 412 },
  );

  const fd = await open(lab.gcs.dataPath(BUCKET, 'node/a/upload.bin'), 'r+');
  await fd.write(Buffer.from([(data[1000] ?? 0) ^ 0xff]), 0, 1, 1000);
  await fd.close();
  await assert.rejects(file.download({ validation: 'crc32c' }), {
    code: 'CONTENT_DOWNLOAD_MISMATCH',
  });
});

test('@google-cloud/storage reads STORAGE_EMULATOR_HOST', async () => {
  const saved = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = lab.urls.gcs;
  let storage: Storage;
  try {
    storage = new Storage({ projectId: 'kbuild-lab' });
  } finally {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  }
  const file = storage.bucket(BUCKET).file('env/hello.txt');
  await file.save('hello from env', { resumable: true });
  assert.equal((await file.download())[0].toString(), 'hello from env');
  const [buckets] = await storage.getBuckets();
  assert.deepEqual(
    buckets.map((b) => b.name),
    [BUCKET],
  );
});

const hashRefusals: {
  name: string;
  input: () => Promise<Response>;
  error: RegExp;
  object: string;
}[] = [
  {
    name: 'media upload with a wrong x-goog-hash crc32c',
    object: 'bad/media',
    input: () =>
      fetch(`${lab.urls.gcs}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=bad%2Fmedia`, {
        method: 'POST',
        headers: { 'x-goog-hash': 'crc32c=AAAAAA==', 'content-type': 'text/plain' },
        body: 'payload',
      }),
    error: /Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C/,
  },
  {
    name: 'media upload with a wrong x-goog-hash md5',
    object: 'bad/md5',
    input: () =>
      fetch(`${lab.urls.gcs}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=bad%2Fmd5`, {
        method: 'POST',
        headers: { 'x-goog-hash': 'md5=1B2M2Y8AsgTpgAmY7PhCfg==' },
        body: 'payload',
      }),
    error: /Provided MD5 hash "1B2M2Y8AsgTpgAmY7PhCfg==" doesn't match/,
  },
  {
    name: 'multipart upload whose metadata declares a wrong crc32c',
    object: 'bad/multipart',
    input: () =>
      fetch(`${lab.urls.gcs}/upload/storage/v1/b/${BUCKET}/o?uploadType=multipart`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/related; boundary=XyZ' },
        body:
          '--XyZ\r\ncontent-type: application/json\r\n\r\n{"name":"bad/multipart","crc32c":"AAAAAA=="}\r\n' +
          '--XyZ\r\ncontent-type: text/plain\r\n\r\npayload\r\n--XyZ--\r\n',
      }),
    error: /Provided CRC32C "AAAAAA==" doesn't match/,
  },
  {
    name: 'resumable upload whose final chunk has a wrong x-goog-hash',
    object: 'bad/resumable',
    input: async () => {
      const init = await fetch(
        `${lab.urls.gcs}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=bad%2Fresumable`,
        { method: 'POST' },
      );
      const session = init.headers.get('location') ?? '';
      const first = await fetch(session, {
        method: 'PUT',
        headers: { 'content-range': 'bytes 0-3/*' },
        body: 'payl',
      });
      assert.equal(first.status, 308);
      assert.equal(first.headers.get('range'), 'bytes=0-3');
      return fetch(session, {
        method: 'PUT',
        headers: { 'content-range': 'bytes 4-6/7', 'x-goog-hash': 'crc32c=AAAAAA==' },
        body: 'oad',
      });
    },
    error: /Provided CRC32C "AAAAAA==" doesn't match/,
  },
];

for (const c of hashRefusals) {
  test(`GCS refuses ${c.name} and creates nothing`, async () => {
    const res = await c.input();
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string; errors: { reason: string }[] } };
    assert.match(body.error.message, c.error);
    assert.equal(body.error.errors[0]?.reason, 'invalid');
    const get = await fetch(
      `${lab.urls.gcs}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(c.object)}`,
    );
    assert.equal(get.status, 404);
  });
}

const EXCHANGE = {
  grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
  audience: `//iam.googleapis.com/${PROVIDER}`,
  requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
  subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
  scope: 'https://www.googleapis.com/auth/cloud-platform',
};

const stsRequests: {
  name: string;
  input: (jwt: string) => RequestInit;
  want: { status: number; body: RegExp };
}[] = [
  {
    name: 'JSON camelCase, as google-github-actions/auth sends it',
    input: (jwt) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...EXCHANGE, subjectToken: jwt }),
    }),
    want: {
      status: 200,
      body: /^\{"access_token":"ya29\.lab\.[^"]+","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":900\}$/,
    },
  },
  {
    name: 'an unknown provider',
    input: (jwt) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...EXCHANGE,
        audience: `//iam.googleapis.com/${POOL}/providers/nope`,
        subjectToken: jwt,
      }),
    }),
    want: { status: 400, body: /"error":"invalid_target"/ },
  },
  {
    name: 'another grant type',
    input: (jwt) => ({
      body: new URLSearchParams({ grant_type: 'client_credentials', subject_token: jwt }),
    }),
    want: { status: 400, body: /"error":"unsupported_grant_type"/ },
  },
  {
    name: 'a wrong requested_token_type',
    input: (jwt) => ({
      body: new URLSearchParams({
        grant_type: EXCHANGE.grantType,
        audience: EXCHANGE.audience,
        requested_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        subject_token_type: EXCHANGE.subjectTokenType,
        subject_token: jwt,
      }),
    }),
    want: {
      status: 400,
      body: /"error":"invalid_request","error_description":"Invalid value for \\"requested_token_type\\"/,
    },
  },
];

for (const c of stsRequests) {
  test(`STS answers ${c.name}`, async () => {
    const jwt = await lab.issuer.mint({ audience: `https://iam.googleapis.com/${PROVIDER}` });
    const res = await fetch(`${lab.urls.sts}/v1/token`, { method: 'POST', ...c.input(jwt) });
    assert.equal(res.status, c.want.status);
    assert.match(await res.text(), c.want.body);
  });
}

test('GCS buckets insert, get, list, delete; objects delete (@google-cloud/storage)', async () => {
  const storage = new Storage({ apiEndpoint: lab.urls.gcs, projectId: 'kbuild-lab' });
  const [created] = await storage.createBucket('kbuild-lab-scratch');
  assert.equal(created.name, 'kbuild-lab-scratch');
  await assert.rejects(storage.createBucket('kbuild-lab-scratch'), { code: 409 });
  const [meta] = await storage.bucket('kbuild-lab-scratch').getMetadata();
  assert.deepEqual([meta.name, meta.projectNumber], ['kbuild-lab-scratch', '123456789012']);
  const [buckets] = await storage.getBuckets();
  assert.deepEqual(
    buckets.map((b) => b.name),
    [BUCKET, 'kbuild-lab-scratch'],
  );
  const file = storage.bucket('kbuild-lab-scratch').file('x');
  await file.save('x', { resumable: false });
  await assert.rejects(storage.bucket('kbuild-lab-scratch').delete(), { code: 409 });
  await file.delete();
  assert.deepEqual(await file.exists(), [false]);
  await storage.bucket('kbuild-lab-scratch').delete();
  assert.deepEqual(await storage.bucket('kbuild-lab-scratch').exists(), [false]);
  await assert.rejects(storage.bucket('no-such-bucket').file('y').save('y'), { code: 404 });
});

test('GCS resumable protocol: status checks, resend of persisted bytes, cancel', async () => {
  const start = (name: string) =>
    fetch(`${lab.urls.gcs}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-upload-content-type': 'text/plain' },
      body: JSON.stringify({ name }),
    });
  const init = await start('raw/resumable.txt');
  assert.equal(init.status, 200);
  const session = init.headers.get('location') ?? '';
  assert.match(session, /upload_id=/);
  const put = (range: string, body?: string) =>
    fetch(session, { method: 'PUT', headers: { 'content-range': range }, body });
  const empty = await put('bytes */*');
  assert.deepEqual([empty.status, empty.headers.get('range')], [308, null]);
  assert.equal((await put('bytes 0-5/*', 'hello ')).status, 308);
  const status = await put('bytes */*');
  assert.deepEqual([status.status, status.headers.get('range')], [308, 'bytes=0-5']);
  // The client resends from byte 3: the persisted bytes are dropped, not doubled.
  const done = await put('bytes 3-10/11', 'lo world');
  assert.equal(done.status, 200);
  const object = (await done.json()) as { size: string; contentType: string; name: string };
  assert.deepEqual(
    [object.name, object.size, object.contentType],
    ['raw/resumable.txt', '11', 'text/plain'],
  );
  const again = await put('bytes */11');
  assert.equal(again.status, 200);
  const media = await fetch(
    `${lab.urls.gcs}/download/storage/v1/b/${BUCKET}/o/raw%2Fresumable.txt?alt=media`,
  );
  assert.equal(await media.text(), 'hello world');
  assert.match(
    media.headers.get('x-goog-hash') ?? '',
    /^crc32c=[A-Za-z0-9+/=]{8},md5=[A-Za-z0-9+/=]{24}$/,
  );

  const cancelled = (await start('raw/cancelled.txt')).headers.get('location') ?? '';
  assert.equal((await fetch(cancelled, { method: 'DELETE' })).status, 499);
  assert.equal((await fetch(cancelled, { method: 'PUT', body: 'x' })).status, 404);
});

test('GCS objects survive a restart of the stand-ins', async () => {
  const again = await startGoogleStandIns(
    { ...config, ports: { oidc: 0, sts: 0, iam: 0, gke: 0, gcs: 0, tokenReview: 0, metadata: 0 } },
    { log: () => undefined },
  );
  try {
    const res = await fetch(`${again.urls.gcs}/storage/v1/b/${BUCKET}/o/raw%2Fresumable.txt`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { size: string }).size, '11');
  } finally {
    await again.close();
  }
});

/**
 * gcloud runs the gcloud CLI (PATH, or $KBUILD_GCLOUD) against the GCS
 * stand-in; a missing gcloud fails the test with a clear message.
 */
async function gcloud(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return gcloudWith({}, ...args);
}

async function gcloudWith(
  extraEnv: Record<string, string>,
  ...args: string[]
): Promise<{ stdout: string; stderr: string }> {
  const bin = process.env.KBUILD_GCLOUD ?? 'gcloud';
  try {
    return await run(bin, args, { env: { ...gcloudEnv(), ...extraEnv } });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      assert.fail(
        `this test needs the gcloud CLI: "${bin}" was not found (put gcloud on PATH or set KBUILD_GCLOUD)`,
      );
    }
    throw err;
  }
}

test('gcloud storage: cp up (resumable) and down, ls, cat; a corrupted object fails its hash check', async () => {
  const big = join(dir, 'gcloud-big.bin');
  const small = join(dir, 'gcloud-small.txt');
  const data = randomBytes(2 * 1024 * 1024 + 7);
  await writeFile(big, data);
  await writeFile(small, 'hello from gcloud\n');
  const before = logLines.length;
  await gcloud('storage', 'cp', big, small, `gs://${BUCKET}/gcloud/`);
  assert.ok(
    logLines.slice(before).some((l) => /gcs POST \/resumable\/upload\/.* 200 /.test(l)),
    'the big file went up as a resumable upload',
  );
  const down = join(dir, 'gcloud-down.bin');
  await gcloud('storage', 'cp', `gs://${BUCKET}/gcloud/gcloud-big.bin`, down);
  assert.ok((await readFile(down)).equals(data));
  const ls = await gcloud('storage', 'ls', '-l', `gs://${BUCKET}/gcloud/`);
  assert.match(
    ls.stdout,
    new RegExp(`${data.length}\\s+\\S+\\s+gs://${BUCKET}/gcloud/gcloud-big\\.bin`),
  );
  assert.match(ls.stdout, /18\s+\S+\s+gs:\/\/kbuild-lab-artifacts\/gcloud\/gcloud-small\.txt/);
  const cat = await gcloud('storage', 'cat', `gs://${BUCKET}/gcloud/gcloud-small.txt`);
  assert.equal(cat.stdout, 'hello from gcloud\n');

  const fd = await open(lab.gcs.dataPath(BUCKET, 'gcloud/gcloud-big.bin'), 'r+');
  await fd.write(Buffer.from([(data[0] ?? 0) ^ 0xff]), 0, 1, 0);
  await fd.close();
  await assert.rejects(
    gcloud('storage', 'cp', `gs://${BUCKET}/gcloud/gcloud-big.bin`, join(dir, 'gcloud-bad.bin')),
    (err: Error & { stderr?: string }) => {
      assert.match(err.stderr ?? '', /hash .* does not match destination hash/);
      return true;
    },
  );
});

test('IAM: a bucket policy set with gcloud (add/remove-iam-policy-binding) admits a KSA principal; /_lab/iam-bindings opens generateAccessToken', async () => {
  const pool =
    'projects/123456789012/locations/global/workloadIdentityPools/kbuild-lab.svc.id.goog';
  const principal = `principal://iam.googleapis.com/${pool}/subject/ns/ci/sa/iam-test`;
  const issue = (identity: Parameters<typeof lab.tokens.issue>[0]) => lab.tokens.issue(identity);
  const expiresAt = Date.now() + 600_000;
  const scopes = ['https://www.googleapis.com/auth/cloud-platform'];
  const token = issue({
    kind: 'federated',
    principal,
    principalSets: ['serviceAccount:kbuild-lab.svc.id.goog[ci/iam-test]'],
    attributes: {},
    scopes,
    expiresAt,
  });
  const admin = issue({ kind: 'serviceAccount', email: SA, scopes, expiresAt });
  const auth = { authorization: `Bearer ${token}` };
  const bucket = 'iam-test-bucket';
  const made = await fetch(`${lab.urls.gcs}/storage/v1/b`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
  });
  assert.equal(made.status, 200);
  const list = `${lab.urls.gcs}/storage/v1/b/${bucket}/o`;
  assert.equal((await fetch(list, { headers: auth })).status, 200, 'no policy: open');
  lab.buckets.grant(bucket, 'roles/storage.admin', `serviceAccount:${SA}`);
  const refused = await fetch(list, { headers: auth });
  assert.equal(refused.status, 403);
  assert.equal(
    ((await refused.json()) as { error: { message: string } }).error.message,
    `${principal} does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist).`,
  );
  const tokenFile = join(dir, 'admin-token');
  await writeFile(tokenFile, admin, { mode: 0o600 });
  const viewer = (verb: 'add' | 'remove') =>
    gcloudWith(
      { CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'false', CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile },
      'storage',
      'buckets',
      `${verb}-iam-policy-binding`,
      `gs://${bucket}`,
      `--member=${principal}`,
      '--role=roles/storage.objectViewer',
    );
  await viewer('add');
  assert.equal((await fetch(list, { headers: auth })).status, 200);
  const upload = await fetch(
    `${lab.urls.gcs}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=x`,
    { method: 'POST', headers: auth, body: 'x' },
  );
  assert.equal(upload.status, 403, 'objectViewer does not create');
  await viewer('remove');
  assert.equal((await fetch(list, { headers: auth })).status, 403);
  // Changing the policy of a bucket that has one takes roles/storage.admin.
  const setByViewer = await fetch(`${lab.urls.gcs}/storage/v1/b/${bucket}/iam`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ bindings: [{ role: 'roles/storage.admin', members: [principal] }] }),
  });
  assert.equal(setByViewer.status, 403);

  const generate = () =>
    fetch(`${lab.urls.iam}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: scopes }),
    });
  assert.equal((await generate()).status, 403);
  const binding = {
    resource: `serviceAccounts/${SA}`,
    role: 'roles/iam.workloadIdentityUser',
    member: 'serviceAccount:kbuild-lab.svc.id.goog[ci/iam-test]',
  };
  const labCall = (body: object, bearer = lab.requestToken) =>
    fetch(`${lab.urls.iam}/_lab/iam-bindings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await labCall(binding, token)).status, 401, 'a Google token is not the lab token');
  assert.equal((await labCall({ ...binding, resource: 'folders/1' })).status, 400);
  assert.equal((await labCall({ ...binding, role: 'roles/owner' })).status, 400);
  assert.equal((await labCall(binding)).status, 200);
  assert.equal((await generate()).status, 200);
  assert.equal((await labCall({ ...binding, remove: true })).status, 200);
  assert.equal((await generate()).status, 403);
});

test('gcloud container clusters describe reads the GKE stand-in with a lab access token', async () => {
  const client = externalAccount(urlSource(), SA);
  const { token } = await client.getAccessToken();
  const tokenFile = join(dir, 'gcloud-token');
  await writeFile(tokenFile, token ?? '', { mode: 0o600 });
  const { stdout } = await gcloudWith(
    {
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: `${lab.urls.gke}/`,
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
      CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'false',
    },
    'container',
    'clusters',
    'describe',
    'lab',
    '--location=us-central1',
    '--format=value(endpoint,status,masterAuth.clusterCaCertificate)',
  );
  assert.equal(
    stdout.trim(),
    `${config.cluster.endpoint}\tRUNNING\t${Buffer.from(CA_PEM).toString('base64')}`,
  );
});

test('request logs name no token', () => {
  assert.ok(logLines.length > 20);
  const leaks = logLines.filter((l) => l.includes(lab.requestToken) || /ya29\.|eyJ/.test(l));
  assert.deepEqual(leaks, []);
});

/** gcloudEnv points gcloud at the GCS stand-in with a throw-away config directory. */
function gcloudEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${lab.urls.gcs}/`,
    CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
    CLOUDSDK_CORE_PROJECT: 'kbuild-lab',
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
    CLOUDSDK_STORAGE_RESUMABLE_THRESHOLD: '1048576',
    CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED: 'False',
  };
}
