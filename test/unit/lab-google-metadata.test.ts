// Unit tests of the GKE metadata server stand-in (lab/google/metadata*.ts):
// its routes, driven through the handler with fake requests; the Workload
// Identity Federation for GKE rules; the IAM policies GCS and IAM
// Credentials check; and the procfs parsing that finds the calling pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { parseGoogleLabConfig } from '../../lab/google/config.ts';
import { BucketPolicies } from '../../lab/google/gcs/iam.ts';
import type { HttpError } from '../../lab/google/http.ts';
import { ServiceAccountPolicies } from '../../lab/google/iam-policy.ts';
import { createMetadataHandler } from '../../lab/google/metadata.ts';
import {
  GKE_GET_ACCESS_TOKEN_DENIED,
  ksaIdentity,
  podIdentity,
} from '../../lab/google/metadata-identity.ts';
import type { Ksa } from '../../lab/google/metadata-identity.ts';
import {
  decodeProcAddress,
  parseProcNetTcp,
  PodGoneError,
  podOfMountinfo,
  stateMountOf,
} from '../../lab/google/metadata-pods.ts';
import type { PodRef } from '../../lab/google/metadata-pods.ts';
import { TokenStore } from '../../lab/google/tokens.ts';

const BUILDER = 'kbuild-builder@kbuild-lab.iam.gserviceaccount.com';
const POOL = 'kbuild-lab.svc.id.goog';
const GKE_POOL = `projects/123456789012/locations/global/workloadIdentityPools/${POOL}`;
const UID = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** A lab where pod "bound" runs as KSA ci/builder, "direct" as ci/direct, "gone" vanished. */
function lab(ksas: Record<string, Ksa>) {
  const config = parseGoogleLabConfig({ accessTokenLifetimeSeconds: 600 });
  let clock = 1_000_000;
  const tokens = new TokenStore(() => clock);
  const accounts = new ServiceAccountPolicies(config.serviceAccounts);
  const handler = createMetadataHandler({
    config,
    tokens,
    accounts,
    now: () => clock,
    // The fake "connection" names the pod in the client address.
    findPod: (client): PodRef | undefined => {
      if (client.address === 'broken') throw new Error('EACCES: /proc/1/fd');
      return client.address === 'host'
        ? undefined
        : { namespace: 'ci', name: client.address, uid: UID };
    },
    ksaOf: async (pod) => {
      const ksa = ksas[pod.name];
      if (ksa === undefined) throw new PodGoneError(`pod ci/${pod.name} not found`);
      return ksa;
    },
  });
  const get = async (
    pod: string,
    path: string,
    headers: Record<string, string> = { 'Metadata-Flavor': 'Google' },
  ) => {
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const req = Object.assign(Readable.from([]), {
      method: 'GET',
      url: path,
      headers: lower,
      socket: { remoteAddress: pod, remotePort: 1, localAddress: '127.0.0.1', localPort: 2 },
    }) as unknown as IncomingMessage;
    let status = 0;
    let answerHeaders: Record<string, string | number> = {};
    let body = '';
    const res = {
      writeHead(s: number, h: Record<string, string | number>) {
        status = s;
        answerHeaders = h;
      },
      end(b?: string) {
        body = b ?? '';
      },
    } as unknown as ServerResponse;
    await handler(req, res, new URL(path, 'http://127.0.0.1'));
    return { status, headers: answerHeaders, body };
  };
  return {
    config,
    tokens,
    accounts,
    get,
    tick: (seconds: number) => {
      clock += seconds * 1000;
    },
  };
}

const ksa = (name: string, gsa = ''): Ksa => ({ namespace: 'ci', name, uid: `uid-${name}`, gsa });

test('metadata: Metadata-Flavor is required under /computeMetadata and sent on every answer', async () => {
  const l = lab({});
  const cases: { name: string; headers: Record<string, string>; want: number }[] = [
    { name: 'no header', headers: {}, want: 403 },
    { name: 'wrong value', headers: { 'Metadata-Flavor': 'google' }, want: 403 },
    {
      name: 'proxied',
      headers: { 'Metadata-Flavor': 'Google', 'X-Forwarded-For': '10.0.0.1' },
      want: 403,
    },
    { name: 'right', headers: { 'Metadata-Flavor': 'Google' }, want: 200 },
  ];
  for (const c of cases) {
    const r = await l.get('host', '/computeMetadata/v1/project/project-id', c.headers);
    assert.equal(r.status, c.want, c.name);
    assert.equal(r.headers['metadata-flavor'], 'Google', c.name);
  }
  const missing = await l.get('host', '/computeMetadata/v1/project/project-id', {});
  assert.match(missing.body, /Missing required header "Metadata-Flavor": "Google"/);
});

