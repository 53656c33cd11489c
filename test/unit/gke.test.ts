import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { RequestOptions } from 'node:https';
import { join } from 'node:path';
import type { AccessToken, TokenSource } from '../../src/core/google/auth.ts';
import { getCluster, kubeConfigFor, kubeConfigFromFile } from '../../src/core/google/gke.ts';

const REF = { project: 'kbuild-lab', location: 'us-central1', name: 'lab' };
const NAME = 'projects/kbuild-lab/locations/us-central1/clusters/lab';
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString(
  'base64',
);
const FAST = { policy: { attempts: 2, baseMs: 1, capMs: 2 } };

/** CountingTokenSource hands out token-1, token-2, ... one per call. */
class CountingTokenSource implements TokenSource {
  calls = 0;
  getAccessToken(): Promise<AccessToken> {
    this.calls++;
    return Promise.resolve({ token: `token-${this.calls}`, expiresAt: Date.now() + 60_000 });
  }
}

function fakeGke(status: number, body: unknown) {
  const seen: Array<{ url: string; authorization: string | null }> = [];
  const fetch = (input: string | URL, init?: RequestInit): Promise<Response> => {
    seen.push({
      url: String(input),
      authorization: new Headers(init?.headers).get('authorization'),
    });
    return Promise.resolve(Response.json(body, { status }));
  };
  return { seen, fetch };
}

test('getCluster reads endpoint and CA with clusters.get', async () => {
  const cases = [
    { name: 'GKE IP endpoint', input: '34.1.2.3', want: 'https://34.1.2.3' },
    { name: 'lab endpoint with port', input: '127.0.0.1:16443', want: 'https://127.0.0.1:16443' },
  ];
  for (const c of cases) {
    const gke = fakeGke(200, {
      name: 'lab',
      endpoint: c.input,
      masterAuth: { clusterCaCertificate: CA },
    });
    const got = await getCluster(REF, new CountingTokenSource(), 'http://gke.test/', gke.fetch);
    assert.deepEqual(got, { endpoint: c.want, caData: CA }, c.name);
    assert.deepEqual(
      gke.seen,
      [{ url: `http://gke.test/v1/${NAME}`, authorization: 'Bearer token-1' }],
      c.name,
    );
  }
});

test('getCluster picks the endpoint of use_internal_ip, use_dns_based_endpoint and use_connect_gateway', async () => {
  const cluster = {
    name: 'lab',
    endpoint: '34.1.2.3',
    masterAuth: { clusterCaCertificate: CA },
    privateClusterConfig: { privateEndpoint: '10.0.0.2' },
    controlPlaneEndpointsConfig: {
      dnsEndpointConfig: { endpoint: 'gke-0123456789abcdef.us-central1.gke.goog' },
    },
    fleet: {
      membership: '//gkehub.googleapis.com/projects/123456789012/locations/global/memberships/lab',
    },
  };
  const gw = 'https://connectgateway.googleapis.com/';
  const autopilot = await getCluster(
    REF,
    new CountingTokenSource(),
    'http://gke.test/',
    fakeGke(200, { ...cluster, autopilot: { enabled: true } }).fetch,
  );
  assert.equal(autopilot.autopilot, true);
  const cases = [
    { access: 'public', want: { endpoint: 'https://34.1.2.3', caData: CA } },
    { access: 'internal_ip', want: { endpoint: 'https://10.0.0.2', caData: CA } },
    {
      access: 'dns_based_endpoint',
      want: { endpoint: 'https://gke-0123456789abcdef.us-central1.gke.goog' },
    },
    {
      access: 'connect_gateway',
      want: {
        endpoint:
          'https://connectgateway.googleapis.com/v1/projects/123456789012/locations/global/gkeMemberships/lab',
      },
    },
    {
      access: 'connect_gateway',
      membership: { projectNumber: '42', location: 'us-central1', name: 'other' },
      want: {
        endpoint:
          'https://connectgateway.googleapis.com/v1/projects/42/locations/us-central1/gkeMemberships/other',
      },
    },
  ] as const;
  for (const c of cases) {
    const gke = fakeGke(200, cluster);
    const got = await getCluster(
      REF,
      new CountingTokenSource(),
      'http://gke.test/',
      gke.fetch,
      FAST,
      {
        access: c.access,
        connectGateway: gw,
        ...('membership' in c ? { fleetMembership: c.membership } : {}),
      },
    );
    assert.deepEqual(got, c.want, c.access);
  }
  const bare = {
    name: 'lab',
    endpoint: '34.1.2.3',
    masterAuth: { clusterCaCertificate: CA },
    status: 'RUNNING',
  };
  const missing = [
    {
      access: 'internal_ip',
      error: /returned no privateClusterConfig.privateEndpoint .*drop use_internal_ip/,
    },
    {
      access: 'dns_based_endpoint',
      error:
        /returned no controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint .*--enable-dns-access/,
    },
    {
      access: 'connect_gateway',
      error: /returned no fleet.membership .*set fleet_membership_name/,
    },
  ] as const;
  for (const c of missing) {
    await assert.rejects(
      getCluster(
        REF,
        new CountingTokenSource(),
        'http://gke.test/',
        fakeGke(200, bare).fetch,
        FAST,
        {
          access: c.access,
          connectGateway: gw,
        },
      ),
      c.error,
      c.access,
    );
  }
  const byId = {
    ...bare,
    fleet: {
      membership: '//gkehub.googleapis.com/projects/my-proj/locations/global/memberships/lab',
    },
  };
  await assert.rejects(
    getCluster(REF, new CountingTokenSource(), 'http://gke.test/', fakeGke(200, byId).fetch, FAST, {
      access: 'connect_gateway',
      connectGateway: gw,
    }),
    /does not name its project by number: set fleet_membership_name/,
  );
});

