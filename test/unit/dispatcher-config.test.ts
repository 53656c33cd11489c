// dispatcher-config.test.ts: configuration from environment variables (every problem named by
// its variable) and the trace fields of Cloud Logging entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromEnv } from '../../functions/dispatcher/config.ts';
import { traceFields } from '../../functions/dispatcher/log.ts';

const POLICY = JSON.stringify({
  repository_owner_ids: [4242],
  images: ['debian:'],
  max_cpu: '4',
  max_memory: '8Gi',
  max_builds: 10,
});
const ENV = {
  KBUILD_CLUSTER: 'builds',
  KBUILD_LOCATION: 'us-central1',
  KBUILD_PROJECT_ID: 'my-proj',
  KBUILD_AUDIENCE: 'https://dispatcher-abc.a.run.app/',
  KBUILD_POLICY: POLICY,
};

test('configFromEnv: a GKE cluster, defaults, endpoint overrides', () => {
  const c = configFromEnv({
    ...ENV,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: 'http://127.0.0.1:16413',
  });
  assert.deepEqual(c.auth, {
    projectId: 'my-proj',
    cluster: { name: 'builds', project: 'my-proj', location: 'us-central1' },
  });
  assert.equal(c.namespace, 'kbuild');
  assert.equal(c.issuer, 'https://token.actions.githubusercontent.com');
  assert.equal(c.audience, 'https://dispatcher-abc.a.run.app');
  assert.equal(c.project, 'my-proj');
  assert.equal(c.endpoints.container, 'http://127.0.0.1:16413/');
  assert.equal(c.policy.maxBuilds, 10);
  assert.equal(c.fanout.concurrency, 16);
});

test('configFromEnv: a kubeconfig path and a policy file', () => {
  const read = (p: string) => {
    assert.equal(p, '/etc/kbuild/policy.json');
    return POLICY;
  };
  const c = configFromEnv(
    {
      KBUILD_KUBECONFIG: '/lab/kubeconfig',
      KBUILD_AUDIENCE: 'http://127.0.0.1:8080',
      KBUILD_POLICY_FILE: '/etc/kbuild/policy.json',
      KBUILD_NAMESPACE: 'builds',
      KBUILD_OIDC_ISSUER: 'http://127.0.0.1:16410',
    },
    read,
  );
  assert.deepEqual(c.auth, { kubeconfig: '/lab/kubeconfig' });
  assert.equal(c.namespace, 'builds');
  assert.equal(c.issuer, 'http://127.0.0.1:16410');
});

test('configFromEnv: a private cluster through the DNS-based endpoint or the Connect Gateway', () => {
  assert.equal(
    configFromEnv({ ...ENV, KBUILD_USE_DNS_BASED_ENDPOINT: 'true' }).auth.controlPlane,
    'dns_based_endpoint',
  );
  const gw = configFromEnv({
    ...ENV,
    KBUILD_USE_CONNECT_GATEWAY: 'true',
    KBUILD_FLEET_MEMBERSHIP_NAME: 'projects/42/locations/global/memberships/builds',
  }).auth;
  assert.equal(gw.controlPlane, 'connect_gateway');
  assert.deepEqual(gw.fleetMembership, { projectNumber: '42', location: 'global', name: 'builds' });
});

test('configFromEnv: every problem is named by its variable', () => {
  const cases: { name: string; env: Record<string, string>; error: RegExp }[] = [
    {
      name: 'two endpoints',
      env: { ...ENV, KBUILD_USE_INTERNAL_IP: 'true', KBUILD_USE_CONNECT_GATEWAY: 'true' },
      error: /KBUILD_USE_INTERNAL_IP and KBUILD_USE_CONNECT_GATEWAY are all true/,
    },
    {
      name: 'no audience',
      env: { ...ENV, KBUILD_AUDIENCE: '' },
      error: /KBUILD_AUDIENCE is required/,
    },
    {
      name: 'no policy',
      env: { ...ENV, KBUILD_POLICY: '' },
      error: /set exactly one of KBUILD_POLICY .* and KBUILD_POLICY_FILE/,
    },
    {
      name: 'both policies',
      env: { ...ENV, KBUILD_POLICY_FILE: '/x' },
      error: /exactly one of KBUILD_POLICY/,
    },
    {
      name: 'policy not JSON',
      env: { ...ENV, KBUILD_POLICY: '{nope' },
      error: /KBUILD_POLICY: .*JSON/,
    },
    {
      name: 'policy invalid',
      env: { ...ENV, KBUILD_POLICY: '{"images":[]}' },
      error: /KBUILD_POLICY: invalid policy/,
    },
    { name: 'no cluster', env: { ...ENV, KBUILD_CLUSTER: '' }, error: /KBUILD_CLUSTER/ },
    {
      name: 'cluster without location',
      env: { ...ENV, KBUILD_LOCATION: '' },
      error: /KBUILD_LOCATION/,
    },
    {
      name: 'both cluster and kubeconfig',
      env: { ...ENV, KBUILD_KUBECONFIG: '/k' },
      error: /KBUILD_KUBECONFIG/,
    },
    {
      name: 'bad namespace',
      env: { ...ENV, KBUILD_NAMESPACE: 'Builds!' },
      error: /KBUILD_NAMESPACE is "Builds!"/,
    },
    {
      name: 'bad issuer',
      env: { ...ENV, KBUILD_OIDC_ISSUER: 'token.actions' },
      error: /KBUILD_OIDC_ISSUER is "token.actions": use an http\(s\) URL/,
    },
    {
      name: 'bad concurrency',
      env: { ...ENV, KBUILD_CONCURRENCY: '0' },
      error: /KBUILD_CONCURRENCY must be/,
    },
    {
      name: 'bad override',
      env: { ...ENV, CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: 'nope' },
      error: /CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER/,
    },
  ];
  for (const c of cases)
    assert.throws(
      () => configFromEnv(c.env, () => POLICY),
      { name: 'ConfigError', message: c.error },
      c.name,
    );
});

test('traceFields: traceparent first, else X-Cloud-Trace-Context; nothing without a project', () => {
  const cases: {
    name: string;
    headers: Record<string, string>;
    project?: string;
    want: Record<string, unknown>;
  }[] = [
    {
      name: 'traceparent',
      headers: {
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'x-cloud-trace-context': 'ffffffffffffffffffffffffffffffff/1',
      },
      want: {
        'logging.googleapis.com/trace': 'projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736',
        'logging.googleapis.com/spanId': '00f067aa0ba902b7',
        'logging.googleapis.com/trace_sampled': true,
      },
    },
    {
      name: 'cloud trace with decimal span',
      headers: { 'x-cloud-trace-context': '105445AA7843BC8BF206B12000100000/1;o=0' },
      want: {
        'logging.googleapis.com/trace': 'projects/p/traces/105445aa7843bc8bf206b12000100000',
        'logging.googleapis.com/spanId': '0000000000000001',
        'logging.googleapis.com/trace_sampled': false,
      },
    },
    {
      name: 'cloud trace id only',
      headers: { 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000' },
      want: {
        'logging.googleapis.com/trace': 'projects/p/traces/105445aa7843bc8bf206b12000100000',
      },
    },
    {
      name: 'invalid headers',
      headers: { traceparent: '00-zz-1-01', 'x-cloud-trace-context': 'abc/1' },
      want: {},
    },
    {
      name: 'all-zero trace id is invalid',
      headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` },
      want: {},
    },
    {
      name: 'no project',
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      project: '',
      want: {},
    },
  ];
  for (const c of cases) assert.deepEqual(traceFields(c.headers, c.project ?? 'p'), c.want, c.name);
});