test('metadata: project, universe and instance keys that clients probe', async () => {
  const l = lab({});
  const cases = [
    { path: '/', want: 'computeMetadata/\n' },
    { path: '/computeMetadata/v1/project/project-id', want: 'kbuild-lab' },
    { path: '/computeMetadata/v1/project/numeric-project-id', want: '123456789012' },
    { path: '/computeMetadata/v1/universe/universe-domain', want: 'googleapis.com' },
    {
      path: '/computeMetadata/v1/instance/zone',
      want: 'projects/123456789012/zones/us-central1-a',
    },
    { path: '/computeMetadata/v1/instance/attributes/cluster-name', want: 'lab' },
    { path: '/computeMetadata/v1/project/project-id?alt=json', want: '"kbuild-lab"' },
  ];
  for (const c of cases) {
    const r = await l.get('host', c.path);
    assert.deepEqual([r.status, r.body], [200, c.want], c.path);
  }
  // gcp-metadata's ping asks for the directory without its slash.
  for (const path of ['/computeMetadata/v1/instance', '/computeMetadata/v1/instance/']) {
    const r = await l.get('host', path);
    assert.equal(r.status, 200, path);
    assert.match(r.body, /^service-accounts\/$/m, path);
  }
  assert.equal((await l.get('host', '/computeMetadata/v1/instance/nothing')).status, 404);
  assert.equal((await l.get('host', '/computeMetadata/v2/project/project-id')).status, 404);
});