test('getCluster explains 403, 404 and an unready cluster, without the token', async () => {
  const denied = {
    error: {
      code: 403,
      message: 'Required "container.clusters.get" permission(s) for token-1',
      status: 'PERMISSION_DENIED',
    },
  };
  const cases = [
    {
      name: '403',
      input: { status: 403, body: denied },
      error:
        /GoogleApiError: GKE clusters\.get projects\/kbuild-lab\/locations\/us-central1\/clusters\/lab failed: HTTP 403: PERMISSION_DENIED: .* for \*\*\*; the caller needs permission container\.clusters\.get on projects\/kbuild-lab\/locations\/us-central1\/clusters\/lab/,
    },
    {
      name: '404',
      input: {
        status: 404,
        body: { error: { code: 404, message: 'Not found: lab.', status: 'NOT_FOUND' } },
      },
      error:
        /HTTP 404: NOT_FOUND: Not found: lab\.; cluster projects\/kbuild-lab\/locations\/us-central1\/clusters\/lab was not found: check project_id, location and cluster/,
    },
    {
      name: 'provisioning',
      input: { status: 200, body: { status: 'PROVISIONING' } },
      error: /returned no endpoint \(cluster status PROVISIONING\)/,
    },
  ];
  for (const c of cases) {
    const gke = fakeGke(c.input.status, c.input.body);
    await assert.rejects(
      getCluster(REF, new CountingTokenSource(), 'http://gke.test/', gke.fetch, FAST),
      c.error,
      c.name,
    );
  }
  await assert.rejects(
    getCluster({ ...REF, name: 'a/b' }, new CountingTokenSource(), 'http://gke.test/'),
    /invalid cluster name "a\/b"/,
  );
});

test('kubeConfigFor asks the TokenSource for every request and holds no static token', async () => {
  const source = new CountingTokenSource();
  const kc = kubeConfigFor({ endpoint: 'https://127.0.0.1:16443', caData: CA }, source);
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:16443');
  assert.equal(kc.caData, CA);
  const headers: string[] = [];
  for (let i = 0; i < 2; i++) {
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    headers.push(String((opts.headers as Record<string, string>)?.Authorization ?? ''));
    assert.deepEqual(opts.ca, Buffer.from(CA, 'base64'));
    assert.equal(opts.rejectUnauthorized, true);
  }
  assert.deepEqual(headers, ['Bearer token-1', 'Bearer token-2']);
  assert.doesNotMatch(JSON.stringify(kc), /token-\d/);
  // The DNS-based endpoint and Connect Gateway: no CA, the runtime's trust store checks it.
  const dns = kubeConfigFor({ endpoint: 'https://127.0.0.1:16444' }, source);
  const opts: RequestOptions = {};
  await dns.applyToHTTPSOptions(opts);
  assert.equal(opts.ca, undefined);
  assert.equal(opts.rejectUnauthorized, true);
});

test('kubeConfigFromFile loads a kubeconfig and explains a bad path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kbuild-gke-test-'));
  try {
    const path = join(dir, 'config');
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: kind, cluster: {server: "https://127.0.0.1:6443"}}]',
        'users: [{name: u, user: {}}]',
        'contexts: [{name: kind, context: {cluster: kind, user: u}}]',
        'current-context: kind',
      ].join('\n'),
    );
    assert.equal(
      (await kubeConfigFromFile(path)).getCurrentCluster()?.server,
      'https://127.0.0.1:6443',
    );
    const empty = join(dir, 'empty');
    await writeFile(empty, 'apiVersion: v1\nkind: Config\n');
    await assert.rejects(kubeConfigFromFile(empty), /kubeconfig ".*empty" has no current context/);
    await assert.rejects(
      kubeConfigFromFile(join(dir, 'missing')),
      /cannot load kubeconfig ".*missing": ENOENT/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