test('metadata: a KSA annotated with a GSA it may impersonate gets that GSA', async () => {
  const l = lab({ bound: ksa('builder', BUILDER) });
  l.accounts.grant(BUILDER, 'roles/iam.workloadIdentityUser', `serviceAccount:${POOL}[ci/builder]`);
  const sa = '/computeMetadata/v1/instance/service-accounts';
  assert.equal((await l.get('bound', `${sa}/default/email`)).body, BUILDER);
  assert.equal((await l.get('bound', `${sa}/`)).body, `default/\n${BUILDER}/\n`);
  const info = await l.get('bound', `${sa}/default/?recursive=true`);
  assert.deepEqual(JSON.parse(info.body), {
    aliases: ['default'],
    email: BUILDER,
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
  });
  const r = await l.get('bound', `${sa}/default/token`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  const t = JSON.parse(r.body) as { access_token: string; expires_in: number; token_type: string };
  assert.deepEqual([t.expires_in, t.token_type], [600, 'Bearer']);
  assert.deepEqual(l.tokens.lookup(t.access_token), {
    kind: 'serviceAccount',
    email: BUILDER,
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    expiresAt: 1_000_000 + 600_000,
  });
  // The same token while more than half its lifetime is left, then a new one.
  l.tick(100);
  const again = JSON.parse((await l.get('bound', `${sa}/${BUILDER}/token`)).body) as typeof t;
  assert.deepEqual([again.access_token, again.expires_in], [t.access_token, 500]);
  l.tick(250);
  const renewed = JSON.parse((await l.get('bound', `${sa}/default/token`)).body) as typeof t;
  assert.notEqual(renewed.access_token, t.access_token);
  assert.equal(renewed.expires_in, 600);
  // Scopes asked for are the token's scopes.
  const scoped = JSON.parse(
    (await l.get('bound', `${sa}/default/token?scopes=a,b`)).body,
  ) as typeof t;
  assert.deepEqual(l.tokens.lookup(scoped.access_token)?.scopes, ['a', 'b']);
  assert.equal(
    (await l.get('bound', `${sa}/someone-else@x.iam.gserviceaccount.com/email`)).status,
    404,
  );
});

test('metadata: an annotated KSA without roles/iam.workloadIdentityUser gets GKE 403', async () => {
  const l = lab({
    unbound: ksa('unbound', BUILDER),
    missing: ksa('missing', 'nobody@kbuild-lab.iam.gserviceaccount.com'),
  });
  // Bound to another KSA and another namespace: not this one.
  l.accounts.grant(
    BUILDER,
    'roles/iam.workloadIdentityUser',
    `serviceAccount:${POOL}[other/unbound]`,
  );
  for (const pod of ['unbound', 'missing']) {
    const r = await l.get(pod, '/computeMetadata/v1/instance/service-accounts/default/token');
    assert.deepEqual([r.status, r.body], [403, GKE_GET_ACCESS_TOKEN_DENIED], pod);
  }
  // The email is the annotation's, as on GKE.
  const email = await l.get(
    'unbound',
    '/computeMetadata/v1/instance/service-accounts/default/email',
  );
  assert.equal(email.body, BUILDER);
});

test('metadata: a KSA without annotation gets its federated principal', async () => {
  const l = lab({ direct: ksa('direct') });
  const sa = '/computeMetadata/v1/instance/service-accounts/default';
  assert.equal((await l.get('direct', `${sa}/email`)).body, POOL);
  const t = JSON.parse((await l.get('direct', `${sa}/token`)).body) as { access_token: string };
  const info = l.tokens.lookup(t.access_token);
  assert.equal(info?.kind, 'federated');
  assert.equal(
    info?.kind === 'federated' ? info.principal : '',
    `principal://iam.googleapis.com/${GKE_POOL}/subject/ns/ci/sa/direct`,
  );
});

test('metadata: callers that are not pods, and pods that are gone, get no service account', async () => {
  const l = lab({});
  for (const caller of ['host', 'broken']) {
    const r = await l.get(caller, '/computeMetadata/v1/instance/service-accounts/default/token');
    assert.equal(r.status, 403, caller);
    assert.equal(r.headers['metadata-flavor'], 'Google', caller);
    assert.match(r.body, /no lab pod behind this connection/, caller);
  }
  const gone = await l.get('gone', '/computeMetadata/v1/instance/service-accounts/default/email');
  assert.deepEqual([gone.status, gone.body], [404, 'pod ci/gone not found\n']);
});

test('podIdentity: the members a KSA matches', () => {
  const pool = {
    projectId: 'kbuild-lab',
    projectNumber: '123456789012',
    workloadPool: POOL,
    cluster: { name: 'lab', location: 'us-central1' },
  };
  const k = ksa('builder', BUILDER);
  const members = [
    `serviceAccount:${POOL}[ci/builder]`,
    `principal://iam.googleapis.com/${GKE_POOL}/subject/ns/ci/sa/builder`,
    `principalSet://iam.googleapis.com/${GKE_POOL}/namespace/ci`,
    `principalSet://iam.googleapis.com/${GKE_POOL}/kubernetes.serviceaccount.uid/uid-builder`,
    `principalSet://iam.googleapis.com/${GKE_POOL}/kubernetes.cluster/https://container.googleapis.com/v1/projects/kbuild-lab/locations/us-central1/clusters/lab`,
  ];
  for (const m of members) {
    const got = podIdentity(pool, k, (email, ids) => email === BUILDER && ids.includes(m));
    assert.deepEqual(got, { email: BUILDER, kind: 'serviceAccount' }, m);
  }
  const others = [
    `serviceAccount:${POOL}[ci/builder2]`,
    `serviceAccount:${POOL}[cix/builder]`,
    `principalSet://iam.googleapis.com/${GKE_POOL}/namespace/c`,
  ];
  const { principal, principalSets } = ksaIdentity(pool, k);
  for (const m of others) assert.ok(![principal, ...principalSets].includes(m), m);
  assert.equal(podIdentity(pool, k, () => false).kind, 'refused');
});

test('GCS: a bucket with a policy refuses a KSA principal until a binding grants it', () => {
  const tokens = new TokenStore();
  const bucket = 'wi-bucket';
  const principal = `principal://iam.googleapis.com/${GKE_POOL}/subject/ns/ci/sa/direct`;
  const identity = ksaIdentity(
    {
      projectId: 'kbuild-lab',
      projectNumber: '123456789012',
      workloadPool: POOL,
      cluster: { name: 'lab', location: 'us-central1' },
    },
    ksa('direct'),
  );
  const token = tokens.issue({ ...identity, scopes: [], expiresAt: Date.now() + 60_000 });
  const req = {
    headers: { authorization: `Bearer ${token}` },
  } as unknown as IncomingMessage;
  const policies = new BucketPolicies({}, tokens);
  // No policy: the lab's open bucket convention.
  policies.require(req, bucket, undefined, ['storage.objects.list']);
  policies.grant(bucket, 'roles/storage.admin', `serviceAccount:${BUILDER}`);
  assert.throws(
    () => policies.require(req, bucket, undefined, ['storage.objects.list']),
    (err: HttpError) =>
      err.status === 403 &&
      JSON.stringify(err.body).includes(
        `${principal} does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist).`,
      ),
  );
  // The legacy member form and the principal:// form name the same KSA.
  for (const member of [principal, `serviceAccount:${POOL}[ci/direct]`]) {
    policies.grant(bucket, 'roles/storage.objectViewer', member);
    policies.require(req, bucket, undefined, ['storage.objects.list']);
    policies.require(req, bucket, 'a/b', ['storage.objects.get']);
    assert.throws(
      () => policies.require(req, bucket, 'a/b', ['storage.objects.create']),
      /does not have storage.objects.create access to the Google Cloud Storage object/,
    );
    policies.revoke(bucket, 'roles/storage.objectViewer', member);
    assert.throws(() => policies.require(req, bucket, undefined, ['storage.objects.list']));
  }
  assert.deepEqual(policies.get(bucket), [
    { role: 'roles/storage.admin', members: [`serviceAccount:${BUILDER}`] },
  ]);
});

test('ServiceAccountPolicies: config members are workloadIdentityUser; grants and revokes', () => {
  const p = new ServiceAccountPolicies([{ email: 'a@x', members: ['serviceAccount:m@x'] }]);
  const can = (ids: string[]) => p.allows('a@x', 'iam.serviceAccounts.getAccessToken', ids);
  assert.equal(can(['serviceAccount:m@x']), true);
  assert.equal(can(['serviceAccount:n@x']), false);
  p.grant('a@x', 'roles/iam.serviceAccountTokenCreator', 'serviceAccount:n@x');
  assert.equal(can(['serviceAccount:n@x']), true);
  p.revoke('a@x', 'roles/iam.serviceAccountTokenCreator', 'serviceAccount:n@x');
  assert.equal(can(['serviceAccount:n@x']), false);
  assert.throws(
    () => p.grant('b@x', 'roles/iam.workloadIdentityUser', 'x'),
    /no service account b@x/,
  );
  assert.throws(() => p.grant('a@x', 'roles/owner', 'x'), /unknown role roles\/owner/);
  assert.equal(
    p.allows('b@x', 'iam.serviceAccounts.getAccessToken', ['serviceAccount:m@x']),
    false,
  );
});

test('procfs: addresses of /proc/net/tcp and tcp6', () => {
  const cases = [
    { input: '0100007F:4C08', le: true, want: { address: '127.0.0.1', port: 19464 } },
    { input: '7F000001:0050', le: false, want: { address: '127.0.0.1', port: 80 } },
    {
      input: '0000000000000000FFFF00000100007F:4C08',
      le: true,
      want: { address: '127.0.0.1', port: 19464 },
    },
    {
      input: '00000000000000000000000001000000:0016',
      le: true,
      want: { address: '0:0:0:0:0:0:0:1', port: 22 },
    },
  ];
  for (const c of cases) assert.deepEqual(decodeProcAddress(c.input, c.le), c.want, c.input);
  const tcp =
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
    '   0: 0100007F:4C08 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5121 1 0000000000000000 100 0 0 10 0\n' +
    '   1: 0100007F:A1B2 0100007F:4C08 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 30 10 -1\n';
  assert.deepEqual(parseProcNetTcp(tcp, true)[1], {
    local: { address: '127.0.0.1', port: 0xa1b2 },
    remote: { address: '127.0.0.1', port: 19464 },
    inode: '777',
  });
});

test('procfs: a pod is found by the mounts of its directory on the state filesystem only', () => {
  const self =
    '22 1 0:21 / / rw,relatime - overlay overlay rw\n' +
    '30 22 8:1 /data /work rw,relatime - ext4 /dev/sda1 rw\n';
  const state = stateMountOf(self, '/work/wt/x/.lab/runtime');
  assert.deepEqual(state, { device: '8:1', root: '/data/wt/x/.lab/runtime' });
  const podDir = `/data/wt/x/.lab/runtime/pods/ci_build-1_${UID}`;
  const cases = [
    {
      name: 'workspace bind',
      mounts: `100 99 8:1 ${podDir}/workspace /workspace rw - ext4 /dev/sda1 rw\n`,
      want: { namespace: 'ci', name: 'build-1', uid: UID },
    },
    {
      name: 'another filesystem (a tmpfs the pod made)',
      mounts: `100 99 0:55 /data/wt/x/.lab/runtime/pods/ci_victim_${UID}/workspace /workspace rw - tmpfs tmpfs rw\n`,
      want: undefined,
    },
    {
      name: 'a directory of that name inside a pod',
      mounts: `100 99 8:1 ${podDir}/workspace/pods/ci_victim_${UID.replace('0f', 'aa')}/workspace /workspace rw - ext4 /dev/sda1 rw\n`,
      want: { namespace: 'ci', name: 'build-1', uid: UID },
    },
    {
      name: 'two pods',
      mounts:
        `100 99 8:1 ${podDir}/workspace /workspace rw - ext4 /dev/sda1 rw\n` +
        `101 99 8:1 /data/wt/x/.lab/runtime/pods/ci_b_${UID.replace('0f', 'aa')}/tmp /tmp rw - ext4 /dev/sda1 rw\n`,
      want: undefined,
    },
    { name: 'a host process', mounts: self, want: undefined },
  ];
  for (const c of cases) {
    assert.deepEqual(podOfMountinfo(c.mounts, state ?? { device: '', root: '' }), c.want, c.name);
  }
});
